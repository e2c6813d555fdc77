"""Every write of the metrics domain: KPIs, measurements, money entries, the CSV import,
the monthly ROI snapshots with their stored totals, the alerts and their reminders.

A page's or the API's call is one transaction: it validates, writes, records its audit event
and commits. A job's call (:func:`write_roi_snapshots`, :func:`check_measurements`) writes
inside the job run's transaction, which the runner commits with the run's outcome.

Every service validates its input itself (pages, the API and the CSV import share it).
Authorization is the caller's job (``authorize(Action..., obj)``), except for the CSV
import, which checks every row.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from crmphase import clock
from crmphase.audit.services import changed_fields, record_event
from crmphase.auth.models import User
from crmphase.auth.policy import Action, explain_refusal
from crmphase.auth.rules import may_own_kpi
from crmphase.errors import Conflict, FieldErrors
from crmphase.extensions import db
from crmphase.integrations.services import (
    announce_alerts,
    announce_alerts_resolved,
    announce_measurement,
    announce_snapshots,
)
from crmphase.metrics import imports, loaders, rules
from crmphase.metrics.models import (
    COST_CATEGORIES,
    MEASUREMENT_SOURCES,
    PERIOD,
    SUMMED_COUNTS,
    SUMMED_MONEY,
    Alert,
    Kpi,
    KpiRevision,
    Measurement,
    MeasurementRevision,
    RoiSnapshot,
    SnapshotTotals,
)
from crmphase.metrics.roi import Cadence, Direction, EntryKind
from crmphase.money import AmountError, parse_money
from crmphase.notifications.services import Draft, app_link, queue
from crmphase.periods import Period, PeriodError
from crmphase.phases.rules import Phase
from crmphase.programs.models import Project
from crmphase.versioning import check_version, commit_versioned

KPI_FIELDS = (
    "name",
    "unit",
    "direction",
    "baseline_value",
    "baseline_period",
    "target_value",
    "target_period",
    "cadence",
    "owner_id",
)
# Moving these after strategize needs a reason and leaves a revision (SPEC §2).
COMMITMENT_FIELDS = ("baseline_value", "baseline_period", "target_value", "target_period")
MONEY_FIELDS = ("period", "kind", "amount", "category", "note")


# --------------------------------------------------------------------------- parsing


def parse_period(value, errors: FieldErrors, field: str, *, future_allowed: bool = True):
    """A :class:`Period` from text (or a Period); ``None`` and a field error when invalid."""
    if isinstance(value, Period):
        period = value
    else:
        try:
            period = Period.parse(value if value is not None else "")
        except PeriodError as exc:
            errors.add(field, str(exc))
            return None
    if not future_allowed and period > clock.current_period():
        errors.add(
            field,
            f"{period} is in the future; values are for the current period "
            f"({clock.current_period()}) or an earlier one",
        )
        return None
    return period


def parse_value(value, errors: FieldErrors, field: str) -> Decimal | None:
    """A measured value: a finite number with at most 6 decimal places."""
    try:
        return rules.measured_value(value)
    except AmountError as exc:
        errors.add(field, str(exc))
        return None


def parse_amount(value, errors: FieldErrors, field: str) -> Decimal | None:
    """Money: not negative, at most 2 decimal places."""
    try:
        return parse_money(value)
    except AmountError as exc:
        errors.add(field, str(exc))
        return None


def _text(value, errors: FieldErrors, field: str, limit: int) -> str:
    text = (value or "").strip() if isinstance(value, str) or value is None else None
    if text is None:
        errors.add(field, "must be text")
        return ""
    if len(text) > limit:
        errors.add(field, f"use at most {limit} characters")
    if "\x00" in text:
        errors.add(field, "remove the NUL character")
        return ""
    return text


# --------------------------------------------------------------------------- KPIs


def kpi_values(kpi: Kpi) -> dict:
    return {name: getattr(kpi, name) for name in KPI_FIELDS}


def _check_kpi(data: dict, errors: FieldErrors, project: Project, kpi: Kpi | None) -> dict:
    """Validated and normalised KPI values (``data`` holds every KPI field)."""
    clean: dict = {}
    name = _text(data.get("name"), errors, "name", 120)
    if not name:
        errors.add("name", "a KPI needs a name, e.g. 'Churn rate'")
    else:
        query = sa.select(Kpi.id).where(
            Kpi.project_id == project.id, sa.func.lower(Kpi.name) == name.lower()
        )
        if kpi is not None:
            query = query.where(Kpi.id != kpi.id)
        if db.session.scalar(query):
            errors.add("name", f"this project already has a KPI named '{name}'")
    clean["name"] = name
    clean["unit"] = _text(data.get("unit"), errors, "unit", 40)
    direction = data.get("direction")
    if direction not in {d.value for d in Direction}:
        errors.add("direction", "choose 'up' (more is better) or 'down' (less is better)")
    clean["direction"] = direction
    cadence = data.get("cadence") or Cadence.MONTHLY.value
    if cadence not in {c.value for c in Cadence}:
        errors.add("cadence", "choose 'monthly' or 'quarterly'")
    clean["cadence"] = cadence
    for field in ("baseline_value", "target_value"):
        value = data.get(field)
        clean[field] = None if value in (None, "") else parse_value(value, errors, field)
    for field in ("baseline_period", "target_period"):
        value = data.get(field)
        period = None if value in (None, "") else parse_period(value, errors, field)
        clean[field] = str(period) if period else None
    first, last = clean["baseline_period"], clean["target_period"]
    if first and last and last <= first:
        errors.add("target_period", "the target period must come after the baseline period")
    baseline, target = clean["baseline_value"], clean["target_value"]
    if baseline is not None and target is not None and direction in ("up", "down"):
        if baseline == target:
            errors.add("target_value", "the target must differ from the baseline")
        elif direction == "up" and target < baseline:
            errors.add("target_value", "an 'up' KPI needs a target above its baseline")
        elif direction == "down" and target > baseline:
            errors.add("target_value", "a 'down' KPI needs a target below its baseline")
    owner_id = data.get("owner_id")
    if owner_id in ("", 0):
        owner_id = None
    if owner_id is not None:
        owner = db.session.get(User, owner_id) if isinstance(owner_id, int) else None
        if owner is None:
            errors.add("owner_id", f"no user with id {owner_id}")
        elif not may_own_kpi(owner):
            errors.add("owner_id", "the owner records measurements: choose an active non-viewer")
    clean["owner_id"] = owner_id
    return clean


def create_kpi(actor, project: Project, data: dict) -> Kpi:
    """Add a KPI (benefit objective) to ``project``."""
    errors = FieldErrors()
    clean = _check_kpi(data, errors, project, None)
    errors.raise_if_any()
    kpi = Kpi(project_id=project.id, **clean)
    db.session.add(kpi)
    db.session.flush()
    record_event(
        actor,
        "kpi.created",
        "kpi",
        kpi.id,
        after=kpi_values(kpi),
        project_id=project.id,
        program_id=project.program_id,
    )
    db.session.commit()
    return kpi


def revision_needed(project: Project, before: dict, after: dict) -> bool:
    """Whether a change moves a committed baseline or target (after strategize)."""
    if project.phase == Phase.STRATEGIZE.value:
        return False
    return any(before[f] != after[f] for f in COMMITMENT_FIELDS)


def update_kpi(
    actor, kpi: Kpi, data: dict, expected_version: int | None, reason: str | None = None
) -> Kpi:
    """Change a KPI. After strategize, moving baseline or target needs a ``reason`` and
    keeps the earlier values as a revision. A stale ``expected_version`` gets 409."""
    check_version(kpi, expected_version, "KPI")
    project = kpi.project
    before = kpi_values(kpi)
    merged = {**before, **{k: v for k, v in data.items() if k in KPI_FIELDS}}
    errors = FieldErrors()
    clean = _check_kpi(merged, errors, project, kpi)
    reason = _text(reason, errors, "reason", rules.MAX_NOTE)
    needs_revision = not errors.errors and revision_needed(project, before, clean)
    if needs_revision and not reason:
        errors.add(
            "reason",
            f"the project is in {project.phase}: say why the baseline or target changes "
            "(the earlier values are kept as a revision)",
        )
    errors.raise_if_any()
    if needs_revision:
        db.session.add(
            KpiRevision(
                kpi_id=kpi.id,
                reason=reason,
                revised_by_id=getattr(actor, "id", None),
                **{f: before[f] for f in COMMITMENT_FIELDS},
            )
        )
    for key in KPI_FIELDS:
        setattr(kpi, key, clean[key])
    old, new = changed_fields(before, kpi_values(kpi))
    if old or new:
        if reason:
            new = {**new, "reason": reason}
        record_event(
            actor,
            "kpi.revised" if needs_revision else "kpi.updated",
            "kpi",
            kpi.id,
            before=old,
            after=new,
            project_id=project.id,
            program_id=project.program_id,
        )
    commit_versioned(kpi, "KPI", expected_version)
    return kpi


# --------------------------------------------------------------------------- measurements


def check_measurement(kpi: Kpi, period, value, note, errors: FieldErrors, prefix: str = ""):
    """Validated ``(period, value, note)`` of a measurement; field errors go to ``errors``."""
    parsed_period = parse_period(period, errors, prefix + "period", future_allowed=False)
    number = parse_value(value, errors, prefix + "value")
    text = _text(note, errors, prefix + "note", rules.MAX_NOTE)
    return parsed_period, number, text


_LOOK_IT_UP = object()


def apply_measurement(
    actor,
    kpi: Kpi,
    period: Period,
    value: Decimal,
    note: str,
    source: str,
    *,
    existing=_LOOK_IT_UP,
):
    """Insert or correct one measurement inside the current transaction.

    ``existing`` is the current measurement of that KPI and period when the caller has
    already read it (``None``: there is none). Returns ``(measurement, outcome)`` with
    outcome ``created``, ``corrected`` or ``unchanged`` (same value and note: nothing is
    written).
    """
    project = kpi.project
    measurement = loaders.measurement_of(kpi.id, period) if existing is _LOOK_IT_UP else existing
    now = clock.now()
    actor_id = getattr(actor, "id", None)
    if measurement is None:
        measurement = Measurement(
            kpi_id=kpi.id,
            period=str(period),
            value=value,
            note=note,
            source=source,
            recorded_by_id=actor_id,
            recorded_at=now,
        )
        db.session.add(measurement)
        db.session.flush()
        outcome = "created"
        before = None
    else:
        if Decimal(measurement.value) == value and (measurement.note or "") == note:
            return measurement, "unchanged"
        before = {
            "value": measurement.value,
            "note": measurement.note,
            "source": measurement.source,
        }
        db.session.add(
            MeasurementRevision(
                measurement_id=measurement.id,
                value=measurement.value,
                note=measurement.note or "",
                source=measurement.source,
                recorded_by_id=measurement.recorded_by_id,
                recorded_at=measurement.recorded_at,
                replaced_at=now,
                replaced_by_id=actor_id,
            )
        )
        measurement.value = value
        measurement.note = note
        measurement.source = source
        measurement.recorded_by_id = actor_id
        measurement.recorded_at = now
        outcome = "corrected"
    _resolve_missing_alert(kpi, period, now)
    record_event(
        actor,
        "measurement.recorded" if outcome == "created" else "measurement.corrected",
        "measurement",
        measurement.id,
        before=before,
        after={
            "kpi_id": kpi.id,
            "kpi": kpi.name,
            "period": str(period),
            "value": value,
            "note": note,
            "source": source,
        },
        project_id=project.id,
        program_id=project.program_id,
    )
    announce_measurement(measurement, kpi)
    return measurement, outcome


def _resolve_missing_alert(kpi: Kpi, period: Period, now) -> None:
    """A measurement answers its missing-measurement alert at once."""
    resolved = db.session.scalars(
        sa.update(Alert)
        .where(
            Alert.kind == "missing_measurement",
            Alert.kpi_id == kpi.id,
            Alert.period == str(period),
            Alert.resolved_at.is_(None),
        )
        .values(resolved_at=now)
        .returning(Alert.id)
        .execution_options(synchronize_session=False)
    )
    announce_alerts_resolved(resolved.all())


def record_measurement(
    actor, kpi: Kpi, period, value, note: str | None = "", *, source: str = "manual"
) -> tuple[Measurement, bool]:
    """Enter or correct the value of ``kpi`` for ``period`` (an upsert).

    A correction keeps the earlier value as a revision. Returns ``(measurement, created)``.
    """
    if source not in MEASUREMENT_SOURCES:
        raise ValueError(f"unknown measurement source {source!r}")
    errors = FieldErrors()
    parsed_period, number, text = check_measurement(kpi, period, value, note, errors)
    errors.raise_if_any()
    try:
        measurement, outcome = apply_measurement(actor, kpi, parsed_period, number, text, source)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(
            f"someone recorded {kpi.name} for {parsed_period} at the same moment; "
            "reload and check the value"
        ) from None
    return measurement, outcome == "created"


# --------------------------------------------------------------------------- money


def money_values(entry) -> dict:
    return {name: getattr(entry, name) for name in MONEY_FIELDS}


def _check_money(what: str, data: dict, errors: FieldErrors) -> dict:
    clean: dict = {}
    kind = data.get("kind")
    if kind not in {k.value for k in EntryKind}:
        errors.add("kind", "choose 'plan' (the approved business case) or 'actual' (what happened)")
    clean["kind"] = kind
    period = parse_period(
        data.get("period"), errors, "period", future_allowed=kind != EntryKind.ACTUAL.value
    )
    clean["period"] = str(period) if period else None
    clean["amount"] = parse_amount(data.get("amount"), errors, "amount")
    if what == "cost":
        category = data.get("category") or "other"
        if category not in COST_CATEGORIES:
            errors.add("category", f"choose one of {', '.join(COST_CATEGORIES)}")
        clean["category"] = category
    else:
        clean["category"] = _text(data.get("category"), errors, "category", 40)
    clean["note"] = _text(data.get("note"), errors, "note", rules.MAX_NOTE)
    return clean


def add_money_entry(actor, project: Project, what: str, data: dict):
    """Book a plan or actual cost or benefit for a period."""
    model = loaders.money_model(what)
    errors = FieldErrors()
    clean = _check_money(what, data, errors)
    errors.raise_if_any()
    entry = model(project_id=project.id, recorded_by_id=getattr(actor, "id", None), **clean)
    db.session.add(entry)
    db.session.flush()
    record_event(
        actor,
        f"{what}.added",
        what,
        entry.id,
        after=money_values(entry),
        project_id=project.id,
        program_id=project.program_id,
    )
    db.session.commit()
    return entry


def correct_money_entry(actor, entry, what: str, data: dict):
    """Correct an entry. The audit event keeps the values before and after."""
    before = money_values(entry)
    merged = {**before, **{k: v for k, v in data.items() if k in MONEY_FIELDS}}
    errors = FieldErrors()
    clean = _check_money(what, merged, errors)
    errors.raise_if_any()
    for key, value in clean.items():
        setattr(entry, key, value)
    old, new = changed_fields(before, money_values(entry))
    if old or new:
        entry.recorded_by_id = getattr(actor, "id", None)
        entry.recorded_at = clock.now()
        project = entry.project
        record_event(
            actor,
            f"{what}.corrected",
            what,
            entry.id,
            before=old,
            after=new,
            project_id=project.id,
            program_id=project.program_id,
        )
    db.session.commit()
    return entry


# --------------------------------------------------------------------------- snapshots


def write_roi_snapshots(period: Period, *, actor=None) -> int:
    """Insert or update the snapshot of every eligible project for ``period``, and the
    period's stored totals with them, inside the caller's transaction (a job run commits
    it with its outcome). Returns the number of snapshots written.

    On a rerun each existing row is updated in place, ``recomputed_count`` goes up, and a
    project event records what changed; one event records the run's counts.
    """
    subjects = loaders.snapshot_subjects(period)
    if not subjects:
        return 0
    ids = [s.id for s in subjects]
    figures = loaders.load_figures(ids, period)
    existing = loaders.snapshots_of(period, ids)
    now = clock.now()
    written = recomputed = 0
    for subject in subjects:
        project_figures = figures.get(subject.id)
        if project_figures is None:
            continue
        values = rules.snapshot_values(subject, project_figures)
        snapshot = existing.get(subject.id)
        if snapshot is None:
            db.session.add(
                RoiSnapshot(project_id=subject.id, period=str(period), computed_at=now, **values)
            )
        else:
            changed = rules.changed_columns(snapshot, values)
            if changed:
                record_event(
                    actor,
                    "snapshot.recomputed",
                    "roi_snapshot",
                    snapshot.id,
                    before={"period": str(period), **{k: getattr(snapshot, k) for k in changed}},
                    after={"period": str(period), **{k: values[k] for k in changed}},
                    project_id=subject.id,
                    program_id=subject.program_id,
                )
            for key, value in values.items():
                setattr(snapshot, key, value)
            snapshot.computed_at = now
            snapshot.recomputed_count = (snapshot.recomputed_count or 0) + 1
            recomputed += 1
        written += 1
    record_event(
        actor,
        "snapshots.written",
        "roi_snapshot",
        None,
        after={"period": str(period), "written": written, "recomputed": recomputed},
    )
    db.session.flush()
    refresh_snapshot_totals([str(period)])
    announce_snapshots(str(period), written)
    return written


def refresh_snapshot_totals(periods: Iterable[str]) -> None:
    """Rewrite the :class:`SnapshotTotals` of ``periods`` from their snapshots, inside the
    current transaction: three ``INSERT ... SELECT`` per period (the portfolio, per program,
    per department). Every code that writes snapshots calls it for the periods it wrote."""
    db.session.flush()
    connection = db.session.connection()
    snapshots = RoiSnapshot.__table__
    sums = [
        sa.func.count(snapshots.c.id),
        sa.func.coalesce(sa.func.sum(sa.case((snapshots.c.measured, 1), else_=0)), 0),
        *(sa.func.coalesce(sa.func.sum(snapshots.c[name]), 0) for name in SUMMED_MONEY),
        *(sa.func.coalesce(sa.func.sum(snapshots.c[name]), 0) for name in SUMMED_COUNTS),
    ]
    targets = ["period", "scope", "program_id", "department", "projects", "measured_projects"]
    targets += [*SUMMED_MONEY, *SUMMED_COUNTS]
    for period in sorted(set(periods)):
        connection.execute(sa.delete(SnapshotTotals).where(SnapshotTotals.period == period))
        of_period = snapshots.c.period == period
        for scope, program, department, group in (
            ("portfolio", sa.null(), sa.null(), (snapshots.c.period,)),
            ("program", snapshots.c.program_id, sa.null(), (snapshots.c.program_id,)),
            ("department", sa.null(), snapshots.c.department, (snapshots.c.department,)),
        ):
            select = (
                sa.select(
                    sa.literal(period, PERIOD),
                    sa.literal(scope, sa.String(10)),
                    sa.cast(program, sa.Integer),
                    sa.cast(department, sa.String(16)),
                    *sums,
                )
                .where(of_period)
                .group_by(*group)
            )
            connection.execute(sa.insert(SnapshotTotals).from_select(targets, select))


# --------------------------------------------------------------------------- alerts


def check_measurements(today: date) -> int:
    """Bring the alerts up to date for ``today`` and queue its reminders, inside the
    caller's transaction (the ``measurement_check`` run). Returns the rows written."""
    current = Period.of(today)
    projects = loaders.watched_projects()
    ids = [p.id for p in projects]
    tracking = loaders.load_tracking(ids, through=current)
    kpis = loaders.kpi_contacts(ids)
    reviews = loaders.pending_reviews(ids)
    wanted = rules.wanted_alerts(
        projects,
        today=today,
        tracking=tracking,
        kpis=kpis,
        current_figures=loaders.load_figures(ids, current),
        last_figures=loaders.load_figures(ids, current.previous()),
        reviews=reviews,
    )
    alerts, changed = sync_alerts(wanted, day=today)
    reminders = rules.reminders_due(
        projects,
        today=today,
        tracking=tracking,
        kpis=kpis,
        alerts=alerts,
        reviews=reviews,
        all_crmos=loaders.active_crmos(),
        link=app_link,
    )
    return changed + len(queue_reminders(reminders))


