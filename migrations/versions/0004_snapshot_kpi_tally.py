"""The KPI tally of each ROI snapshot, as columns (docs/PERFORMANCE.md).

- on_track_kpis, at_risk_kpis, off_track_kpis, no_data_kpis: how many of the snapshot's
  KPIs have each status; least_off_track_attainment: the least attainment among its
  off-track KPIs. The dashboard's KPI status chart and its off-track list decoded the
  kpi_details JSON of every snapshot of the period in Python (half the request at size L,
  and growing with the portfolio); now it sums four columns and reads the details of the
  few snapshots that hold the least attained off-track KPIs.
- On SQLite the table is rebuilt with kpi_details as its last column: a row's columns after
  a long value sit on the row's overflow pages, so every lookup of a snapshot's counts (the
  list of projects with missing measurements joins one per project) read them.
- ix_roi_snapshots_period_least_off_track: the off-track list's threshold (the fifth least
  attainment of the period) is read from this index.

Existing snapshots get their tally from their kpi_details here (the same rules as
crmphase/metrics/kpi_tally.py, copied so that this migration never changes).

Revision ID: 0004
Revises: 0003
"""

import json
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

STATUSES = ("on_track", "at_risk", "off_track", "no_data")
COUNT_COLUMNS = ("on_track_kpis", "at_risk_kpis", "off_track_kpis", "no_data_kpis")
BATCH = 1000

# Every column of roi_snapshots in its new order (SQLite only): kpi_details last.
ORDER = (
    "id",
    "project_id",
    "period",
    "program_id",
    "department",
    "phase",
    "state",
    "budget",
    "actual_cumulative_cost",
    "actual_cumulative_benefit",
    "actual_net_benefit",
    "actual_roi_pct",
    "actual_npv",
    "actual_payback_period",
    "plan_cumulative_cost",
    "plan_cumulative_benefit",
    "plan_net_benefit",
    "plan_roi_pct",
    "plan_npv",
    "plan_payback_period",
    "kpi_attainment",
    "due_count",
    "measured_count",
    "measured",
    "status",
    "computed_at",
    "recomputed_count",
    *COUNT_COLUMNS,
    "least_off_track_attainment",
    "kpi_details",
)


def _new_columns():
    return [
        *(sa.Column(name, sa.Integer(), nullable=False, server_default="0") for name in COUNT_COLUMNS),
        sa.Column("least_off_track_attainment", sa.Numeric(), nullable=True),
    ]


def _tally(details):
    if isinstance(details, str):
        details = json.loads(details)
    counts = dict.fromkeys(STATUSES, 0)
    least = None
    for kpi in details if isinstance(details, list) else []:
        if not isinstance(kpi, dict):
            continue
        status = kpi.get("status") if kpi.get("status") in STATUSES else "no_data"
        counts[status] += 1
        if status == "off_track" and kpi.get("attainment") is not None:
            try:
                value = Decimal(str(kpi["attainment"]))
            except (InvalidOperation, ValueError):
                continue
            if value.is_finite() and (least is None or value < least):
                least = value
    return counts, least


def _backfill(bind):
    snapshots = sa.table(
        "roi_snapshots",
        sa.column("id", sa.Integer),
        sa.column("kpi_details", sa.JSON),
        *(sa.column(name, sa.Integer) for name in COUNT_COLUMNS),
        sa.column("least_off_track_attainment", sa.Numeric),
    )
    update = (
        snapshots.update()
        .where(snapshots.c.id == sa.bindparam("snapshot_id"))
        .values(
            **{name: sa.bindparam(f"new_{name}") for name in COUNT_COLUMNS},
            least_off_track_attainment=sa.bindparam("new_least"),
        )
    )
    last_id = 0
    while True:
        rows = bind.execute(
            sa.select(snapshots.c.id, snapshots.c.kpi_details)
            .where(snapshots.c.id > last_id, snapshots.c.kpi_details.is_not(None))
            .order_by(snapshots.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        params = []
        for snapshot_id, details in rows:
            counts, least = _tally(details)
            params.append(
                {
                    "snapshot_id": snapshot_id,
                    **{f"new_{s}_kpis": counts[s] for s in STATUSES},
                    "new_least": least,
                }
            )
        bind.execute(update, params)
        last_id = rows[-1][0]


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        with op.batch_alter_table(
            "roi_snapshots", recreate="always", partial_reordering=[ORDER]
        ) as batch_op:
            for column in _new_columns():
                batch_op.add_column(column)
    else:
        for column in _new_columns():
            op.add_column("roi_snapshots", column)
    _backfill(bind)
    with op.batch_alter_table("roi_snapshots", schema=None) as batch_op:
        for name in COUNT_COLUMNS:
            batch_op.alter_column(name, server_default=None)
        batch_op.create_index(
            "ix_roi_snapshots_period_least_off_track",
            ["period", "least_off_track_attainment"],
            unique=False,
        )


def downgrade():
    with op.batch_alter_table("roi_snapshots", schema=None) as batch_op:
        batch_op.drop_index("ix_roi_snapshots_period_least_off_track")
        batch_op.drop_column("least_off_track_attainment")
        for name in reversed(COUNT_COLUMNS):
            batch_op.drop_column(name)
