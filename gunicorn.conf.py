"""gunicorn's configuration for production: `gunicorn -c gunicorn.conf.py portfolio.wsgi`.

The application is loaded once in the master (preload) and its start-up heap is
frozen out of the garbage collector's reach before the workers fork: full collections
then skip those objects (they caused the p95 spikes measured on a Django peer) and the
workers keep sharing the master's memory pages instead of copying them.

Environment:
    GUNICORN_BIND     address to listen on (default 127.0.0.1:$PORT, PORT default 8000)
    WEB_CONCURRENCY   number of worker processes (default 2)
    GUNICORN_TIMEOUT  seconds before a silent worker is restarted (default 30)
    FORWARDED_ALLOW_IPS  proxies trusted for X-Forwarded-Proto (gunicorn's own; default local)
"""

import gc
import os

bind = os.environ.get("GUNICORN_BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
preload_app = True
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
# Restart a worker now and then so a slow leak never grows without bound.
max_requests = 5000
max_requests_jitter = 500

accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'


def when_ready(server):
    """In the master, once the preloaded application is imported: freeze its heap."""
    gc.freeze()
    server.log.info("gc.freeze(): %d start-up objects moved out of the collector's reach", gc.get_freeze_count())


def post_fork(server, worker):
    """In each new worker: freeze what it inherited, including objects the master made
    after start-up (a worker forked again after a restart)."""
    gc.freeze()
