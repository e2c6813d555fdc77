"""Gate records: criteria templates, a project's criteria, review requests and decisions."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crmphase import clock
from crmphase.auth.models import User
from crmphase.database import UTCDateTime, enum_check
from crmphase.extensions import Model
from crmphase.phases.rules import CriterionKind, DecisionKind, Phase, ProjectState

if TYPE_CHECKING:
    from crmphase.programs.models import Project

REVIEW_STATUSES = ("pending", "decided", "withdrawn")


class CriterionTemplate(Model):
    """A criterion a program's CRMO added to a gate, on top of the defaults."""

    __tablename__ = "criterion_templates"
    __table_args__ = (
        sa.UniqueConstraint("program_id", "phase", "key"),
        enum_check("phase", Phase, "phase"),
        enum_check("kind", CriterionKind, "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(sa.ForeignKey("programs.id"), index=True)
    phase: Mapped[str] = mapped_column(sa.String(16))
    key: Mapped[str] = mapped_column(sa.String(64))
    label: Mapped[str] = mapped_column(sa.String(200))
    help: Mapped[str] = mapped_column(sa.Text, default="")
    kind: Mapped[str] = mapped_column(sa.String(8), default=CriterionKind.MANUAL.value)
    required: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    def __repr__(self) -> str:
        return f"<CriterionTemplate {self.program_id}/{self.phase}/{self.key}>"


class GateCriterion(Model):
    """A criterion of a project's gate, copied when the project entered the phase."""

    __tablename__ = "gate_criteria"
    __table_args__ = (
        sa.UniqueConstraint("project_id", "phase", "key"),
        enum_check("phase", Phase, "phase"),
        enum_check("kind", CriterionKind, "kind"),
        sa.CheckConstraint("NOT met OR kind = 'auto' OR evidence <> ''", name="evidence_when_met"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id"), index=True)
    phase: Mapped[str] = mapped_column(sa.String(16))
    key: Mapped[str] = mapped_column(sa.String(64))
    label: Mapped[str] = mapped_column(sa.String(200))
    help: Mapped[str] = mapped_column(sa.Text, default="")
    kind: Mapped[str] = mapped_column(sa.String(8))
    required: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=0)
    met: Mapped[bool] = mapped_column(default=False)
    evidence: Mapped[str] = mapped_column(sa.Text, default="")
    checked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    checked_by: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<GateCriterion {self.project_id}/{self.phase}/{self.key} met={self.met}>"


class GateReview(Model):
    """A manager's request that the steering committee decide a gate."""

    __tablename__ = "gate_reviews"
    __table_args__ = (
        enum_check("phase", Phase, "phase"),
        enum_check("status", REVIEW_STATUSES, "status"),
        sa.Index("ix_gate_reviews_status_requested_at", "status", "requested_at"),
        # The reviews still waiting, counted in every decider's navigation (migration 0003).
        sa.Index(
            "ix_gate_reviews_pending_project_id",
            "project_id",
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id"), index=True)
    phase: Mapped[str] = mapped_column(sa.String(16))
    note: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[str] = mapped_column(sa.String(12), default="pending")
    requested_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    requested_by: Mapped[User] = relationship()
    project: Mapped[Project] = relationship()

    def __repr__(self) -> str:
        return f"<GateReview {self.id} project {self.project_id} {self.status}>"


class GateDecision(Model):
    """A steering decision on a gate, with its rationale. A decision always has a decider."""

    __tablename__ = "gate_decisions"
    __table_args__ = (
        enum_check("decision", DecisionKind, "decision"),
        enum_check("phase", Phase, "phase"),
        enum_check("resulting_phase", Phase, "resulting_phase"),
        enum_check("from_state", ProjectState, "from_state"),
        enum_check("resulting_state", ProjectState, "resulting_state"),
        sa.CheckConstraint("rationale <> ''", name="rationale_given"),
        sa.CheckConstraint(
            "(decision = 'recycle') = (to_phase IS NOT NULL)", name="to_phase_only_for_recycle"
        ),
        sa.Index("ix_gate_decisions_project_id_decided_at", "project_id", "decided_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id"))
    review_id: Mapped[int | None] = mapped_column(sa.ForeignKey("gate_reviews.id"))
    decision: Mapped[str] = mapped_column(sa.String(10))
    rationale: Mapped[str] = mapped_column(sa.Text)
    phase: Mapped[str] = mapped_column(sa.String(16))
    from_state: Mapped[str] = mapped_column(sa.String(16))
    to_phase: Mapped[str | None] = mapped_column(sa.String(16))
    resulting_phase: Mapped[str] = mapped_column(sa.String(16))
    resulting_state: Mapped[str] = mapped_column(sa.String(16))
    decided_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    decided_by: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<GateDecision {self.id} {self.decision} project {self.project_id}>"
