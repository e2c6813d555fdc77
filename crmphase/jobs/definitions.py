"""The three jobs of ongoing measurement (SPEC §2, §4), in the order a tick runs them."""

from __future__ import annotations

from crmphase.jobs.registry import DAILY, MONTHLY, JobContext, JobDefinition, register


def _roi_snapshot(ctx: JobContext) -> int:
    from crmphase.jobs.snapshots import write_roi_snapshots

    return write_roi_snapshots(ctx)


def _measurement_check(ctx: JobContext) -> int:
    from crmphase.jobs.checks import check_measurements

    return check_measurements(ctx)


def _monthly_review_export(ctx: JobContext) -> int:
    from crmphase.jobs.review import send_monthly_review

    return send_monthly_review(ctx)


ROI_SNAPSHOT = register(
    JobDefinition(
        name="roi_snapshot",
        title="Monthly ROI snapshot",
        description=(
            "For the month just ended: one ROI snapshot per project that is not killed or "
            "retired (plan and actual figures, KPI attainment, measured or not, status)."
        ),
        cadence=MONTHLY,
        cron={"day": 1, "hour": 2, "minute": 0},
        function=_roi_snapshot,
        catch_up_periods=24,
        schedule_text="monthly, on the 1st at 02:00",
    )
)

MEASUREMENT_CHECK = register(
    JobDefinition(
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
        function=_measurement_check,
        schedule_text="daily at 06:00",
    )
)

MONTHLY_REVIEW_EXPORT = register(
    JobDefinition(
        name="monthly_review_export",
        title="Monthly ROI review export",
        description=(
            "After the ROI snapshot: builds the monthly ROI review (xlsx and html) and sends "
            "it to each program's steering members and the CRMO."
        ),
        cadence=MONTHLY,
        cron={"day": 1, "hour": 3, "minute": 0},
        function=_monthly_review_export,
        requires=("roi_snapshot",),
        catch_up_periods=3,
        schedule_text="monthly, on the 1st at 03:00, after the ROI snapshot",
    )
)
