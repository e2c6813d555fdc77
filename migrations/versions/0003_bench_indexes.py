"""Indexes the benchmark figures needed (docs/PERFORMANCE.md).

- ix_gate_reviews_pending_project_id (partial: status = 'pending'): every page counts the
  reviews a decider may decide for the navigation, and the dashboard lists the oldest. With
  two statuses the planner guessed half the reviews were pending and walked every project
  (13 ms per page at size L, most of the project page's SQL); the pending ones are a few.
- ix_roi_snapshots_period_figures: the portfolio totals, the per-program totals and the
  trends of 12 and 24 months sum figures over every snapshot of those periods. A snapshot row
  is wide (kpi_details), so on SQLite the figures behind the JSON sit on overflow pages;
  reading this index alone (a covering index) made those aggregates 2 to 15 times faster at
  size L (same database, before and after).

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-23 08:50:56.236973

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('gate_reviews', schema=None) as batch_op:
        batch_op.create_index('ix_gate_reviews_pending_project_id', ['project_id'], unique=False, sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'"))

    with op.batch_alter_table('roi_snapshots', schema=None) as batch_op:
        batch_op.create_index('ix_roi_snapshots_period_figures', ['period', 'program_id', 'department', 'phase', 'state', 'measured', 'due_count', 'measured_count', 'budget', 'actual_cumulative_cost', 'actual_cumulative_benefit', 'actual_net_benefit', 'actual_npv', 'plan_cumulative_cost', 'plan_cumulative_benefit', 'plan_net_benefit', 'plan_npv', 'project_id'], unique=False)



def downgrade():
    with op.batch_alter_table('roi_snapshots', schema=None) as batch_op:
        batch_op.drop_index('ix_roi_snapshots_period_figures')

    with op.batch_alter_table('gate_reviews', schema=None) as batch_op:
        batch_op.drop_index('ix_gate_reviews_pending_project_id', sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'"))

