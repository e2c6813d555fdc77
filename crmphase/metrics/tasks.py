"""The periodic jobs of ongoing measurement (SPEC §2, §4), declared as data."""

from __future__ import annotations

from crmphase.jobs.definition import DAILY, MONTHLY, JobContext, JobDefinition
from crmphase.metrics import services


def roi_snapshot(ctx: JobContext) -> int:
    """The month's ROI snapshots and their totals; rows written."""
    if ctx.period is None:
        raise ValueError("roi_snapshot runs for a month")
    return services.write_roi_snapshots(ctx.period, actor=ctx.actor)


def measurement_check(ctx: JobContext) -> int:
    """The day's alerts and reminders; rows written."""
    return services.check_measurements(ctx.today)


ROI_SNAPSHOT = JobDefinition(
    name="roi_snapshot",
    title="Monthly ROI snapshot",
    description=(
        "For the month just ended: one ROI snapshot per project that is not killed or "
        "retired (plan and actual figures, KPI attainment, measured or not, status)."
    ),
    cadence=MONTHLY,
    cron={"day": 1, "hour": 2, "minute": 0},
    function=roi_snapshot,
    catch_up_periods=24,
    schedule_text="monthly, on the 1st at 02:00",
)

MEASUREMENT_CHECK = JobDefinition(
    name="measurement_check",
    title="Daily measurement check",
    description=(
        "Opens and resolves alerts (missing measurement, off track, budget overrun, "
        "gate overdue) and sends the reminders: KPI owners when a measurement falls due "
        "and before its grace ends, managers and the CRMO when it is missing, steering "
        "members when a gate review waits."
    ),
    cadence=DAILY,
    cron={"hour": 6, "minute": 0},
    function=measurement_check,
    schedule_text="daily at 06:00",
)

JOBS = (ROI_SNAPSHOT, MEASUREMENT_CHECK)
