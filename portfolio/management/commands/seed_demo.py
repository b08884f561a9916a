"""``manage.py seed_demo``: load the deterministic demo portfolio (see ``portfolio.demo``)."""

import datetime

from django.core.management.base import BaseCommand, CommandError

from portfolio.demo import DEMO_PASSWORD, DEMO_USERS, SIZES, build_demo, demo_usernames


def parse_day(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--today must be a date as YYYY-MM-DD, e.g. 2026-11-23; got {value!r}.") from None


class Command(BaseCommand):
    help = (
        "Load the demo portfolio: value streams, trains, epics, features, dependencies, status reports and "
        "integration points, the same for the same --seed and --today. Replaces an earlier demo with the same slug."
    )

    def add_arguments(self, parser):
        parser.add_argument("--size", choices=list(SIZES), default="small", help="How big (default: small).")
        parser.add_argument("--seed", type=int, default=1, help="Seed of the random choices (default: 1).")
        parser.add_argument("--today", help="Anchor the calendar on this day, YYYY-MM-DD (default: today).")
        parser.add_argument("--slug", default="demo", help="Slug of the demo portfolio (default: demo).")
        parser.add_argument("--user-prefix", default="", help="Prefix for the demo usernames (default: none).")

    def handle(self, *args, size, seed, today, slug, user_prefix, **options):
        day = parse_day(today) if today else None
        demo = build_demo(size=size, seed=seed, today=day, slug=slug, user_prefix=user_prefix, stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS(f"\nLoaded {demo.portfolio.name!r} ({size}, seed {seed})."))
        for name, count in demo.counts.items():
            if not name.startswith("Historical"):
                self.stdout.write(f"  {name:<32} {count:>8,}")
        history = sum(count for name, count in demo.counts.items() if name.startswith("Historical"))
        self.stdout.write(f"  {'audit history rows':<32} {history:>8,}")
        usernames = demo_usernames(user_prefix)
        self.stdout.write(f"\nDemo logins (password for all: {DEMO_PASSWORD}):")
        for key, _, role, *_ in DEMO_USERS:
            train = {
                "rte": "RTE of an ART in the solution train",
                "other_rte": "RTE of an ART in another value stream",
                "ste": "STE of that solution train",
                "automation": "service user with an API token",
            }.get(key, role.label)
            self.stdout.write(f"  {usernames[key]:<24} {train}")
