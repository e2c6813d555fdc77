"""KPIs, measurements, money entries, ROI snapshots and alerts (SPEC §2)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from crmphase import clock
from crmphase.auth.models import User
from crmphase.database import UTCDateTime, enum_check
from crmphase.extensions import Model
from crmphase.metrics.roi import Cadence, Direction, EntryKind
from crmphase.metrics.rules import tally_kpis

if TYPE_CHECKING:
    from crmphase.programs.models import Project

MEASUREMENT_SOURCES = ("manual", "import", "api", "job")
COST_CATEGORIES = ("software", "services", "people", "training", "other")
ALERT_KINDS = ("missing_measurement", "off_track", "budget_overrun", "gate_overdue")
SNAPSHOT_STATUSES = ("on_track", "at_risk", "off_track", "no_data")
PERIOD = sa.String(7)  # YYYY-MM
VALUE = sa.Numeric(20, 6)  # measured KPI values
MONEY = sa.Numeric(14, 2)


class Kpi(Model):
    """A benefit objective of a project."""

    __tablename__ = "kpis"
    __table_args__ = (
        sa.UniqueConstraint("project_id", "name"),
        enum_check("direction", Direction, "direction"),
        enum_check("cadence", Cadence, "cadence"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    unit: Mapped[str] = mapped_column(sa.String(40), default="")
    direction: Mapped[str] = mapped_column(sa.String(4))
    baseline_value: Mapped[Decimal | None] = mapped_column(VALUE)
    baseline_period: Mapped[str | None] = mapped_column(PERIOD)
    target_value: Mapped[Decimal | None] = mapped_column(VALUE)
    target_period: Mapped[str | None] = mapped_column(PERIOD)
    cadence: Mapped[str] = mapped_column(sa.String(10), default=Cadence.MONTHLY.value)
    owner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    owner: Mapped[User | None] = relationship()
    project: Mapped[Project] = relationship()
    revisions: Mapped[list[KpiRevision]] = relationship(
        order_by="KpiRevision.revised_at.desc(), KpiRevision.id.desc()", viewonly=True
    )

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<Kpi {self.id} {self.name!r}>"


class KpiRevision(Model):
    """Earlier baseline and target of a KPI, kept when they change after strategize."""

    __tablename__ = "kpi_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    kpi_id: Mapped[int] = mapped_column(sa.ForeignKey("kpis.id"), index=True)
    baseline_value: Mapped[Decimal | None] = mapped_column(VALUE)
    baseline_period: Mapped[str | None] = mapped_column(PERIOD)
    target_value: Mapped[Decimal | None] = mapped_column(VALUE)
    target_period: Mapped[str | None] = mapped_column(PERIOD)
    reason: Mapped[str] = mapped_column(sa.Text)
    revised_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    revised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    revised_by: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<KpiRevision {self.id} of kpi {self.kpi_id}>"


class Measurement(Model):
    """The current value of a KPI for a period; earlier values live in revisions."""

    __tablename__ = "measurements"
    __table_args__ = (
        sa.UniqueConstraint("kpi_id", "period"),
        enum_check("source", MEASUREMENT_SOURCES, "source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kpi_id: Mapped[int] = mapped_column(sa.ForeignKey("kpis.id"))
    period: Mapped[str] = mapped_column(PERIOD)
    value: Mapped[Decimal] = mapped_column(VALUE)
    note: Mapped[str] = mapped_column(sa.Text, default="")
    source: Mapped[str] = mapped_column(sa.String(8), default="manual")
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    recorded_by: Mapped[User | None] = relationship()
    kpi: Mapped[Kpi] = relationship()
    revisions: Mapped[list[MeasurementRevision]] = relationship(
        order_by="MeasurementRevision.replaced_at.desc(), MeasurementRevision.id.desc()",
        viewonly=True,
    )

    def __repr__(self) -> str:
        return f"<Measurement kpi {self.kpi_id} {self.period}={self.value}>"


class MeasurementRevision(Model):
    """A value that a correction replaced."""

    __tablename__ = "measurement_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    measurement_id: Mapped[int] = mapped_column(sa.ForeignKey("measurements.id"), index=True)
    value: Mapped[Decimal] = mapped_column(VALUE)
    note: Mapped[str] = mapped_column(sa.Text, default="")
    source: Mapped[str] = mapped_column(sa.String(8))
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    replaced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    replaced_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id])
    replaced_by: Mapped[User | None] = relationship(foreign_keys=[replaced_by_id])

    def __repr__(self) -> str:
        return f"<MeasurementRevision {self.id} of {self.measurement_id}={self.value}>"


class _MoneyEntry:
    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(PERIOD)
    kind: Mapped[str] = mapped_column(sa.String(6))
    amount: Mapped[Decimal] = mapped_column(MONEY)
    note: Mapped[str] = mapped_column(sa.Text, default="")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class CostEntry(_MoneyEntry, Model):
    __tablename__ = "cost_entries"
    __table_args__ = (
        enum_check("kind", EntryKind, "kind"),
        enum_check("category", COST_CATEGORIES, "category"),
        sa.CheckConstraint("amount >= 0", name="amount_not_negative"),
        sa.Index("ix_cost_entries_project_id_period", "project_id", "period"),
    )

    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id"))
    category: Mapped[str] = mapped_column(sa.String(10), default="other")
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    project: Mapped[Project] = relationship()
    recorded_by: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<CostEntry {self.id} {self.kind} {self.period} {self.amount}>"


class BenefitEntry(_MoneyEntry, Model):
    __tablename__ = "benefit_entries"
    __table_args__ = (
        enum_check("kind", EntryKind, "kind"),
        sa.CheckConstraint("amount >= 0", name="amount_not_negative"),
        sa.Index("ix_benefit_entries_project_id_period", "project_id", "period"),
    )

    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id"))
    category: Mapped[str] = mapped_column(sa.String(40), default="")
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    project: Mapped[Project] = relationship()
    recorded_by: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<BenefitEntry {self.id} {self.kind} {self.period} {self.amount}>"


class RoiSnapshot(Model):
    """The figures of a project for a period, written by the ``roi_snapshot`` job."""

    __tablename__ = "roi_snapshots"
    __table_args__ = (
        sa.UniqueConstraint("project_id", "period"),
        enum_check("status", SNAPSHOT_STATUSES, "status"),
        sa.Index("ix_roi_snapshots_period", "period"),
        # Covers the portfolio totals, the per-program totals and the trends (migration
        # 0003): those read every snapshot of 12 to 24 periods, and the rows are wide
        # (kpi_details), so reading the index alone keeps the dashboard's cost flat.
        sa.Index(
            "ix_roi_snapshots_period_figures",
            "period",
            "program_id",
            "department",
            "phase",
            "state",
            "measured",
            "due_count",
            "measured_count",
            "budget",
            "actual_cumulative_cost",
            "actual_cumulative_benefit",
            "actual_net_benefit",
            "actual_npv",
            "plan_cumulative_cost",
            "plan_cumulative_benefit",
            "plan_net_benefit",
            "plan_npv",
            "project_id",
        ),
        # The off-track list's threshold: the fifth least attainment of a period (0004).
        sa.Index("ix_roi_snapshots_period_least_off_track", "period", "least_off_track_attainment"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id"))
    period: Mapped[str] = mapped_column(PERIOD)
    program_id: Mapped[int] = mapped_column(sa.ForeignKey("programs.id"))
    department: Mapped[str] = mapped_column(sa.String(16))
    phase: Mapped[str] = mapped_column(sa.String(16))
    state: Mapped[str] = mapped_column(sa.String(16))
    budget: Mapped[Decimal | None] = mapped_column(MONEY)
    actual_cumulative_cost: Mapped[Decimal] = mapped_column(MONEY)
    actual_cumulative_benefit: Mapped[Decimal] = mapped_column(MONEY)
    actual_net_benefit: Mapped[Decimal] = mapped_column(MONEY)
    actual_roi_pct: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 2))
    actual_npv: Mapped[Decimal] = mapped_column(MONEY)
    actual_payback_period: Mapped[str | None] = mapped_column(PERIOD)
    plan_cumulative_cost: Mapped[Decimal] = mapped_column(MONEY)
    plan_cumulative_benefit: Mapped[Decimal] = mapped_column(MONEY)
    plan_net_benefit: Mapped[Decimal] = mapped_column(MONEY)
    plan_roi_pct: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 2))
    plan_npv: Mapped[Decimal] = mapped_column(MONEY)
    plan_payback_period: Mapped[str | None] = mapped_column(PERIOD)
    kpi_attainment: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 2))
    due_count: Mapped[int] = mapped_column(default=0)
    measured_count: Mapped[int] = mapped_column(default=0)
    measured: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(sa.String(10))
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    recomputed_count: Mapped[int] = mapped_column(default=0)
    # The tally of kpi_details (migration 0004), kept in step by the validator below: the
    # dashboard sums these instead of decoding every snapshot's JSON.
    on_track_kpis: Mapped[int] = mapped_column(default=0)
    at_risk_kpis: Mapped[int] = mapped_column(default=0)
    off_track_kpis: Mapped[int] = mapped_column(default=0)
    no_data_kpis: Mapped[int] = mapped_column(default=0)
    least_off_track_attainment: Mapped[Decimal | None] = mapped_column(sa.Numeric)
    # Last: on SQLite a row's columns after a long value sit on its overflow pages, and
    # every dashboard statement reads the columns above.
    kpi_details: Mapped[list | None] = mapped_column(sa.JSON)

    @validates("kpi_details")
    def _tally_kpis(self, _key, details):
        tally = tally_kpis(details)
        self.on_track_kpis = tally.on_track
        self.at_risk_kpis = tally.at_risk
        self.off_track_kpis = tally.off_track
        self.no_data_kpis = tally.no_data
        self.least_off_track_attainment = tally.least_off_track_attainment
        return details

    def __repr__(self) -> str:
        return f"<RoiSnapshot project {self.project_id} {self.period}>"


TOTALS_SCOPES = ("portfolio", "program", "department")
# The snapshot columns summed into SnapshotTotals (same names on both tables).
SUMMED_MONEY = (
    "actual_cumulative_cost",
    "actual_cumulative_benefit",
    "actual_net_benefit",
    "actual_npv",
    "plan_cumulative_cost",
    "plan_cumulative_benefit",
    "plan_net_benefit",
    "plan_npv",
)
SUMMED_COUNTS = (
    "due_count",
    "measured_count",
    "on_track_kpis",
    "at_risk_kpis",
    "off_track_kpis",
    "no_data_kpis",
)
TOTAL_MONEY = sa.Numeric(18, 2)  # a portfolio's sums outgrow one project's MONEY


class SnapshotTotals(Model):
    """The sums of one period's ROI snapshots (migration 0005): one row for the portfolio,
    one per program and one per department with snapshots in the period.

    The dashboard's totals, trends and per-program table read these instead of summing
    every snapshot of up to 24 periods, so their cost does not grow with the portfolio.
    :func:`crmphase.metrics.services.refresh_snapshot_totals` rewrites a period's rows from
    its snapshots, in the transaction that writes them.
    """

    __tablename__ = "roi_snapshot_totals"
    __table_args__ = (
        enum_check("scope", TOTALS_SCOPES, "scope"),
        sa.Index("ix_roi_snapshot_totals_scope_period", "scope", "period", "program_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(PERIOD)
    scope: Mapped[str] = mapped_column(sa.String(10))
    program_id: Mapped[int | None] = mapped_column(sa.ForeignKey("programs.id"))
    department: Mapped[str | None] = mapped_column(sa.String(16))
    projects: Mapped[int] = mapped_column(default=0)
    measured_projects: Mapped[int] = mapped_column(default=0)
    actual_cumulative_cost: Mapped[Decimal] = mapped_column(TOTAL_MONEY, default=0)
    actual_cumulative_benefit: Mapped[Decimal] = mapped_column(TOTAL_MONEY, default=0)
    actual_net_benefit: Mapped[Decimal] = mapped_column(TOTAL_MONEY, default=0)
    actual_npv: Mapped[Decimal] = mapped_column(TOTAL_MONEY, default=0)
    plan_cumulative_cost: Mapped[Decimal] = mapped_column(TOTAL_MONEY, default=0)
    plan_cumulative_benefit: Mapped[Decimal] = mapped_column(TOTAL_MONEY, default=0)
    plan_net_benefit: Mapped[Decimal] = mapped_column(TOTAL_MONEY, default=0)
    plan_npv: Mapped[Decimal] = mapped_column(TOTAL_MONEY, default=0)
    due_count: Mapped[int] = mapped_column(default=0)
    measured_count: Mapped[int] = mapped_column(default=0)
    on_track_kpis: Mapped[int] = mapped_column(default=0)
    at_risk_kpis: Mapped[int] = mapped_column(default=0)
    off_track_kpis: Mapped[int] = mapped_column(default=0)
    no_data_kpis: Mapped[int] = mapped_column(default=0)

    def __repr__(self) -> str:
        key = self.program_id or self.department or ""
        return f"<SnapshotTotals {self.period} {self.scope} {key}>".replace(" >", ">")


class Alert(Model):
    """Something the CRMO must see: a missing measurement, an off-track KPI, an overrun."""

    __tablename__ = "alerts"
    __table_args__ = (
        sa.UniqueConstraint("project_id", "kind", "period", "subject_key"),
        enum_check("kind", ALERT_KINDS, "kind"),
        sa.Index("ix_alerts_resolved_at_kind", "resolved_at", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id"))
    kpi_id: Mapped[int | None] = mapped_column(sa.ForeignKey("kpis.id"))
    kind: Mapped[str] = mapped_column(sa.String(24))
    period: Mapped[str] = mapped_column(PERIOD)
    subject_key: Mapped[str] = mapped_column(sa.String(40), default="")
    detail: Mapped[str] = mapped_column(sa.Text, default="")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<Alert {self.id} {self.kind} project {self.project_id} {self.period}>"
