"""The processes and sockets around a benchmark run: gunicorn serving the app, and
brokers that are down (a refused connection) or hanging (a socket that accepts and
never answers)."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from bench.client import BenchError, Client

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).parent / "gunicorn"  # of the virtualenv running the benchmark
HOST = "127.0.0.1"


def free_port() -> int:
    """A loopback port nothing listens on (bound and released: connections are refused)."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


@contextmanager
def gunicorn(env: dict, *, log: Path, workers: int = 2, ready_within: float = 90.0):
    """Serve ``bench.wsgi`` with the project's gunicorn.conf.py (preload, gc.freeze) on a
    free loopback port; yields the port. Stops the server (and only it) on the way out."""
    port = free_port()
    server_env = {**env, "GUNICORN_BIND": f"{HOST}:{port}", "WEB_CONCURRENCY": str(workers), "LOG_LEVEL": "WARNING"}
    with open(log, "ab") as output:
        process = subprocess.Popen(  # noqa: S603 (a fixed command)
            [str(GUNICORN), "-c", "gunicorn.conf.py", "bench.wsgi:application"],
            cwd=ROOT,
            env=server_env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches the benchmark, which stops gunicorn itself
        )
    try:
        _wait_until_serving(process, port, ready_within, log)
        yield port
    finally:
        _stop(process)


def _wait_until_serving(process, port: int, seconds: float, log: Path) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"gunicorn exited with status {process.returncode}; its log:\n{_tail(log)}")
        try:
            if Client(HOST, port, timeout=5).get("/accounts/login/").status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise BenchError(f"gunicorn did not answer within {seconds:.0f} s; its log:\n{_tail(log)}")


def _stop(process) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)  # the master stops its workers gracefully
    try:
        process.wait(timeout=35)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # its own session: the master and its workers
        process.wait()


def _tail(log: Path, lines: int = 40) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@contextmanager
def hanging_broker():
    """A loopback port that accepts connections and never answers on them: a Redis that
    hangs. Yields its ``redis://`` URL."""
    listener = socket.socket()
    listener.bind((HOST, 0))
    listener.listen(128)
    held: list[socket.socket] = []
    stopping = threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stopping.is_set():
            try:
                connection, _ = listener.accept()
            except (TimeoutError, OSError):
                continue
            held.append(connection)  # kept open, never read, never answered

    thread = threading.Thread(target=accept, name="hanging-broker", daemon=True)
    thread.start()
    try:
        yield f"redis://{HOST}:{listener.getsockname()[1]}/0"
    finally:
        stopping.set()
        thread.join(timeout=2)
        for connection in held:
            connection.close()
        listener.close()


def refused_broker() -> str:
    """The ``redis://`` URL of a loopback port where nothing listens: a Redis that is down."""
    return f"redis://{HOST}:{free_port()}/0"