def sync_alerts(wanted: list[rules.WantedAlert], *, day: date) -> tuple[list[Alert], int]:
    """Open the wanted alerts that are not open; resolve open ones no longer wanted
    (including those of projects that were killed or retired). Returns the alerts now
    open for the wanted conditions and how many rows changed; an audit event lists them."""
    now = clock.now()
    changes = rules.alert_changes(wanted, loaders.open_alerts())
    for alert in changes.resolve:
        alert.resolved_at = now
    result: list[Alert] = list(changes.still_open)
    reopened: list[Alert] = []
    if changes.to_open:
        # A condition that was resolved and came back in the same period reopens its row.
        resolved = {
            (a.project_id, a.kind, a.period, a.subject_key): a
            for a in loaders.resolved_alerts(w.project_id for w in changes.to_open)
        }
        for w in changes.to_open:
            alert = resolved.get((w.project_id, w.kind, w.period, w.subject_key))
            if alert is not None:
                alert.resolved_at = None
                alert.opened_at = now
                alert.detail = w.detail
                reopened.append(alert)
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
    db.session.flush()
    opened = result[len(changes.still_open) :]
    if opened or changes.resolve:
        record_event(
            None,
            "alerts.updated",
            "alert",
            None,
            after={
                "day": day,
                "opened": sorted(a.id for a in opened),
                "reopened": sorted(a.id for a in reopened),
                "resolved": sorted(a.id for a in changes.resolve),
            },
        )
    announce_alerts(opened=opened, resolved=list(changes.resolve))
    return result, len(opened) + len(changes.resolve)


