"""The periodic job of the monthly ROI review, declared as data."""

from __future__ import annotations

from crmphase.exports.services import send_monthly_review
from crmphase.jobs.definition import MONTHLY, JobDefinition

MONTHLY_REVIEW_EXPORT = JobDefinition(
    name="monthly_review_export",
    title="Monthly ROI review export",
    description=(
        "After the ROI snapshot: builds the monthly ROI review (xlsx and html) and sends "
        "it to each program's steering members and the CRMO."
    ),
    cadence=MONTHLY,
    cron={"day": 1, "hour": 3, "minute": 0},
    function=send_monthly_review,
    requires=("roi_snapshot",),
    catch_up_periods=3,
    schedule_text="monthly, on the 1st at 03:00, after the ROI snapshot",
)

JOBS = (MONTHLY_REVIEW_EXPORT,)
