"""Programs (CRM efforts) and their bite-size projects (SPEC §2)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crmphase import clock
from crmphase.auth.models import User
from crmphase.database import UTCDateTime, enum_check
from crmphase.extensions import Model, db
from crmphase.phases.rules import CLOSED_STATES, Phase, ProjectState
from crmphase.programs.rules import Department

DEPARTMENT_LABELS = {
    Department.MARKETING: "Marketing",
    Department.SALES: "Sales",
    Department.SERVICE: "Service",
    Department.E_MARKETING: "E-marketing",
    Department.IT: "IT",
    Department.OTHER: "Other",
}

program_steering_members = sa.Table(
    "program_steering_members",
    db.metadata,
    sa.Column("program_id", sa.ForeignKey("programs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("users.id"), primary_key=True),
)

project_team_members = sa.Table(
    "project_team_members",
    db.metadata,
    sa.Column("project_id", sa.ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("users.id"), primary_key=True),
)


class Program(Model):
    __tablename__ = "programs"
    __table_args__ = (
        sa.CheckConstraint("discount_rate >= 0 AND discount_rate < 1", name="discount_rate"),
        sa.CheckConstraint("bite_size_max_months >= 1", name="bite_size_max_months"),
        sa.CheckConstraint("measurement_grace_days >= 0", name="measurement_grace_days"),
        sa.CheckConstraint("chat_flavour IN ('slack', 'teams')", name="chat_flavour"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    objective: Mapped[str] = mapped_column(sa.Text, default="")
    executive_sponsor: Mapped[str] = mapped_column(sa.String(120), default="")
    crmo_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    discount_rate: Mapped[Decimal] = mapped_column(sa.Numeric(6, 4), default=Decimal("0.08"))
    bite_size_max_months: Mapped[int] = mapped_column(default=6)
    bite_size_max_budget: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 2))
    measurement_grace_days: Mapped[int] = mapped_column(default=10)
    # Where the program's chat hears of it (SPEC §7): an incoming-webhook URL, "" for none.
    chat_url: Mapped[str] = mapped_column(sa.String(500), default="", server_default="")
    chat_flavour: Mapped[str] = mapped_column(sa.String(8), default="slack", server_default="slack")
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    crmo: Mapped[User | None] = relationship(foreign_keys=[crmo_id])
    steering_members: Mapped[list[User]] = relationship(
        secondary=program_steering_members, order_by="User.name"
    )
    projects: Mapped[list[Project]] = relationship(back_populates="program")

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<Program {self.id} {self.name!r}>"


class Project(Model):
    __tablename__ = "projects"
    __table_args__ = (
        sa.UniqueConstraint("program_id", "name"),
        enum_check("phase", Phase, "phase"),
        enum_check("state", ProjectState, "state"),
        enum_check("department", Department, "department"),
        sa.CheckConstraint("budget IS NULL OR budget >= 0", name="budget_not_negative"),
        sa.CheckConstraint(
            "planned_end IS NULL OR planned_start IS NULL OR planned_end >= planned_start",
            name="planned_dates_ordered",
        ),
        sa.Index("ix_projects_phase_state", "phase", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(sa.ForeignKey("programs.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    objective: Mapped[str] = mapped_column(sa.Text, default="")
    customer_need: Mapped[str] = mapped_column(sa.Text, default="")
    department: Mapped[str] = mapped_column(sa.String(16), index=True)
    business_lead: Mapped[str] = mapped_column(sa.String(120), default="")
    it_lead: Mapped[str] = mapped_column(sa.String(120), default="")
    manager_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    budget: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 2))
    planned_start: Mapped[date | None]
    planned_end: Mapped[date | None]
    phase: Mapped[str] = mapped_column(sa.String(16), default=Phase.STRATEGIZE.value)
    state: Mapped[str] = mapped_column(sa.String(16), default=ProjectState.ACTIVE.value)
    phase_entered_on: Mapped[date] = mapped_column(default=clock.today)
    last_review_on: Mapped[date | None]
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    program: Mapped[Program] = relationship(back_populates="projects")
    manager: Mapped[User] = relationship(foreign_keys=[manager_id])
    team_members: Mapped[list[User]] = relationship(
        secondary=project_team_members, order_by="User.name"
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def is_closed(self) -> bool:
        """Killed or retired: only the CRMO changes it, by reopening it."""
        return self.state in CLOSED_STATES

    def __repr__(self) -> str:
        return f"<Project {self.id} {self.name!r} {self.phase}/{self.state}>"
