"""Settings read from the environment: the one module that reads it.

``DATABASE_URL`` picks PostgreSQL (``postgresql://...`` through psycopg 3); without it the
embedded SQLite database lives in the instance folder (``CRMPHASE_INSTANCE_PATH``, else
Flask's default: ``instance/`` beside a checkout, ``<prefix>/var/crmphase-instance`` for an
installed wheel). :func:`settings` is read once into ``app.config``; the clock and the job
engine call the functions below each time, so a test may change them with monkeypatch.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def instance_path() -> str | None:
    """The instance folder (``CRMPHASE_INSTANCE_PATH``, made absolute), or None for Flask's
    default."""
    value = os.environ.get("CRMPHASE_INSTANCE_PATH", "").strip()
    return str(Path(value).expanduser().resolve()) if value else None


def fixed_now() -> str | None:
    """``CRMPHASE_NOW``: the ISO date-time that fixes the clock, or None for the real time."""
    return os.environ.get("CRMPHASE_NOW") or None


def timezone_name() -> str:
    """``CRMPHASE_TIMEZONE``: the timezone of "today", periods and schedules (default UTC)."""
    return os.environ.get("CRMPHASE_TIMEZONE", "UTC")


def scheduler_lease_seconds(default: int) -> int:
    """``CRMPHASE_SCHEDULER_LEASE_SECONDS``: how long a silent scheduler keeps the SQLite
    lease, else the lock's ``default``."""
    return int(os.environ.get("CRMPHASE_SCHEDULER_LEASE_SECONDS", str(default)))


def job_stale_minutes() -> int:
    """``CRMPHASE_JOB_STALE_MINUTES``: how long a run may stay "running" before another
    runner may take it over (default 30)."""
    return int(os.environ.get("CRMPHASE_JOB_STALE_MINUTES", "30"))


def webhooks_allow_private() -> bool:
    """``CRMPHASE_WEBHOOKS_ALLOW_PRIVATE``: accept plain http and private, loopback and
    link-local receiver addresses (tests, closed networks); default off."""
    return _flag("CRMPHASE_WEBHOOKS_ALLOW_PRIVATE", False)


def webhook_timeout_seconds() -> float:
    """``CRMPHASE_WEBHOOK_TIMEOUT_SECONDS``: how long one POST to a receiver may take
    (default 10)."""
    return float(os.environ.get("CRMPHASE_WEBHOOK_TIMEOUT_SECONDS", "10"))


def database_url(instance_path: Path) -> str:
    """The SQLAlchemy URL: ``DATABASE_URL`` normalised to psycopg 3, else SQLite."""
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        return f"sqlite:///{instance_path / 'crmphase.sqlite3'}"
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def secret_key(instance_path: Path) -> str:
    """``SECRET_KEY`` from the environment, else one generated once into ``instance/``."""
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    path = instance_path / "secret_key"
    if not path.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip()


def settings(instance_path: Path) -> dict:
    """Every setting the app reads, from the environment with safe defaults."""
    url = database_url(instance_path)
    is_sqlite = url.startswith("sqlite")
    # Secure cookies everywhere but a debug server (plain http on localhost), unless set.
    secure_cookies = _flag("CRMPHASE_SECURE_COOKIES", not _flag("FLASK_DEBUG", False))
    engine_options: dict = {"pool_pre_ping": True}
    if is_sqlite:
        engine_options = {"connect_args": {"timeout": 15}}
    else:
        engine_options |= {"pool_size": 5, "max_overflow": 5, "pool_timeout": 10}
    return {
        "SECRET_KEY": secret_key(instance_path),
        "SQLALCHEMY_DATABASE_URI": url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
        "SQLITE_BUSY_TIMEOUT_MS": int(os.environ.get("CRMPHASE_SQLITE_BUSY_TIMEOUT_MS", "5000")),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": secure_cookies,
        "REMEMBER_COOKIE_SECURE": secure_cookies,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "WTF_CSRF_TIME_LIMIT": None,
        "MAX_CONTENT_LENGTH": int(os.environ.get("CRMPHASE_MAX_UPLOAD_BYTES", 2 * 1024 * 1024)),
        "RATELIMIT_STORAGE_URI": os.environ.get("CRMPHASE_RATELIMIT_STORAGE", "memory://"),
        "RATELIMIT_HEADERS_ENABLED": True,
        "CRMPHASE_LOGIN_LIMIT": os.environ.get("CRMPHASE_LOGIN_LIMIT", "10 per minute"),
        # How many reverse proxies in front of the app set X-Forwarded-For/-Proto/-Host
        # (0: none; then the client address is the socket's, as it must be).
        "CRMPHASE_TRUSTED_PROXIES": int(os.environ.get("CRMPHASE_TRUSTED_PROXIES", "0")),
        "CRMPHASE_CURRENCY": os.environ.get("CRMPHASE_CURRENCY", "EUR"),
        "CRMPHASE_EXPORT_DIR": os.environ.get(
            "CRMPHASE_EXPORT_DIR", str(instance_path / "exports")
        ),
        "CRMPHASE_IMPORT_DIR": os.environ.get(
            "CRMPHASE_IMPORT_DIR", str(instance_path / "imports")
        ),
        "MAIL_SMTP_HOST": os.environ.get("CRMPHASE_SMTP_HOST", ""),
        "MAIL_SMTP_PORT": int(os.environ.get("CRMPHASE_SMTP_PORT", "25")),
        "MAIL_SMTP_USER": os.environ.get("CRMPHASE_SMTP_USER", ""),
        "MAIL_SMTP_PASSWORD": os.environ.get("CRMPHASE_SMTP_PASSWORD", ""),
        "MAIL_SMTP_STARTTLS": _flag("CRMPHASE_SMTP_STARTTLS", False),
        "MAIL_FROM": os.environ.get("CRMPHASE_MAIL_FROM", "crmphase@localhost"),
        "CRMPHASE_BASE_URL": os.environ.get("CRMPHASE_BASE_URL", ""),  # links in mails
        "PER_PAGE": 25,
        # flask-smorest: the OpenAPI document is generated from the code.
        "API_TITLE": "crmphase",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
    }
