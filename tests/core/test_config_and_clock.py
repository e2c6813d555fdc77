"""Configuration, the one clock, and value parsing — no app needed."""

from datetime import UTC, date, datetime

import pytest

from crmphase import clock, config
from crmphase.config import database_url, secret_key, settings


def test_database_url_defaults_to_sqlite_in_instance(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert database_url(tmp_path) == f"sqlite:///{tmp_path / 'crmphase.sqlite3'}"


@pytest.mark.parametrize("url", ["postgres://u@h/db", "postgresql://u@h/db"])
def test_database_url_selects_psycopg3(tmp_path, monkeypatch, url):
    monkeypatch.setenv("DATABASE_URL", url)
    assert database_url(tmp_path) == "postgresql+psycopg://u@h/db"


def test_secret_key_generated_once_into_instance(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = secret_key(tmp_path)
    assert len(first) == 64 and first == secret_key(tmp_path)
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_secret_key_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "from-env")
    assert secret_key(tmp_path) == "from-env"
    assert not (tmp_path / "secret_key").exists()


def test_production_cookies_are_secure(tmp_path, monkeypatch):
    monkeypatch.delenv("CRMPHASE_SECURE_COOKIES", raising=False)
    config = settings(tmp_path)
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["SESSION_COOKIE_HTTPONLY"] is True
    assert config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_crmphase_now_fixes_the_clock(monkeypatch):
    monkeypatch.setenv("CRMPHASE_NOW", "2026-03-01T02:00:00")
    assert clock.now() == datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
    assert clock.today() == date(2026, 3, 1)
    assert str(clock.current_period()) == "2026-03"
    assert str(clock.last_complete_period()) == "2026-02"


def test_clock_rejects_garbage(monkeypatch):
    monkeypatch.setenv("CRMPHASE_NOW", "soon")
    with pytest.raises(clock.ClockError):
        clock.now()


def test_frozen_clock_and_timezone(monkeypatch):
    monkeypatch.delenv("CRMPHASE_NOW", raising=False)
    monkeypatch.setenv("CRMPHASE_TIMEZONE", "Pacific/Auckland")
    with clock.frozen("2026-12-31T12:00:00+00:00"):
        assert clock.today() == date(2027, 1, 1)  # already New Year in Auckland
        assert str(clock.last_complete_period()) == "2026-12"


def test_instance_path_from_environment_made_absolute(tmp_path, monkeypatch):
    monkeypatch.delenv("CRMPHASE_INSTANCE_PATH", raising=False)
    assert config.instance_path() is None  # Flask's default
    monkeypatch.setenv("CRMPHASE_INSTANCE_PATH", str(tmp_path / "instance"))
    assert config.instance_path() == str(tmp_path / "instance")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CRMPHASE_INSTANCE_PATH", "relative/instance")
    assert config.instance_path() == str(tmp_path.resolve() / "relative" / "instance")


def test_instance_folder_holds_the_data_by_default(tmp_path, monkeypatch):
    for name in ("DATABASE_URL", "CRMPHASE_EXPORT_DIR", "CRMPHASE_IMPORT_DIR"):
        monkeypatch.delenv(name, raising=False)
    config_values = settings(tmp_path)
    assert config_values["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'crmphase.sqlite3'}"
    assert config_values["CRMPHASE_EXPORT_DIR"] == str(tmp_path / "exports")
    assert config_values["CRMPHASE_IMPORT_DIR"] == str(tmp_path / "imports")
    monkeypatch.setenv("CRMPHASE_IMPORT_DIR", "/srv/uploads")
    assert settings(tmp_path)["CRMPHASE_IMPORT_DIR"] == "/srv/uploads"


def test_clock_and_job_settings_are_read_when_asked(monkeypatch):
    for name in (
        "CRMPHASE_NOW",
        "CRMPHASE_TIMEZONE",
        "CRMPHASE_SCHEDULER_LEASE_SECONDS",
        "CRMPHASE_JOB_STALE_MINUTES",
    ):
        monkeypatch.delenv(name, raising=False)
    assert (config.fixed_now(), config.timezone_name()) == (None, "UTC")
    assert (config.scheduler_lease_seconds(40), config.job_stale_minutes()) == (40, 30)

    monkeypatch.setenv("CRMPHASE_NOW", "2026-03-01T02:00:00")
    monkeypatch.setenv("CRMPHASE_TIMEZONE", "Europe/Paris")
    monkeypatch.setenv("CRMPHASE_SCHEDULER_LEASE_SECONDS", "5")
    monkeypatch.setenv("CRMPHASE_JOB_STALE_MINUTES", "2")
    assert (config.fixed_now(), config.timezone_name()) == ("2026-03-01T02:00:00", "Europe/Paris")
    assert (config.scheduler_lease_seconds(40), config.job_stale_minutes()) == (5, 2)
    assert str(clock.timezone()) == "Europe/Paris"


def test_period_parsing():
    from crmphase.periods import Period, PeriodError

    assert str(Period.parse("2026-12").next()) == "2027-01"
    for bad in ("2026-13", "2026-00", "26-01", "2026-1", "", "2026-01-01"):
        with pytest.raises(PeriodError):
            Period.parse(bad)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("-1", "cannot be negative"),
        ("1.001", "at most 2 decimal places"),
        ("NaN", "NaN and Infinity"),
        ("Infinity", "NaN and Infinity"),
        ("abc", "is not a number"),
        (True, "a number is required"),
    ],
)
def test_money_parsing_refuses_bad_amounts(text, error):
    from crmphase.money import AmountError, parse_money

    with pytest.raises(AmountError, match=error):
        parse_money(text)


def test_money_parsing_accepts_numbers_and_strings():
    from decimal import Decimal

    from crmphase.money import parse_money

    assert parse_money("1234.5") == Decimal("1234.50")
    assert parse_money(0.1) == Decimal("0.10")
    assert parse_money(7) == Decimal("7.00")
