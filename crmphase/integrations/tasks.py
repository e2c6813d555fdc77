"""The periodic job of integrations: draining the webhook and chat delivery queue."""

from __future__ import annotations

from crmphase.integrations.services import deliver_due
from crmphase.jobs.definition import DAILY, JobContext, JobDefinition


def deliver_webhooks(context: JobContext) -> int:
    """Post every due webhook and chat delivery once; the rows are the deliveries that
    arrived."""
    return deliver_due()["delivered"]


WEBHOOK_DELIVERY = JobDefinition(
    name="webhook_delivery",
    title="Webhook and chat delivery",
    description=(
        "Posts the queued events to the webhook endpoints (signed per Standard Webhooks) and "
        "the programs' chats, retrying failures with back-off over about a day."
    ),
    cadence=DAILY,
    cron={"minute": "*"},
    function=deliver_webhooks,
    schedule_text="every scheduler tick (15 s)",
    every_tick=True,
)

JOBS = (WEBHOOK_DELIVERY,)
