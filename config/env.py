"""Strict readers for environment variables: a bad value stops start-up with a clear message."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use true or false)")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} must be at least {minimum}")
    return value


def env_float(name: str, default: float, *, low: float | None = None, high: float | None = None) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a number") from None
    if (low is not None and value < low) or (high is not None and value > high):
        raise ImproperlyConfigured(f"{name}={value} must lie between {low} and {high}")
    return value


def database_from_url(url: str) -> dict:
    """Turn postgres://user:pass@host:port/name or sqlite:///path into a DATABASES entry."""
    parsed = urlparse(url)
    if parsed.scheme in {"postgres", "postgresql", "pgsql"}:
        name = unquote(parsed.path.lstrip("/"))
        if not name:
            raise ImproperlyConfigured("DATABASE_URL names no database")
        options: dict = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
        # Server-side binding lets psycopg prepare statements it sees repeatedly, so the hot
        # claim and submit queries are planned once per connection instead of on every call.
        options["server_side_binding"] = options.get("server_side_binding", "true").lower() in {"1", "true", "yes"}
        # No JIT compilation: the claim statement's estimated cost crosses PostgreSQL's JIT thresholds,
        # and compiling it (with inlining and optimization) on every claim costs seconds under load
        # where running it costs a millisecond. A URL that sets `options` itself keeps its own.
        options.setdefault("options", "-c jit=off")
        return {
            "ENGINE": "config.postgresql",  # Django's, with a cheaper health check
            "NAME": name,
            "USER": unquote(parsed.username or ""),
            "PASSWORD": unquote(parsed.password or ""),
            "HOST": parsed.hostname or "",
            "PORT": str(parsed.port or ""),
            "OPTIONS": options,
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
        }
    if parsed.scheme == "sqlite":
        path = unquote(parsed.path)
        if not path or path == "/":
            raise ImproperlyConfigured("DATABASE_URL=sqlite:/// needs a file path")
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": path,
            # Web and worker processes share the file: wait for locks, and take the write lock
            # at BEGIN so a read-then-write transaction cannot fail half way.
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    raise ImproperlyConfigured(f"DATABASE_URL scheme {parsed.scheme!r} is not supported (postgres or sqlite)")


def read_secret(name: str) -> str | None:
    """A secret from NAME or from the file named by NAME_FILE; None when neither is set."""
    value = os.environ.get(name)
    if value:
        return value
    path = os.environ.get(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={path!r} cannot be read: {exc}") from None
    return None


LOCAL_STORAGE = {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"allow_overwrite": True}}


def storage_from_url(url: str) -> dict:
    """The default storage of STORAGE_URL: unset for the local folder MEDIA_ROOT (the embedded
    default), s3://bucket[/prefix]?endpoint=URL&region=NAME for S3-compatible object storage (AWS
    S3, MinIO, Ceph ...). Credentials come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or
    AWS_SECRET_ACCESS_KEY_FILE), or the machine's AWS role."""
    if not url:
        return LOCAL_STORAGE
    parsed = urlparse(url)
    if parsed.scheme != "s3":
        raise ImproperlyConfigured(f"STORAGE_URL scheme {parsed.scheme!r} is not supported (s3; unset for the "
                                   "local folder MEDIA_ROOT)")
    if not parsed.hostname:
        raise ImproperlyConfigured("STORAGE_URL=s3:// names no bucket")
    query = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
    unknown = set(query) - {"endpoint", "region", "addressing"}
    if unknown:
        raise ImproperlyConfigured(f"STORAGE_URL: unknown options {', '.join(sorted(unknown))} "
                                   "(endpoint, region, addressing)")
    from botocore.config import Config

    options = {
        "bucket_name": parsed.hostname,
        "location": unquote(parsed.path).strip("/"),
        "endpoint_url": query.get("endpoint"),
        "region_name": query.get("region"),
        "addressing_style": query.get("addressing", "path" if query.get("endpoint") else None),
        "file_overwrite": True,  # a retry rewrites the same object
        "default_acl": None,
        "querystring_auth": False,  # objects are never handed out by URL: everything goes through the app
        "signature_version": "s3v4",
        # A storage outage must show within seconds, not hang a request or a worker.
        "client_config": Config(connect_timeout=3, read_timeout=20, retries={"max_attempts": 2, "mode": "standard"}),
    }
    secret = read_secret("AWS_SECRET_ACCESS_KEY")
    if secret:
        options["secret_key"] = secret
        options["access_key"] = os.environ.get("AWS_ACCESS_KEY_ID", "")
    return {"BACKEND": "config.storage.ObjectStorage", "OPTIONS": options}
