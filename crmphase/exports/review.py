"""The ``monthly_review_export`` job: build the monthly ROI review and send it to the
steering committee (each program's steering members) and the CRMO (SPEC §2)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from crmphase.auth.models import User
from crmphase.auth.roles import Role
from crmphase.extensions import db
from crmphase.jobs.definition import JobContext
from crmphase.notifications.services import Draft, app_link, queue
from crmphase.periods import Period
from crmphase.programs.models import Program

FORMATS = ("xlsx", "html")


def store_review(period: Period, *, actor=None) -> list:
    """Build and keep the review files (the exports domain owns how they look)."""
    from crmphase.exports.services import store_monthly_review

    return store_monthly_review(period, formats=FORMATS, source="schedule", actor=actor)


def review_recipients() -> list[User]:
    """Every program's steering members, and the CRMOs; each person once."""
    people: dict[int, User] = {}
    for program in db.session.scalars(
        sa.select(Program).options(
            selectinload(Program.steering_members), selectinload(Program.crmo)
        )
    ):
        for user in [*program.steering_members, program.crmo]:
            if user is not None and user.active:
                people.setdefault(user.id, user)
    for user in db.session.scalars(
        sa.select(User).where(User.role == Role.CRMO.value, User.active)
    ):
        people.setdefault(user.id, user)
    return sorted(people.values(), key=lambda u: u.id)


def send_monthly_review(ctx: JobContext) -> int:
    """Store the review of ``ctx.period`` and queue one notification per recipient, with
    the xlsx attached when mailed. Returns files stored plus notifications queued."""
    files = store_review(ctx.period, actor=ctx.actor)
    if not files:
        raise RuntimeError(f"the monthly review of {ctx.period} produced no file")
    xlsx = next((f for f in files if f.format == "xlsx"), files[0])
    names = ", ".join(f.filename for f in files)
    link = app_link(f"/exports/monthly-review?period={ctx.period}&format=html")
    drafts = [
        Draft(
            user,
            f"Monthly ROI review {ctx.period}",
            f"The monthly ROI review for {ctx.period} is ready ({names}).\n"
            f"The spreadsheet is attached when this arrives by mail; it is also in the app:\n"
            f"{link}\n",
            "export",
            xlsx.id,
            # A rerun after a correction sends the corrected review again.
            f"export:{ctx.period}:{f'a{ctx.attempt}:' if ctx.rerun else ''}{user.id}",
        )
        for user in review_recipients()
    ]
    return len(files) + len(queue(drafts))
