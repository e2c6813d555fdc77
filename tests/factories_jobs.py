"""Factory fixtures of the jobs domain: a tracked project with KPIs and money, an SMTP
server that keeps what it receives."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

_seq = itertools.count(1)
LONG_AGO = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture
def jobs_project(db, make_project):
    """``jobs_project(phase="execute", since=date(2025, 12, 1), **fields)``: a project that
    has existed since 2025 and has been in ``phase`` since ``since``."""

    def make(phase="execute", since=date(2025, 12, 1), **kw):
        kw.setdefault("created_at", LONG_AGO)
        return make_project(phase=phase, phase_entered_on=since, **kw)

    return make


@pytest.fixture
def jobs_kpi(db):
    """``jobs_kpi(project, baseline_period="2026-01", cadence="monthly", owner=None)``."""
    from crmphase.metrics.models import Kpi

    def make(project, **kw):
        kw.setdefault("name", f"Campaign response {next(_seq)}")
        kw.setdefault("unit", "%")
        kw.setdefault("direction", "up")
        kw.setdefault("baseline_value", Decimal("0"))
        kw.setdefault("baseline_period", "2026-01")
        kw.setdefault("target_value", Decimal("100"))
        kw.setdefault("target_period", "2026-11")
        kw.setdefault("cadence", "monthly")
        kpi = Kpi(project_id=project.id, **kw)
        db.session.add(kpi)
        db.session.commit()
        return kpi

    return make


@pytest.fixture
def jobs_measure(db):
    from crmphase.metrics.models import Measurement

    def make(kpi, period: str, value):
        measurement = Measurement(kpi_id=kpi.id, period=period, value=Decimal(str(value)))
        db.session.add(measurement)
        db.session.commit()
        return measurement

    return make


@pytest.fixture
def jobs_money(db):
    """``jobs_money(project, "cost"|"benefit", period, amount, kind="actual")``."""
    from crmphase.metrics.models import BenefitEntry, CostEntry

    def make(project, what: str, period: str, amount, kind: str = "actual"):
        model = CostEntry if what == "cost" else BenefitEntry
        entry = model(project_id=project.id, period=period, kind=kind, amount=Decimal(str(amount)))
        db.session.add(entry)
        db.session.commit()
        return entry

    return make


class Inbox:
    """What the local SMTP server received, as parsed messages."""

    def __init__(self):
        self.messages = []
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler API
        from email import message_from_bytes, policy

        message = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((envelope.rcpt_tos, message))
        return "250 OK"


@pytest.fixture
def smtp_server(app):
    """A real SMTP server on 127.0.0.1 (random port); the app is configured to use it."""
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    saved = {k: app.config[k] for k in ("MAIL_SMTP_HOST", "MAIL_SMTP_PORT", "MAIL_FROM")}
    app.config.update(
        MAIL_SMTP_HOST="127.0.0.1", MAIL_SMTP_PORT=port, MAIL_FROM="crmphase@example.com"
    )
    try:
        yield inbox
    finally:
        app.config.update(saved)
        controller.stop()