def queue_reminders(reminders: list[rules.Reminder]) -> list:
    """Queue the reminders that were not sent before (by their ``dedupe_key``)."""
    return queue(
        [
            Draft(r.recipient, r.subject, r.body, r.reason_type, r.reason_id, r.dedupe_key)
            for r in reminders
        ]
    )


# --------------------------------------------------------------------------- CSV import


def plan_import(
    actor, rows: list[imports.ImportRow], errors: list[imports.RowError] | None = None
) -> list[imports.PlannedRow]:
    """Resolve every row to a KPI the actor may record, without writing anything.

    Raises :class:`~crmphase.metrics.imports.MeasurementImportError` with ``errors``
    (earlier problems, e.g. from parsing) and every row that names an unknown or ambiguous
    project, an unknown KPI, or a KPI the actor may not record.
    """
    # Names match without regard to case in Python: SQLite's lower() knows only ASCII.
    names = {imports.split_program_name(r.project)[1].casefold() for r in rows}
    wanted_ids = [
        project_id
        for project_id, name in db.session.execute(sa.select(Project.id, Project.name))
        if name.casefold() in names
    ]
    projects: dict[str, list] = {}
    if wanted_ids:
        for project in db.session.scalars(
            sa.select(Project)
            .where(Project.id.in_(wanted_ids))
            .options(selectinload(Project.program))
        ):
            projects.setdefault(project.name.casefold(), []).append(project)
    project_ids = [p.id for group in projects.values() for p in group]
    kpis: dict[tuple[int, str], Kpi] = {}
    if project_ids:
        for stored in db.session.scalars(sa.select(Kpi).where(Kpi.project_id.in_(project_ids))):
            kpis[(stored.project_id, stored.name.casefold())] = stored
    existing: dict[tuple[int, str], Measurement] = {}
    kpi_ids = sorted({k.id for k in kpis.values()})
    periods = sorted({str(r.period) for r in rows})
    for start in range(0, len(kpi_ids), 500):
        for measurement in db.session.scalars(
            sa.select(Measurement).where(
                Measurement.kpi_id.in_(kpi_ids[start : start + 500]),
                Measurement.period.in_(periods),
            )
        ):
            existing[(measurement.kpi_id, measurement.period)] = measurement
    errors = list(errors or [])
    planned: list[imports.PlannedRow] = []
    for row in rows:
        program_name, project_name = imports.split_program_name(row.project)
        candidates = projects.get(project_name.casefold(), [])
        if program_name is not None:
            candidates = [
                c for c in candidates if c.program.name.casefold() == program_name.casefold()
            ]
        if not candidates:
            errors.append(
                imports.RowError(row.line, "project", f"no project named '{row.project}'")
            )
            continue
        if len(candidates) > 1:
            errors.append(
                imports.RowError(
                    row.line,
                    "project",
                    f"'{row.project}' exists in several programs; write "
                    f"'Program{imports.PROGRAM_SEPARATOR}Project', e.g. "
                    f"'{candidates[0].program.name}{imports.PROGRAM_SEPARATOR}{candidates[0].name}'",
                )
            )
            continue
        project = candidates[0]
        kpi = kpis.get((project.id, row.kpi.casefold()))
        if kpi is None:
            errors.append(
                imports.RowError(
                    row.line, "kpi", f"project '{project.name}' has no KPI named '{row.kpi}'"
                )
            )
            continue
        refusal = explain_refusal(actor, Action.MEASUREMENT_RECORD, kpi)
        if refusal:
            errors.append(
                imports.RowError(row.line, "kpi", f"you may not record '{kpi.name}': {refusal}")
            )
            continue
        current = existing.get((kpi.id, str(row.period)))
        if current is None:
            outcome = "created"
        elif Decimal(current.value) == row.value and (current.note or "") == row.note:
            outcome = "unchanged"
        else:
            outcome = "corrected"
        planned.append(
            imports.PlannedRow(
                row=row,
                kpi_id=kpi.id,
                project_name=project.name,
                kpi_name=kpi.name,
                outcome=outcome,
                current_value=None if current is None else Decimal(current.value),
                measurement=current,
            )
        )
    if errors:
        raise imports.MeasurementImportError(errors)
    return planned


