"""Integrations (SPEC §7): webhook endpoints, the delivery queue and its attempts, calendar
feeds, and each program's chat setting.

webhooks: the endpoints the CRMO registered (URL, events, signing secret, active/failing).
deliveries: one row per message to one receiver (an endpoint, or a program's chat), the
queue the scheduler drains; message_id is the webhook-id receivers deduplicate by.
ix_deliveries_state_next_attempt_at: the drain reads the pending rows that are due.
delivery_attempts: every POST with its status, duration and response excerpt.
calendar_feeds: a user's private ICS address token.
programs.chat_url, programs.chat_flavour: where the program's chat hears of it.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

FLAVOURS = "chat_flavour IN ('slack', 'teams')"


def upgrade():
    op.create_table(
        "webhooks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("events", sa.Text(), nullable=False),
        sa.Column("secret", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("state IN ('active', 'failing')", name=op.f("ck_webhooks_state")),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_webhooks_created_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhooks")),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("webhook_id", sa.Integer(), nullable=True),
        sa.Column("program_id", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.String(length=40), nullable=False),
        sa.Column("event_type", sa.String(length=40), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('webhook', 'chat')", name=op.f("ck_deliveries_kind")),
        sa.CheckConstraint(
            "state IN ('pending', 'delivered', 'failed')", name=op.f("ck_deliveries_state")
        ),
        sa.CheckConstraint(
            "(kind = 'webhook' AND webhook_id IS NOT NULL) "
            "OR (kind = 'chat' AND program_id IS NOT NULL)",
            name=op.f("ck_deliveries_target"),
        ),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["programs.id"],
            name=op.f("fk_deliveries_program_id_programs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["webhook_id"],
            ["webhooks.id"],
            name=op.f("fk_deliveries_webhook_id_webhooks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint("message_id", name=op.f("uq_deliveries_message_id")),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_deliveries_state_next_attempt_at", ["state", "next_attempt_at"], unique=False
        )
        batch_op.create_index(
            "ix_deliveries_webhook_id_created_at", ["webhook_id", "created_at"], unique=False
        )
    op.create_table(
        "delivery_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.Column("response_excerpt", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["deliveries.id"],
            name=op.f("fk_delivery_attempts_delivery_id_deliveries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_attempts")),
    )
    with op.batch_alter_table("delivery_attempts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_delivery_attempts_delivery_id"), ["delivery_id"], unique=False
        )
    op.create_table(
        "calendar_feeds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_calendar_feeds_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_feeds")),
        sa.UniqueConstraint("token", name=op.f("uq_calendar_feeds_token")),
        sa.UniqueConstraint("user_id", name=op.f("uq_calendar_feeds_user_id")),
    )
    # Added in place, not by a batch copy of programs (SQLite would have to drop a table
    # that other rows point to); SQLite takes the CHECK as part of the new column.
    op.add_column(
        "programs", sa.Column("chat_url", sa.String(length=500), server_default="", nullable=False)
    )
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE programs ADD COLUMN chat_flavour VARCHAR(8) DEFAULT 'slack' NOT NULL "
            f"CONSTRAINT ck_programs_chat_flavour CHECK ({FLAVOURS})"
        )
    else:
        op.add_column(
            "programs",
            sa.Column("chat_flavour", sa.String(length=8), server_default="slack", nullable=False),
        )
        op.create_check_constraint(op.f("ck_programs_chat_flavour"), "programs", FLAVOURS)


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE programs DROP COLUMN chat_flavour")
        op.execute("ALTER TABLE programs DROP COLUMN chat_url")
    else:
        op.drop_constraint(op.f("ck_programs_chat_flavour"), "programs", type_="check")
        op.drop_column("programs", "chat_flavour")
        op.drop_column("programs", "chat_url")
    op.drop_table("calendar_feeds")
    with op.batch_alter_table("delivery_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delivery_attempts_delivery_id"))
    op.drop_table("delivery_attempts")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_webhook_id_created_at")
        batch_op.drop_index("ix_deliveries_state_next_attempt_at")
    op.drop_table("deliveries")
    op.drop_table("webhooks")
