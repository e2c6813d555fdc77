"""The ``measurement_check`` job: alerts and reminders, every day (SPEC §2, §4).

For the day D of the run it works out which alerts should be open, opens the new ones,
resolves those whose cause went away (a measurement arrived, costs were corrected, the
review was held), and queues the reminders. Everything is idempotent: alerts are unique per
(project, kind, period, subject) and reminders per ``dedupe_key``.

Rules, in plain words:

- ``missing_measurement``: a KPI was due in a period, the program's grace days after the
  period are over, and there is still no value. One alert per KPI and period.
- ``off_track``: a KPI's status for the last complete month is off track.
- ``budget_overrun``: the actual cumulative cost up to the current month is above budget.
- ``gate_overdue``: a project in manage is past its periodic review (every 3 months), or a
  gate review has waited for a decision more than ``GATE_REVIEW_WAIT_DAYS`` days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from crmphase import clock
from crmphase.auth.models import User
from crmphase.auth.roles import Role
from crmphase.extensions import db
from crmphase.integrations.services import announce_alerts
from crmphase.jobs.definition import JobContext
from crmphase.metrics.models import Alert, Kpi
from crmphase.metrics.roi import grace_ends
from crmphase.metrics.tracking import load_tracking
from crmphase.notifications.services import Draft, app_link, queue
from crmphase.periods import Period
from crmphase.phases.models import GateReview
from crmphase.phases.rules import Phase, ProjectState, next_review_due, review_overdue
from crmphase.programs.models import Program, Project

GATE_REVIEW_WAIT_DAYS = 14
GRACE_REMINDER_DAYS = 3
CLOSED_STATES = (ProjectState.KILLED.value, ProjectState.RETIRED.value)


@dataclass(frozen=True)
class WantedAlert:
    project_id: int
    kind: str
    period: str
    subject_key: str
    detail: str
    kpi_id: int | None = None

    @property
    def identity(self) -> tuple:
        """Alerts about a standing condition (not a period's measurement) stay one alert
        while the condition lasts, whatever month it is now."""
        if self.kind == "missing_measurement":
            return (self.project_id, self.kind, self.period, self.subject_key)
        return (self.project_id, self.kind, self.subject_key)


def _identity(alert: Alert) -> tuple:
    if alert.kind == "missing_measurement":
        return (alert.project_id, alert.kind, alert.period, alert.subject_key)
    return (alert.project_id, alert.kind, alert.subject_key)


def _load_projects() -> list[Project]:
    return list(
        db.session.scalars(
            sa.select(Project)
            .where(Project.state.not_in(CLOSED_STATES))
            .options(
                selectinload(Project.manager),
                selectinload(Project.program).selectinload(Program.crmo),
                selectinload(Project.program).selectinload(Program.steering_members),
            )
            .order_by(Project.id)
        )
    )


def _crmos() -> list[User]:
    return list(
        db.session.scalars(
            sa.select(User).where(User.role == Role.CRMO.value, User.active).order_by(User.id)
        )
    )


def _kpis(project_ids: list[int]) -> dict[int, Kpi]:
    if not project_ids:
        return {}
    return {
        kpi.id: kpi
        for kpi in db.session.scalars(
            sa.select(Kpi).where(Kpi.project_id.in_(project_ids)).options(selectinload(Kpi.owner))
        )
    }


def _pending_reviews(project_ids: list[int]) -> list[GateReview]:
    if not project_ids:
        return []
    return list(
        db.session.scalars(
            sa.select(GateReview)
            .where(GateReview.status == "pending", GateReview.project_id.in_(project_ids))
            .order_by(GateReview.id)
        )
    )


def wanted_alerts(
    projects: list[Project],
    *,
    today: date,
    tracking,
    kpis: dict[int, Kpi],
    current_figures,
    last_figures,
    reviews: list[GateReview],
) -> list[WantedAlert]:
    """Every alert that should be open on ``today``."""
    wanted: list[WantedAlert] = []
    current = Period.of(today)
    for project in projects:
        facts = tracking.get(project.id)
        if facts is not None:
            for kp in facts.missing(today=today, through=current):
                kpi = kpis.get(kp.kpi_id)
                name = kpi.name if kpi else f"KPI {kp.kpi_id}"
                wanted.append(
                    WantedAlert(
                        project.id,
                        "missing_measurement",
                        str(kp.period),
                        f"kpi:{kp.kpi_id}",
                        f"No value of '{name}' for {kp.period}; its grace ended on "
                        f"{grace_ends(kp.period, facts.grace_days)}.",
                        kp.kpi_id,
                    )
                )
        figures = last_figures.get(project.id)
        if figures is not None:
            for kpi in figures.kpis:
                if getattr(kpi.status, "value", kpi.status) == "off_track":
                    wanted.append(
                        WantedAlert(
                            project.id,
                            "off_track",
                            str(figures.period),
                            f"kpi:{kpi.kpi_id}",
                            f"'{kpi.name}' is off track in {figures.period}: attainment "
                            f"{kpi.attainment}% against {kpi.expected}% expected by now.",
                            kpi.kpi_id,
                        )
                    )
        spent = current_figures.get(project.id)
        if (
            spent is not None
            and project.budget is not None
            and spent.actual.cumulative_cost > project.budget
        ):
            wanted.append(
                WantedAlert(
                    project.id,
                    "budget_overrun",
                    str(current),
                    "budget",
                    f"Actual cost to {current} is {spent.actual.cumulative_cost:,.2f}, above "
                    f"the budget of {project.budget:,.2f}.",
                )
            )
        reviewed = project.last_review_on or project.phase_entered_on
        if review_overdue(Phase(project.phase), ProjectState(project.state), reviewed, today):
            due = next_review_due(reviewed)
            wanted.append(
                WantedAlert(
                    project.id,
                    "gate_overdue",
                    str(Period.of(due)),
                    "review:manage",
                    f"The periodic review in manage was due on {due} and has not been held.",
                )
            )
    local = clock.timezone()
    for review in reviews:
        requested = review.requested_at.astimezone(local).date()
        if today > requested + timedelta(days=GATE_REVIEW_WAIT_DAYS):
            wanted.append(
                WantedAlert(
                    review.project_id,
                    "gate_overdue",
                    str(Period.of(requested)),
                    f"gate_review:{review.id}",
                    f"A gate review of {review.phase} requested on {requested} has waited "
                    f"more than {GATE_REVIEW_WAIT_DAYS} days for a decision.",
                )
            )
    return wanted


def sync_alerts(wanted: list[WantedAlert], project_ids: list[int]) -> tuple[list[Alert], int]:
    """Open the wanted alerts that are not open; resolve open ones no longer wanted
    (including those of projects that were killed or retired). Returns the alerts now
    open for the wanted conditions and how many rows changed."""
    now = clock.now()
    wanted_by_identity = {w.identity: w for w in wanted}
    open_alerts = list(db.session.scalars(sa.select(Alert).where(Alert.resolved_at.is_(None))))
    open_by_identity = {_identity(a): a for a in open_alerts}
    changed = 0
    for alert in open_alerts:
        if _identity(alert) not in wanted_by_identity:
            alert.resolved_at = now
            changed += 1
    result: list[Alert] = []
    to_open = [w for identity, w in wanted_by_identity.items() if identity not in open_by_identity]
    result.extend(open_by_identity[i] for i in wanted_by_identity if i in open_by_identity)
    if to_open:
        # A condition that was resolved and came back in the same period reopens its row.
        resolved = {
            (a.project_id, a.kind, a.period, a.subject_key): a
            for a in db.session.scalars(
                sa.select(Alert).where(
                    Alert.resolved_at.is_not(None),
                    Alert.project_id.in_({w.project_id for w in to_open}),
                )
            )
        }
        for w in to_open:
            alert = resolved.get((w.project_id, w.kind, w.period, w.subject_key))
            if alert is not None:
                alert.resolved_at = None
                alert.opened_at = now
                alert.detail = w.detail
            else:
                alert = Alert(
                    project_id=w.project_id,
                    kpi_id=w.kpi_id,
                    kind=w.kind,
                    period=w.period,
                    subject_key=w.subject_key,
                    detail=w.detail,
                    opened_at=now,
                )
                db.session.add(alert)
            result.append(alert)
            changed += 1
    db.session.flush()
    announce_alerts(
        opened=result[len(result) - len(to_open) :],
        resolved=[a for a in open_alerts if a.resolved_at is not None],
    )
    return result, changed


def _crmos_of(project: Project, all_crmos: list[User]) -> list[User]:
    crmo = project.program.crmo
    return [crmo] if crmo is not None and crmo.active else all_crmos


def reminder_drafts(
    projects: list[Project],
    *,
    today: date,
    tracking,
    kpis: dict[int, Kpi],
    alerts: list[Alert],
    reviews: list[GateReview],
    all_crmos: list[User],
) -> list[Draft]:
    """The reminders of SPEC §2 that are due on ``today``."""
    drafts: list[Draft] = []
    by_id = {p.id: p for p in projects}
    current = Period.of(today)
    for project in projects:
        facts = tracking.get(project.id)
        if facts is None:
            continue
        for kp in facts.kpi_periods(through=current, today=today):
            if kp.measured or kp.missing or today < kp.period.last_day:
                continue
            kpi = kpis.get(kp.kpi_id)
            if kpi is None:
                continue
            owner = kpi.owner or project.manager
            ends = grace_ends(kp.period, facts.grace_days)
            link = app_link(f"/projects/{project.id}")
            drafts.append(
                Draft(
                    owner,
                    f"Measurement due: {kpi.name} for {kp.period}",
                    f"The value of '{kpi.name}' ({project.name}) for {kp.period} is due.\n"
                    f"Please record it by {ends}; after that it counts as missing.\n\n{link}\n",
                    "kpi_due",
                    kpi.id,
                    f"kpi_due:{kpi.id}:{kp.period}",
                )
            )
            if today >= ends - timedelta(days=GRACE_REMINDER_DAYS):
                drafts.append(
                    Draft(
                        owner,
                        f"Reminder: {kpi.name} for {kp.period} is missing after {ends}",
                        f"There is still no value of '{kpi.name}' ({project.name}) for "
                        f"{kp.period}. The grace period ends on {ends}; after that the "
                        f"measurement is reported missing to the manager and the CRMO.\n\n"
                        f"{link}\n",
                        "kpi_due",
                        kpi.id,
                        f"kpi_grace:{kpi.id}:{kp.period}",
                    )
                )
    for alert in alerts:
        project = by_id.get(alert.project_id)
        if project is None:
            continue
        link = app_link(f"/projects/{project.id}")
        if alert.kind == "missing_measurement":
            recipients = [project.manager, *_crmos_of(project, all_crmos)]
            subject = f"Missing measurement: {project.name} ({alert.period})"
        elif alert.kind == "gate_overdue" and alert.subject_key == "review:manage":
            recipients = [project.manager, *project.program.steering_members]
            subject = f"Periodic review overdue: {project.name}"
        else:
            continue
        for user in recipients:
            drafts.append(
                Draft(
                    user,
                    subject,
                    f"{alert.detail}\n\nProject: {project.name}\n{link}\n",
                    "alert",
                    alert.id,
                    f"alert:{alert.id}:{user.id}",
                )
            )
    local = clock.timezone()
    for review in reviews:
        project = by_id.get(review.project_id)
        if project is None:
            continue
        requested = review.requested_at.astimezone(local).date()
        overdue = today > requested + timedelta(days=GATE_REVIEW_WAIT_DAYS)
        link = app_link(f"/projects/{project.id}")
        for user in project.program.steering_members:
            if user.id == project.manager_id:
                continue  # nobody decides a gate of a project they manage
            drafts.append(
                Draft(
                    user,
                    f"Gate review waiting: {project.name} ({review.phase})",
                    f"{project.name} asks the steering committee to decide its "
                    f"{review.phase} gate (requested on {requested}).\n\n{link}\n",
                    "review",
                    review.id,
                    f"review:{review.id}:{user.id}",
                )
            )
            if overdue:
                drafts.append(
                    Draft(
                        user,
                        f"Gate review overdue: {project.name} ({review.phase})",
                        f"The gate review of {project.name} requested on {requested} has "
                        f"waited more than {GATE_REVIEW_WAIT_DAYS} days.\n\n{link}\n",
                        "review",
                        review.id,
                        f"review_overdue:{review.id}:{user.id}",
                    )
                )
    return drafts


def check_measurements(ctx: JobContext) -> int:
    """Bring alerts up to date for ``ctx.day`` and queue its reminders; rows written."""
    from crmphase.metrics.snapshots import load_project_figures

    today = ctx.today
    current = Period.of(today)
    projects = _load_projects()
    ids = [p.id for p in projects]
    tracking = load_tracking(ids, through=current) if ids else {}
    kpis = _kpis(ids)
    reviews = _pending_reviews(ids)
    current_figures = load_project_figures(ids, current, today) if ids else {}
    last_figures = load_project_figures(ids, current.previous(), today) if ids else {}
    wanted = wanted_alerts(
        projects,
        today=today,
        tracking=tracking,
        kpis=kpis,
        current_figures=current_figures,
        last_figures=last_figures,
        reviews=reviews,
    )
    alerts, changed = sync_alerts(wanted, ids)
    drafts = reminder_drafts(
        projects,
        today=today,
        tracking=tracking,
        kpis=kpis,
        alerts=alerts,
        reviews=reviews,
        all_crmos=_crmos(),
    )
    return changed + len(queue(drafts))
