"""gunicorn's settings for both services (`gunicorn -c gunicorn.conf.py store_manager.wsgi`).

gunicorn also reads this file by default when started from the repository's root; command-line
options override it. Everything comes from the environment:

- `PORT` (8000): binds `0.0.0.0:$PORT` (the payments container sets 8001).
- `GUNICORN_WORKERS` (the CPUs this process may use: 2 here): one process per core. The GIL lets a
  process run Python on one core at a time; more processes than cores only add memory and context
  switches on a box shared with MariaDB, Redis and the gateway.
- `GUNICORN_THREADS` (4, gthread workers): threads wait on MariaDB, Redis and payments while another
  runs Python, so a core stays busy; 2 workers x 4 threads is what docs/benchmarks.md measures.
- `GUNICORN_TIMEOUT` (30 s): a worker silent this long is killed and replaced; requests are bounded
  well below it (calls to payments by their own timeouts).
- `GUNICORN_GRACEFUL_TIMEOUT` (8 s): on SIGTERM, in-flight requests get this long to finish, under
  the 10 s Docker waits before its SIGKILL.
- `LOG_FORMAT` (json unless DEBUG): gunicorn's own lines in the application's format (core/logging.py).
- `ACCESS_LOG` (on): one line per request on stdout: method, path, status, duration and request id.
  The path only: a query string may hold what a customer searched for. A pay_url's secret is masked.
  Probes and scrapes (`/health/`, `/health/ready/`, `/metrics`) are left out: they come every few
  seconds and say nothing about the store's clients. This is the access log at the edge: KrakenD CE
  cannot mask the secret in its own (docs/adr/0008-gateway.md), so it has none.

Metrics: each worker is a process, so prometheus_client keeps its values in files under
PROMETHEUS_MULTIPROC_DIR (a fresh private directory unless set, emptied at start when set) and
`/metrics` sums them; `child_exit` drops a dead worker's live gauges.
"""

import logging
import os
import shutil
import tempfile
from pathlib import Path

import environ
from gunicorn.glogging import Logger

from core.logging import (
    PLAIN_FORMAT,
    JsonFormatter,
    RequestIdFilter,
    SecretPathFilter,
    log_format,
    without_secrets,
)

env = environ.Env()


def _usable_cpus() -> int:
    """The CPUs this process may run on (a container's cpuset), where the OS says so."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


bind = [f"0.0.0.0:{env.int('PORT', default=8000)}"]
worker_class = "gthread"
workers = env.int("GUNICORN_WORKERS", default=_usable_cpus())
threads = env.int("GUNICORN_THREADS", default=4)
timeout = env.int("GUNICORN_TIMEOUT", default=30)
graceful_timeout = env.int("GUNICORN_GRACEFUL_TIMEOUT", default=8)
accesslog = "-" if env.bool("ACCESS_LOG", default=True) else None
# What a forwarded header means is the services' trusted-proxy setting's to decide (TRUSTED_PROXIES,
# core/proxies.py), not gunicorn's: its default believes X-Forwarded-Proto and X-Forwarded-Ssl from
# loopback, so any local process could make the store build https:// links.
forwarded_allow_ips = ""
secure_scheme_headers = {}
# No `gunicornc` control socket: nothing uses it, its default path ($HOME/.gunicorn/gunicorn.ctl) is
# shared by every gunicorn of the user (the tests and benchmarks start several), and the image's user
# has no home.
control_socket_disable = True
# The workers' heartbeat files: in memory, not on a container's overlay filesystem.
worker_tmp_dir = "/dev/shm" if Path("/dev/shm").is_dir() else None


NOT_ACCESS_LOGGED = frozenset({"/health/", "/health/ready/", "/metrics"})
_LOG_FORMAT = log_format(debug=env.bool("DEBUG", default=False))


class ServiceLogger(Logger):
    """gunicorn's own lines (worker booted, timed out, ...) and the access log in the application's
    format (core/logging.py)."""

    def setup(self, cfg):
        super().setup(cfg)
        for handler in (*self.error_log.handlers, *self.access_log.handlers):
            handler.setFormatter(
                JsonFormatter() if _LOG_FORMAT == "json" else logging.Formatter(PLAIN_FORMAT)
            )
            handler.addFilter(RequestIdFilter())
            handler.addFilter(SecretPathFilter())

    def access(self, resp, req, environ, request_time):
        path = environ.get("PATH_INFO", "")
        if not self.cfg.accesslog or path in NOT_ACCESS_LOGGED:
            return
        fields = {
            "method": environ.get("REQUEST_METHOD", "-"),
            "path": without_secrets(path),
            "status": resp.status_code,
            "duration_ms": round(request_time.total_seconds() * 1000, 1),
            # The id the service answered with (core/request_id.py): the caller's, or a new one.
            "request_id": next(
                (value for name, value in resp.headers if name.lower() == "x-request-id"), "-"
            ),
        }
        self.access_log.info("%(method)s %(path)s %(status)s %(duration_ms)s ms", fields, extra=fields)


logger_class = ServiceLogger

# Read by prometheus_client when the workers import it, so it is set before any worker starts.
_private_metrics_dir = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _private_metrics_dir:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="prometheus-", dir=worker_tmp_dir)
_metrics_dir = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])


def on_starting(server):
    """Start the counters from zero: files left by a previous run would be summed as if live."""
    _metrics_dir.mkdir(parents=True, exist_ok=True)
    for leftover in _metrics_dir.glob("*.db"):
        leftover.unlink()


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, str(_metrics_dir))


def on_exit(server):
    if _private_metrics_dir:
        shutil.rmtree(_metrics_dir, ignore_errors=True)
