#!/usr/bin/env python3
"""Run several long-lived processes as one: `make run` starts the web server, a Celery
worker and Celery beat with it.

    python scripts/run.py "web=python manage.py runserver" "worker=celery -A portfolio worker"

Each NAME=COMMAND runs in its own process group with its output prefixed by its name
(coloured on a terminal). One SIGINT or SIGTERM stops them all: each gets SIGTERM, and
whatever is still running after the grace period is killed with its whole process
group. If one process exits on its own, the others are stopped the same way and the
exit status is non-zero. A second signal kills everything at once.

Standard library only, so it runs before the virtual environment has anything in it.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import selectors
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

COLOURS = ("36", "33", "35", "32", "34", "31")  # cyan, yellow, magenta, green, blue, red
PR_SET_PDEATHSIG = 1


@dataclass
class Process:
    name: str
    argv: list[str]
    colour: str
    popen: subprocess.Popen | None = None
    buffer: bytes = b""
    returncode: int | None = None
    open_output: bool = True
    killed: bool = False


class Runner:
    def __init__(self, processes: list[Process], grace: float, colour: bool):
        self.processes = processes
        self.grace = grace
        self.colour = colour
        self.width = max(len(p.name) for p in processes)
        self.selector = selectors.DefaultSelector()
        self.signals_received: list[int] = []
        self.stopping_since: float | None = None
        self.first_exit: Process | None = None

    # Output -------------------------------------------------------------------------

    def say(self, name: str, line: str, colour: str = "1") -> None:
        prefix = f"{name.ljust(self.width)} | "
        if self.colour:
            prefix = f"\033[{colour}m{prefix}\033[0m"
        sys.stdout.write(prefix + line + "\n")
        sys.stdout.flush()

    def note(self, text: str) -> None:
        self.say("run", text)

    def read(self, process: Process) -> None:
        assert process.popen and process.popen.stdout
        try:
            chunk = os.read(process.popen.stdout.fileno(), 65536)
        except BlockingIOError:
            return
        if not chunk:
            self.close_output(process)
            return
        process.buffer += chunk
        *lines, process.buffer = process.buffer.split(b"\n")
        for line in lines:
            self.say(process.name, line.decode(errors="replace").rstrip("\r"), process.colour)

    def close_output(self, process: Process) -> None:
        if not process.open_output:
            return
        process.open_output = False
        assert process.popen and process.popen.stdout
        self.selector.unregister(process.popen.stdout)
        process.popen.stdout.close()
        if process.buffer:
            self.say(process.name, process.buffer.decode(errors="replace"), process.colour)
            process.buffer = b""

    # Processes ----------------------------------------------------------------------

    def start(self) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        for process in self.processes:
            self.note(f"starting {process.name}: {shlex.join(process.argv)}")
            process.popen = subprocess.Popen(  # noqa: S603 - the commands are the caller's own
                process.argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=env,
                # Its own process group, so the runner alone decides how it is stopped
                # and can reach the process's children (reloader, pool workers) too.
                process_group=0,
                preexec_fn=die_with_parent,  # safe: the runner has no threads
            )
            os.set_blocking(process.popen.stdout.fileno(), False)
            self.selector.register(process.popen.stdout, selectors.EVENT_READ, process)

    def on_signal(self, signum: int, _frame) -> None:
        self.signals_received.append(signum)

    def running(self) -> list[Process]:
        return [p for p in self.processes if p.popen is not None and p.returncode is None]

    def reap(self) -> None:
        for process in self.running():
            assert process.popen
            code = process.popen.poll()
            if code is None:
                continue
            process.returncode = code
            if self.stopping_since is None:
                self.first_exit = process
                self.note(f"{process.name} exited with {describe(code)}: stopping the others")
            else:
                self.note(f"{process.name} stopped ({describe(code)})")

    def stop_all(self) -> None:
        self.stopping_since = time.monotonic()
        for process in self.running():
            assert process.popen
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.popen.pid, signal.SIGTERM)

    def kill_all(self) -> None:
        for process in self.running():
            assert process.popen
            process.killed = True
            self.note(f"{process.name} did not stop: killing it")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.popen.pid, signal.SIGKILL)

    def sweep_groups(self) -> None:
        """Kill whatever is left in each process group once its leader has exited
        (a pool worker or a reloader child that outlived its parent)."""
        for process in self.processes:
            if process.popen is None:
                continue
            pgid = process.popen.pid
            for sig in (signal.SIGTERM, signal.SIGKILL):
                if not group_alive(pgid):
                    break
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pgid, sig)
                deadline = time.monotonic() + 3
                while group_alive(pgid) and time.monotonic() < deadline:
                    time.sleep(0.1)

    def run(self) -> int:
        signal.signal(signal.SIGINT, self.on_signal)
        signal.signal(signal.SIGTERM, self.on_signal)
        signal.signal(signal.SIGHUP, self.on_signal)
        try:
            self.start()
        except OSError as error:  # a command that cannot start: stop those that did
            self.note(f"cannot start: {error}")
            self.first_exit = Process(name="run", argv=[], colour="1", returncode=127)
            self.stop_all()
        handled_signals = 0
        while True:
            for key, _ in self.selector.select(timeout=0.1):
                self.read(key.data)
            self.reap()
            if len(self.signals_received) > handled_signals:
                handled_signals = len(self.signals_received)
                if self.stopping_since is None:
                    name = signal.Signals(self.signals_received[-1]).name
                    self.note(f"{name} received: stopping everything (a second one kills at once)")
                    self.stop_all()
                else:
                    self.kill_all()
            if self.first_exit is not None and self.stopping_since is None:
                self.stop_all()
            if not self.running():
                break
            if self.stopping_since is not None and time.monotonic() - self.stopping_since > self.grace:
                self.kill_all()
                self.stopping_since = float("inf")  # killed: only wait for them now
        # Drain what the processes wrote last, then clear up their groups.
        deadline = time.monotonic() + 2
        while any(p.open_output and p.popen for p in self.processes) and time.monotonic() < deadline:
            for key, _ in self.selector.select(timeout=0.1):
                self.read(key.data)
        for process in self.processes:
            if process.popen is not None:
                self.close_output(process)
        self.sweep_groups()
        return self.exit_status()

    def exit_status(self) -> int:
        if self.first_exit is not None:
            code = self.first_exit.returncode or 0
            return code if code > 0 else 1
        if any(p.killed for p in self.processes):
            return 1
        self.note("all stopped")
        return 0


def die_with_parent() -> None:
    """In the child before exec: get SIGTERM if the runner itself is killed outright."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # not Linux: the runner's own clean-up still applies


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def describe(code: int) -> str:
    if code < 0:
        return signal.Signals(-code).name
    return f"status {code}"


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("commands", nargs="+", metavar="NAME=COMMAND", help="a process to run, e.g. web='...'")
    parser.add_argument("--grace", type=float, default=10.0, help="seconds to wait after SIGTERM (default 10)")
    args = parser.parse_args(argv)
    args.processes = []
    for i, spec in enumerate(args.commands):
        name, sep, command = spec.partition("=")
        if not sep or not name.strip() or not command.strip():
            parser.error(f"expected NAME=COMMAND, got {spec!r}")
        args.processes.append(Process(name=name.strip(), argv=shlex.split(command), colour=COLOURS[i % len(COLOURS)]))
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    colour = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    return Runner(args.processes, grace=args.grace, colour=colour).run()


if __name__ == "__main__":
    sys.exit(main())
