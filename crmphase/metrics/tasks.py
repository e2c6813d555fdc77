"""The periodic jobs of ongoing measurement (SPEC §2, §4), declared as data."""

from __future__ import annotations

from crmphase.jobs.definition import DAILY, MONTHLY, JobDefinition
from crmphase.metrics.alerts import check_measurements
from crmphase.metrics.snapshots import write_roi_snapshots

ROI_SNAPSHOT = JobDefinition(
    name="roi_snapshot",
    title="Monthly ROI snapshot",
    description=(
        "For the month just ended: one ROI snapshot per project that is not killed or "
        "retired (plan and actual figures, KPI attainment, measured or not, status)."
    ),
    cadence=MONTHLY,
    cron={"day": 1, "hour": 2, "minute": 0},
    function=write_roi_snapshots,
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
    function=check_measurements,
    schedule_text="daily at 06:00",
)

JOBS = (ROI_SNAPSHOT, MEASUREMENT_CHECK)
