"""Operations: structured logs, Prometheus metrics, health and readiness, and the answers given
when the database or the broker is down.

Metrics are kept in prometheus_client's multiprocess mode (one file per process under
METRICS_DIR), so the web processes and the Celery worker processes on a machine are counted
together and /metrics shows their sum. Counts that the database already knows (clips per state,
held clips per reason) are read from it at scrape time instead of being counted twice.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import os
import re
import sys
import time
from datetime import datetime, timezone

from django.conf import settings

# prometheus_client decides at import whether it writes per-process files: settings first.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(settings.METRICS_DIR))
os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

from django.db import DatabaseError, InterfaceError, OperationalError, connection  # noqa: E402
from django.http import HttpResponse, JsonResponse  # noqa: E402
from django.template.response import SimpleTemplateResponse  # noqa: E402
from prometheus_client import (  # noqa: E402
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily  # noqa: E402

from core.errors import error_body  # noqa: E402

logger = logging.getLogger("voicereview")

HTTP_REQUESTS = Counter("voicereview_http_requests_total", "HTTP requests answered, by route pattern and status.",
                        ["method", "route", "status"])
HTTP_SECONDS = Histogram("voicereview_http_request_duration_seconds", "Time to answer a request, by route pattern.",
                         ["method", "route"], buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))
TASK_SECONDS = Histogram("voicereview_task_duration_seconds", "Celery task run time, by task and outcome.",
                         ["task", "outcome"], buckets=(.01, .05, .1, .5, 1, 2.5, 5, 10, 30, 60, 120, 300))
DB_UNAVAILABLE = Counter("voicereview_database_unavailable_total", "Requests answered 503 because the database "
                         "did not answer.")

DATABASE_DOWN = (OperationalError, InterfaceError)


# ---------------------------------------------------------------- logs


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and any `extra` fields given.

    Messages are written by this project to hold no personal data (ids of clips and assignments
    only); a database error's DETAIL line, which quotes the row's values, is withheld.
    """

    _SKIP = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in self._SKIP and not key.startswith("_"):
                entry[key] = value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
        if record.exc_info:
            entry["exc"] = withhold_row_values(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def withhold_row_values(text: str) -> str:
    return re.sub(r"DETAIL:[^\n]*", "DETAIL: (row values withheld)", text)


# ---------------------------------------------------------------- requests


def _route(request) -> str:
    """The URL pattern that answered (ids stay out of labels and logs), or a coarse stand-in."""
    match = getattr(request, "resolver_match", None)
    if match is not None and match.route:
        return "/" + match.route
    if request.path.startswith("/" + settings.STATIC_URL.lstrip("/")):
        return "/static/"
    return "unmatched"


class RequestObservabilityMiddleware:
    """Outermost: counts and times every request and writes one log line for it, by route pattern."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        seconds = time.perf_counter() - started
        route = _route(request)
        if route == "/static/":
            return response
        HTTP_REQUESTS.labels(request.method, route, str(response.status_code)).inc()
        HTTP_SECONDS.labels(request.method, route).observe(seconds)
        logger.info("request", extra={"event": "http_request", "method": request.method, "route": route,
                                      "status": response.status_code, "ms": round(seconds * 1000, 1)})
        return response


class ContentSecurityPolicyMiddleware:
    """Every answer says where its page may load from: only this site, no inline script or style,
    never inside a frame."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        return response


def server_error(request, *args, **kwargs):
    """handler500. A database that does not answer is a 503 the caller can retry, said plainly;
    anything else is a 500 without detail. Called inside Django's exception handling, so the
    exception is still the one being handled."""
    exc = sys.exc_info()[1]
    if isinstance(exc, DATABASE_DOWN):
        DB_UNAVAILABLE.inc()
        status, code = 503, "database_unavailable"
        message = "The service cannot reach its database right now. Nothing was changed; try again in a moment."
    else:
        status, code = 500, "internal_error"
        message = "Something went wrong on our side. Nothing was changed; try again later."
    if request.path.startswith("/api/"):
        response = JsonResponse(error_body(code, message), status=status)
    else:
        response = SimpleTemplateResponse("frontend/unavailable.html", {"message": message}, status=status)
        response.render()
    if status == 503:
        response["Retry-After"] = "10"
    response["Cache-Control"] = "no-store"
    return response


# ---------------------------------------------------------------- health, readiness, metrics


def healthz(request):
    """Liveness: the process answers. Touches nothing else."""
    return JsonResponse({"status": "ok"})


def readiness_checks() -> dict[str, str]:
    """Each dependency a request needs, "ok" or why not."""
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except DatabaseError as exc:
        connection.close_if_unusable_or_obsolete()
        checks["database"] = f"unavailable: {type(exc).__name__}"
    checks["broker"] = _broker_check()
    checks["storage"] = _storage_check()
    return checks


def _broker_check() -> str:
    if not settings.REDIS_URL:
        folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]
        return "ok" if os.access(folder, os.W_OK) else f"unavailable: {folder} is not writable"
    import redis

    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2).ping()
        return "ok"
    except redis.RedisError as exc:
        return f"unavailable: {type(exc).__name__}"


def _storage_check() -> str:
    from labeling.vault import storage_problem

    problem = storage_problem()
    return f"unavailable: {problem}" if problem else "ok"


def readyz(request):
    """Readiness: 200 when the database, the broker and storage all work, else 503 naming which do not."""
    checks = readiness_checks()
    ready = all(value == "ok" for value in checks.values())
    response = JsonResponse({"status": "ready" if ready else "unavailable", "checks": checks},
                            status=200 if ready else 503)
    response["Cache-Control"] = "no-store"
    return response


class _DatabaseCounts:
    """Clips per state and held clips per reason, read from the database when scraped."""

    def collect(self):
        from labeling.selectors import clip_status_counts, held_reason_counts

        states = GaugeMetricFamily("voicereview_clips", "Clips per state (queue depth is state=queued).",
                                   labels=["state"])
        held = GaugeMetricFamily("voicereview_clips_held", "Held clips per reason.", labels=["reason"])
        try:
            for state, count in sorted(clip_status_counts().items()):
                states.add_metric([state], count)
            for reason, count in sorted(held_reason_counts().items()):
                held.add_metric([reason], count)
        except DatabaseError:
            connection.close_if_unusable_or_obsolete()
            return
        yield states
        yield held


# Headers a reverse proxy adds: a request that carries one came from elsewhere, whatever its address.
FORWARDED_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Real-IP")


def _metrics_allowed(request) -> bool:
    token = settings.METRICS_TOKEN
    if token:  # compared in constant time: the time taken tells nothing of how much of it was right
        return hmac.compare_digest(request.headers.get("Authorization", "").encode(), f"Bearer {token}".encode())
    if any(name in request.headers for name in FORWARDED_HEADERS):
        return False  # this machine's proxy, forwarding someone else's request
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


def metrics(request):
    """Prometheus text format. With METRICS_TOKEN set, only with that bearer token; without it,
    only from this machine, and not through a proxy on it."""
    if not _metrics_allowed(request):
        return JsonResponse(error_body("forbidden", "Metrics are available with the metrics token only."), status=403)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    registry.register(_DatabaseCounts())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