def import_measurements(actor, data: bytes) -> imports.ImportResult:
    """Parse, check and write a measurement CSV in one transaction: all rows or none."""
    planned = preview_import(actor, data)
    counts = {"created": 0, "corrected": 0, "unchanged": 0}
    try:
        kpi_ids = sorted({p.kpi_id for p in planned})
        kpis = {k.id: k for k in db.session.scalars(sa.select(Kpi).where(Kpi.id.in_(kpi_ids)))}
        for item in planned:
            _, outcome = apply_measurement(
                actor,
                kpis[item.kpi_id],
                item.row.period,
                item.row.value,
                item.row.note,
                "import",
                existing=item.measurement,
            )
            counts[outcome] += 1
        record_event(
            actor,
            "measurements.imported",
            "import",
            None,
            after={"rows": len(planned), **counts},
        )
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(
            "someone recorded some of these measurements at the same moment; nothing was "
            "imported — upload the file again"
        ) from None
    except Exception:
        db.session.rollback()
        raise
    return imports.ImportResult(rows=len(planned), **counts)


def preview_import(actor, data: bytes) -> list[imports.PlannedRow]:
    """What :func:`import_measurements` would do, without writing anything."""
    rows, errors = imports.parse_measurement_rows(data, current=clock.current_period())
    return plan_import(actor, rows, errors)


