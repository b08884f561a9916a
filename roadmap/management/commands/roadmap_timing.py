"""Time the roadmap pages on the current database, as a signed-in portfolio manager
would request them: the default view, all PIs and all epics, the CSV, the API and the
largest solution roadmap. Prints the median server time of ``--runs`` requests after a
warm-up, and the number of queries of each.

    DATABASE_URL=... python manage.py roadmap_timing --runs 10

Run with DEBUG off to time what production runs (DEBUG keeps every query's SQL).
"""

import statistics
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, reset_queries
from django.db.models import Count
from django.test import Client

from portfolio.models import Membership, Portfolio, Role
from valuestreams.models import Train, TrainKind


class Command(BaseCommand):
    help = "Median server time of the roadmap pages on this database (a warm-up, then --runs requests each)."

    def add_arguments(self, parser):
        parser.add_argument("--portfolio", default="demo", help="The portfolio's slug (default: demo).")
        parser.add_argument("--runs", type=int, default=10)

    def handle(self, *args, portfolio, runs, **options):
        portfolio = Portfolio.objects.filter(slug=portfolio).first()
        if portfolio is None:
            raise CommandError("No such portfolio: load one with seed_demo.")
        manager = (
            Membership.objects.filter(portfolio=portfolio, role=Role.PORTFOLIO_MANAGER).select_related("user").first()
        )
        if manager is None:
            raise CommandError("The portfolio has no portfolio manager to sign in as.")
        pis = portfolio.cadence.program_increments.order_by("start_date")
        every_pi = f"pi_from={pis.first().pk}&pi_to={pis.last().pk}"
        biggest = (
            Train.objects.filter(value_stream__portfolio=portfolio, kind=TrainKind.SOLUTION)
            .annotate(n=Count("capabilities"))
            .order_by("-n")
            .first()
        )
        client = Client(HTTP_HOST=(settings.ALLOWED_HOSTS or ["localhost"])[0].lstrip("."))
        client.force_login(manager.user)
        requests = [
            ("roadmap, default view", "/roadmap/"),
            ("roadmap, all PIs and all epics", f"/roadmap/?{every_pi}"),
            ("roadmap CSV, all PIs", f"/roadmap/export.csv?{every_pi}"),
            ("roadmap API, all PIs", f"/api/v1/roadmap/?portfolio={portfolio.pk}&{every_pi}"),
        ]
        if biggest is not None:
            requests.append((f"solution roadmap of {biggest.name}", f"/roadmap/trains/{biggest.pk}/"))
        self.stdout.write(
            f"{portfolio.name}: {connection.vendor}, DEBUG {settings.DEBUG}, median of {runs} after a warm-up"
        )
        connection.force_debug_cursor = True  # count queries with DEBUG off too
        for label, url in requests:
            response = client.get(url, secure=True)  # the warm-up; the request's queries are kept
            queries = list(connection.queries)
            if response.status_code != 200:
                raise CommandError(f"{url} answered {response.status_code}")
            connection.force_debug_cursor = False
            times = []
            for _ in range(runs):
                reset_queries()
                started = time.perf_counter()
                client.get(url, secure=True)
                times.append((time.perf_counter() - started) * 1000)
            self.stdout.write(
                f"  {label:<42} {statistics.median(times):7.1f} ms  (min {min(times):.1f}, max {max(times):.1f}; "
                f"{len(queries)} queries, {len(response.content) // 1024} KiB)"
            )
            connection.force_debug_cursor = True
