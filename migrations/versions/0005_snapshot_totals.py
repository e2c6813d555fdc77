"""The sums of each period's ROI snapshots, as rows of their own (docs/PERFORMANCE.md).

roi_snapshot_totals holds, per period, one row for the portfolio, one per program and one
per department: project and measured-project counts, the money figures summed, the due
and measured KPI-periods, and the KPI status tallies. The dashboard's totals, money and
coverage trends, KPI status chart and per-program table summed every snapshot of up to 24
periods (36,000 rows at size L), so their cost grew with the portfolio; now they read at
most one row per period (per program for the per-program figures).

ix_roi_snapshot_totals_scope_period: every read picks a scope and a window of periods
(and, for one program, its id).

Existing snapshots are summed here with plain SQL (the app's refresh is
crmphase.metrics.models.refresh_snapshot_totals; this copy never changes with it).

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

MONEY = (
    "actual_cumulative_cost",
    "actual_cumulative_benefit",
    "actual_net_benefit",
    "actual_npv",
    "plan_cumulative_cost",
    "plan_cumulative_benefit",
    "plan_net_benefit",
    "plan_npv",
)
COUNTS = (
    "due_count",
    "measured_count",
    "on_track_kpis",
    "at_risk_kpis",
    "off_track_kpis",
    "no_data_kpis",
)


def _backfill() -> None:
    keys = ["period", "scope", "program_id", "department", "projects", "measured_projects"]
    targets = ", ".join([*keys, *MONEY, *COUNTS])
    sums = ", ".join(
        ["COUNT(id)", "COALESCE(SUM(CASE WHEN measured THEN 1 ELSE 0 END), 0)"]
        + [f"COALESCE(SUM({name}), 0)" for name in (*MONEY, *COUNTS)]
    )
    for scope, program, department, group in (
        ("portfolio", "NULL", "NULL", "period"),
        ("program", "program_id", "NULL", "period, program_id"),
        ("department", "NULL", "department", "period, department"),
    ):
        op.execute(
            f"INSERT INTO roi_snapshot_totals ({targets}) "  # noqa: S608 (constants only)
            f"SELECT period, '{scope}', {program}, {department}, {sums} "
            f"FROM roi_snapshots GROUP BY {group}"
        )


def upgrade():
    money = [sa.Column(name, sa.Numeric(18, 2), nullable=False) for name in MONEY]
    counts = [sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS]
    op.create_table(
        "roi_snapshot_totals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("scope", sa.String(length=10), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=True),
        sa.Column("department", sa.String(length=16), nullable=True),
        sa.Column("projects", sa.Integer(), nullable=False),
        sa.Column("measured_projects", sa.Integer(), nullable=False),
        *money,
        *counts,
        sa.CheckConstraint(
            "scope IN ('portfolio', 'program', 'department')",
            name=op.f("ck_roi_snapshot_totals_scope"),
        ),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["programs.id"],
            name=op.f("fk_roi_snapshot_totals_program_id_programs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roi_snapshot_totals")),
    )
    with op.batch_alter_table("roi_snapshot_totals", schema=None) as batch_op:
        batch_op.create_index(
            "ix_roi_snapshot_totals_scope_period",
            ["scope", "period", "program_id"],
            unique=False,
        )
    _backfill()


def downgrade():
    with op.batch_alter_table("roi_snapshot_totals", schema=None) as batch_op:
        batch_op.drop_index("ix_roi_snapshot_totals_scope_period")
    op.drop_table("roi_snapshot_totals")