# --------------------------------------------------------------------------- import preview files

_TOKEN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
STASH_MAX_AGE_SECONDS = 24 * 3600


def _stash_dir() -> Path:
    path = Path(
        current_app.config.get("CRMPHASE_IMPORT_DIR") or Path(current_app.instance_path) / "imports"
    )
    path.mkdir(parents=True, exist_ok=True)
    return path


def stash_upload(data: bytes, user_id: int) -> str:
    """Keep an uploaded file between its preview and its commit; return a random token.

    The file lives on the server under a random name tied to the user, so the browser
    never sends the rows back and nobody else can commit them.
    """
    folder = _stash_dir()
    cutoff = time.time() - STASH_MAX_AGE_SECONDS
    for old in folder.glob("*.csv"):
        if old.stat().st_mtime < cutoff:
            old.unlink(missing_ok=True)
    token = secrets.token_urlsafe(18)
    (folder / f"{int(user_id)}-{token}.csv").write_bytes(data)
    return token


def take_upload(token: str, user_id: int, *, remove: bool = False) -> bytes | None:
    """The stashed file of ``token`` for this user, or ``None`` (unknown or expired)."""
    if not token or len(token) > 64 or not set(token) <= _TOKEN_CHARS:
        return None
    path = _stash_dir() / f"{int(user_id)}-{token}.csv"
    if not path.is_file():
        return None
    data = path.read_bytes()
    if remove:
        path.unlink(missing_ok=True)
    return data
