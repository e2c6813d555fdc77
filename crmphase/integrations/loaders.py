"""The reads integrations need: the facts of a user's calendar feed, and the queue's views."""

from __future__ import annotations

import sqlalchemy as sa

from crmphase import clock
from crmphase.auth.models import User
from crmphase.auth.rules import gate_decider_refusal
from crmphase.extensions import db
from crmphase.integrations.models import CalendarFeed, Delivery, Webhook
from crmphase.integrations.rules import ManagedReview, OwnedKpi, WaitingReview
from crmphase.metrics.models import Kpi
from crmphase.metrics.roi import Cadence
from crmphase.metrics.rules import TRACKED_PHASES
from crmphase.periods import Period
from crmphase.phases.loaders import next_review_due
from crmphase.phases.models import GateReview
from crmphase.programs.models import Program, Project


def webhooks_query() -> sa.Select[Webhook]:
    """Every webhook endpoint, oldest first."""
    return sa.select(Webhook).order_by(Webhook.id)


def deliveries_query(webhook_id: int) -> sa.Select[Delivery]:
    """A webhook's deliveries, newest first."""
    return sa.select(Delivery).where(Delivery.webhook_id == webhook_id).order_by(Delivery.id.desc())


def feed_by_token(token: str) -> CalendarFeed | None:
    """The feed whose address carries ``token`` (None for a revoked or unknown one)."""
    if not token or len(token) > 64:
        return None
    return db.session.scalar(sa.select(CalendarFeed).where(CalendarFeed.token == token))


def owned_kpis(user: User) -> list[OwnedKpi]:
    """The KPIs ``user`` owns in projects that are active in execute or manage now."""
    rows = db.session.execute(
        sa.select(Kpi, Project.name, Program.measurement_grace_days)
        .join(Project, Kpi.project_id == Project.id)
        .join(Program, Project.program_id == Program.id)
        .where(
            Kpi.owner_id == user.id,
            Project.state == "active",
            Project.phase.in_(sorted(TRACKED_PHASES)),
        )
        .order_by(Kpi.id)
    ).all()
    return [
        OwnedKpi(
            kpi.id,
            kpi.name,
            kpi.project_id,
            project_name,
            Period.parse(kpi.baseline_period) if kpi.baseline_period else None,
            Cadence(kpi.cadence),
            grace_days,
        )
        for kpi, project_name, grace_days in rows
    ]


def managed_reviews(user: User) -> list[ManagedReview]:
    """The next periodic review of each project in manage that ``user`` manages."""
    projects = db.session.scalars(
        sa.select(Project)
        .where(Project.manager_id == user.id, Project.state == "active", Project.phase == "manage")
        .order_by(Project.id)
    )
    reviews = []
    for project in projects:
        due = next_review_due(project)
        if due is not None:
            reviews.append(ManagedReview(project.id, project.name, due))
    return reviews


def waiting_reviews(user: User) -> list[WaitingReview]:
    """The gate reviews waiting for a decision that ``user`` may take."""
    rows = db.session.execute(
        sa.select(GateReview, Project.name, Project.manager_id)
        .join(Project, GateReview.project_id == Project.id)
        .where(GateReview.status == "pending")
        .order_by(GateReview.id)
    ).all()
    tz = clock.timezone()
    return [
        WaitingReview(
            review.id,
            review.project_id,
            name,
            review.phase,
            review.requested_at.astimezone(tz).date(),
        )
        for review, name, manager_id in rows
        if gate_decider_refusal(user.role, reopen=False, manages_project=manager_id == user.id)
        is None
    ]
