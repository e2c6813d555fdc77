"""Changing KPIs, measurements and money entries. Each call is one transaction.

Every service validates its input itself (pages, the API and the CSV import share it),
writes an audit event inside the transaction, and commits. Authorization is the caller's
job (``authorize(Action..., obj)``), except for the CSV import, which checks every row.
"""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from crmphase import clock
from crmphase.audit.services import changed_fields, record_event
from crmphase.auth.models import User
from crmphase.auth.roles import Role
from crmphase.errors import Conflict, FieldErrors, NotFound
from crmphase.extensions import db
from crmphase.integrations.services import announce_alerts_resolved, announce_measurement
from crmphase.metrics.models import (
    COST_CATEGORIES,
    MEASUREMENT_SOURCES,
    Alert,
    BenefitEntry,
    CostEntry,
    Kpi,
    KpiRevision,
    Measurement,
    MeasurementRevision,
)
from crmphase.metrics.roi import Cadence, Direction, EntryKind
from crmphase.money import AmountError, parse_decimal, parse_money
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
VALUE_PLACES = 6
MAX_VALUE = Decimal(10) ** 14
MAX_NOTE = 2000
MONEY_KINDS = {"cost": CostEntry, "benefit": BenefitEntry}
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
        number = parse_decimal(value, max_places=VALUE_PLACES)
    except AmountError as exc:
        errors.add(field, str(exc))
        return None
    if abs(number) >= MAX_VALUE:
        errors.add(field, "the value is too large (at most 14 digits before the point)")
        return None
    return number


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


def get_kpi(kpi_id: int) -> Kpi:
    kpi = db.session.get(Kpi, kpi_id)
    if kpi is None:
        raise NotFound(f"no KPI {kpi_id}")
    return kpi


def kpis_of(project_id: int) -> list[Kpi]:
    """A project's KPIs by name, with owners loaded."""
    return list(
        db.session.scalars(
            sa.select(Kpi)
            .where(Kpi.project_id == project_id)
            .options(
                selectinload(Kpi.owner),
                selectinload(Kpi.revisions).selectinload(KpiRevision.revised_by),
            )
            .order_by(Kpi.name, Kpi.id)
        )
    )


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
        elif not owner.active or owner.role == Role.VIEWER.value:
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
    reason = _text(reason, errors, "reason", MAX_NOTE)
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


def measurements_of(kpi_ids) -> list[Measurement]:
    """Current measurements of the KPIs, oldest period first, with their revisions."""
    ids = list(kpi_ids)
    if not ids:
        return []
    return list(
        db.session.scalars(
            sa.select(Measurement)
            .where(Measurement.kpi_id.in_(ids))
            .options(
                selectinload(Measurement.revisions).selectinload(MeasurementRevision.recorded_by),
                selectinload(Measurement.recorded_by),
            )
            .order_by(Measurement.kpi_id, Measurement.period)
        )
    )


def check_measurement(kpi: Kpi, period, value, note, errors: FieldErrors, prefix: str = ""):
    """Validated ``(period, value, note)`` of a measurement; field errors go to ``errors``."""
    parsed_period = parse_period(period, errors, prefix + "period", future_allowed=False)
    number = parse_value(value, errors, prefix + "value")
    text = _text(note, errors, prefix + "note", MAX_NOTE)
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
    measurement = existing
    if existing is _LOOK_IT_UP:
        measurement = db.session.scalar(
            sa.select(Measurement).where(
                Measurement.kpi_id == kpi.id, Measurement.period == str(period)
            )
        )
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


def money_model(what: str):
    try:
        return MONEY_KINDS[what]
    except KeyError:
        raise ValueError(f"money entries are 'cost' or 'benefit', not {what!r}") from None


def get_money_entry(what: str, entry_id: int):
    entry = db.session.get(money_model(what), entry_id)
    if entry is None:
        raise NotFound(f"no {what} entry {entry_id}")
    return entry


def money_entries(project_id: int, what: str, kind: str | None = None, *, newest_first=False):
    """A query of the project's cost or benefit entries, by period then kind and id."""
    model = money_model(what)
    order = (model.period, model.kind, model.id)
    if newest_first:
        order = (model.period.desc(), model.kind, model.id.desc())
    query = sa.select(model).where(model.project_id == project_id).order_by(*order)
    if kind:
        query = query.where(model.kind == kind)
    return query


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
    clean["note"] = _text(data.get("note"), errors, "note", MAX_NOTE)
    return clean


def add_money_entry(actor, project: Project, what: str, data: dict):
    """Book a plan or actual cost or benefit for a period."""
    model = money_model(what)
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


def money_corrections(project_id: int) -> dict[tuple[str, int], int]:
    """How often each entry was corrected: ``{(what, entry_id): count}``."""
    from crmphase.audit.models import Event

    rows = db.session.execute(
        sa.select(Event.subject_type, Event.subject_id, sa.func.count())
        .where(
            Event.project_id == project_id,
            Event.action.in_(("cost.corrected", "benefit.corrected")),
        )
        .group_by(Event.subject_type, Event.subject_id)
    )
    return {(kind, entry_id): count for kind, entry_id, count in rows}


def current_measurement(kpi: Kpi, period_text) -> Measurement | None:
    """The current value of ``kpi`` for a period given as text (``None`` when invalid)."""
    try:
        period = Period.parse(period_text or "")
    except PeriodError:
        return None
    return db.session.scalar(
        sa.select(Measurement)
        .where(Measurement.kpi_id == kpi.id, Measurement.period == str(period))
        .options(selectinload(Measurement.revisions))
    )
