"""CSV import of measurements: all rows or none.

The file has the columns ``project, kpi, period, value, note`` (``note`` may be left out),
UTF-8 with or without a byte-order mark, separated by commas (or semicolons, as some
spreadsheets write them). :func:`parse_measurement_csv` is pure: bytes in, rows out, or a
:class:`MeasurementImportError` listing every bad row with its line number. The service
functions then find each row's project and KPI, check that the importing user may record
it, and write every row in one transaction — or nothing.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from crmphase.money import AmountError, parse_decimal
from crmphase.periods import Period, PeriodError

COLUMNS = ("project", "kpi", "period", "value", "note")
REQUIRED_COLUMNS = ("project", "kpi", "period", "value")
MAX_ROWS = 50_000
MAX_NAME = 240
MAX_NOTE = 2000
VALUE_PLACES = 6
MAX_VALUE = Decimal(10) ** 14
PROGRAM_SEPARATOR = " / "


@dataclass(frozen=True)
class ImportRow:
    """One valid line of the file."""

    line: int
    project: str
    kpi: str
    period: Period
    value: Decimal
    note: str


@dataclass(frozen=True)
class RowError:
    """Why a line (0: the file as a whole) cannot be imported."""

    line: int
    field: str
    message: str

    def as_dict(self) -> dict:
        return {"line": self.line, "field": self.field, "message": self.message}


class MeasurementImportError(ValueError):
    """The file cannot be imported; ``errors`` lists every reason."""

    def __init__(self, errors: Iterable[RowError]):
        self.errors = sorted(
            errors, key=lambda e: (e.line, COLUMNS.index(e.field) if e.field in COLUMNS else -1)
        )
        super().__init__(f"{len(self.errors)} problem(s) in the file")


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MeasurementImportError(
            [
                RowError(
                    0,
                    "file",
                    f"the file is not UTF-8 text (byte {exc.start + 1}); save it as "
                    "'CSV UTF-8' and upload it again",
                )
            ]
        ) from None


def _delimiter(first_line: str) -> str:
    return ";" if first_line.count(";") > first_line.count(",") else ","


def _header(fields: list[str]) -> dict[str, int]:
    names = [f.strip().lower() for f in fields]
    errors = []
    unknown = [n for n in names if n not in COLUMNS]
    if unknown:
        errors.append(
            RowError(
                1,
                "header",
                f"unknown column(s) {', '.join(repr(n) for n in unknown)}; "
                f"the columns are {', '.join(COLUMNS)}",
            )
        )
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        errors.append(
            RowError(
                1,
                "header",
                f"missing column(s) {', '.join(missing)}; the first line must name the "
                f"columns {', '.join(COLUMNS)}",
            )
        )
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        errors.append(RowError(1, "header", f"column(s) {', '.join(repeated)} appear twice"))
    if errors:
        raise MeasurementImportError(errors)
    return {name: index for index, name in enumerate(names)}


def _parse_value(text: str) -> Decimal:
    number = parse_decimal(text.replace(" ", ""), max_places=VALUE_PLACES)
    if abs(number) >= MAX_VALUE:
        raise AmountError("the value is too large (at most 14 digits before the point)")
    return number


def parse_measurement_csv(data: bytes, *, current: Period | None = None) -> list[ImportRow]:
    """Every row of a measurement CSV file, or :class:`MeasurementImportError`.

    ``current`` is the current period: later periods are refused (measurements are for the
    current or a past period). Duplicate rows (same project, KPI and period) are errors.
    Blank lines are skipped. Never raises anything else.
    """
    rows, errors = parse_measurement_rows(data, current=current)
    if errors:
        raise MeasurementImportError(errors)
    return rows


def parse_measurement_rows(
    data: bytes, *, current: Period | None = None
) -> tuple[list[ImportRow], list[RowError]]:
    """The valid rows and the errors of the others, so that a caller can check the valid
    rows further and report every problem at once. Problems of the whole file (encoding,
    header, no rows) raise :class:`MeasurementImportError` at once."""
    text = _decode(data)
    if not text.strip():
        raise MeasurementImportError([RowError(0, "file", "the file is empty")])
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise MeasurementImportError(
            [RowError(line, "file", "the file is not valid CSV text: it contains NUL bytes")]
        )
    first_line = text.lstrip("\r\n").splitlines()[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(first_line))
    errors: list[RowError] = []
    rows: list[ImportRow] = []
    seen: dict[tuple[str, str, Period], int] = {}
    columns: dict[str, int] | None = None
    line = 1
    try:
        for fields in reader:
            start, line = line, reader.line_num + 1
            if not any(f.strip() for f in fields):
                continue
            if columns is None:
                columns = _header(fields)
                continue
            if len(rows) + len(errors) >= MAX_ROWS:
                raise MeasurementImportError(
                    [RowError(start, "file", f"at most {MAX_ROWS} rows per file; split it")]
                )
            row_errors: list[RowError] = []
            if len(fields) != len(columns):
                errors.append(
                    RowError(
                        start,
                        "row",
                        f"{len(fields)} field(s) where the header has {len(columns)}",
                    )
                )
                continue
            values = {name: fields[index].strip() for name, index in columns.items()}
            for name in ("project", "kpi"):
                if not values[name]:
                    row_errors.append(RowError(start, name, f"the {name} is empty"))
                elif len(values[name]) > MAX_NAME:
                    row_errors.append(RowError(start, name, f"at most {MAX_NAME} characters"))
            period = None
            try:
                period = Period.parse(values["period"])
            except PeriodError as exc:
                row_errors.append(RowError(start, "period", str(exc)))
            if period is not None and current is not None and period > current:
                row_errors.append(
                    RowError(
                        start,
                        "period",
                        f"{period} is in the future; measurements are for {current} or earlier",
                    )
                )
                period = None
            value = None
            try:
                value = _parse_value(values["value"])
            except AmountError as exc:
                row_errors.append(RowError(start, "value", str(exc)))
            note = values.get("note", "")
            if len(note) > MAX_NOTE:
                row_errors.append(RowError(start, "note", f"at most {MAX_NOTE} characters"))
            if not row_errors:  # only valid rows can duplicate one another
                key = (values["project"].casefold(), values["kpi"].casefold(), period)
                if key in seen:
                    row_errors.append(
                        RowError(
                            start,
                            "row",
                            f"duplicate of line {seen[key]} (same project, KPI and period)",
                        )
                    )
                else:
                    seen[key] = start
            if row_errors:
                errors.extend(row_errors)
                continue
            rows.append(ImportRow(start, values["project"], values["kpi"], period, value, note))
    except csv.Error as exc:
        errors.append(RowError(line, "file", f"the file is not valid CSV: {exc}"))
    if columns is None and not errors:
        errors.append(RowError(0, "file", "the file has no header line"))
    if not rows and not errors:
        errors.append(RowError(0, "file", "the file has no rows to import"))
    return rows, errors


def write_measurement_csv(rows: Iterable[ImportRow]) -> bytes:
    """The CSV text of ``rows`` (a template for users; tests round-trip it)."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([row.project, row.kpi, str(row.period), str(row.value), row.note])
    return buffer.getvalue().encode("utf-8")


# --------------------------------------------------------------------------- service


@dataclass(frozen=True)
class PlannedRow:
    """A row resolved to its KPI, with what importing it would do."""

    row: ImportRow
    kpi_id: int
    project_name: str
    kpi_name: str
    outcome: str  # created | corrected | unchanged
    current_value: Decimal | None
    measurement: object = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class ImportResult:
    rows: int
    created: int
    corrected: int
    unchanged: int


def _split_program(name: str) -> tuple[str | None, str]:
    if PROGRAM_SEPARATOR in name:
        program, _, project = name.partition(PROGRAM_SEPARATOR)
        return program.strip(), project.strip()
    return None, name


def plan_import(
    actor, rows: list[ImportRow], errors: list[RowError] | None = None
) -> list[PlannedRow]:
    """Resolve every row to a KPI the actor may record, without writing anything.

    Raises :class:`MeasurementImportError` with ``errors`` (earlier problems, e.g. from
    parsing) and every row that names an unknown or ambiguous project, an unknown KPI,
    or a KPI the actor may not record.
    """
    import sqlalchemy as sa
    from sqlalchemy.orm import selectinload

    from crmphase.auth.policy import Action, explain_refusal
    from crmphase.extensions import db
    from crmphase.metrics.models import Kpi, Measurement
    from crmphase.programs.models import Project

    # Names match without regard to case in Python: SQLite's lower() knows only ASCII.
    names = {_split_program(r.project)[1].casefold() for r in rows}
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
        for kpi in db.session.scalars(sa.select(Kpi).where(Kpi.project_id.in_(project_ids))):
            kpis[(kpi.project_id, kpi.name.casefold())] = kpi
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
    planned: list[PlannedRow] = []
    for row in rows:
        program_name, project_name = _split_program(row.project)
        candidates = projects.get(project_name.casefold(), [])
        if program_name is not None:
            candidates = [
                c for c in candidates if c.program.name.casefold() == program_name.casefold()
            ]
        if not candidates:
            errors.append(RowError(row.line, "project", f"no project named '{row.project}'"))
            continue
        if len(candidates) > 1:
            errors.append(
                RowError(
                    row.line,
                    "project",
                    f"'{row.project}' exists in several programs; write "
                    f"'Program{PROGRAM_SEPARATOR}Project', e.g. "
                    f"'{candidates[0].program.name}{PROGRAM_SEPARATOR}{candidates[0].name}'",
                )
            )
            continue
        project = candidates[0]
        kpi = kpis.get((project.id, row.kpi.casefold()))
        if kpi is None:
            errors.append(
                RowError(row.line, "kpi", f"project '{project.name}' has no KPI named '{row.kpi}'")
            )
            continue
        refusal = explain_refusal(actor, Action.MEASUREMENT_RECORD, kpi)
        if refusal:
            errors.append(RowError(row.line, "kpi", f"you may not record '{kpi.name}': {refusal}"))
            continue
        current = existing.get((kpi.id, str(row.period)))
        if current is None:
            outcome = "created"
        elif Decimal(current.value) == row.value and (current.note or "") == row.note:
            outcome = "unchanged"
        else:
            outcome = "corrected"
        planned.append(
            PlannedRow(
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
        raise MeasurementImportError(errors)
    return planned


def import_measurements(actor, data: bytes) -> ImportResult:
    """Parse, check and write a measurement CSV in one transaction: all rows or none."""
    import sqlalchemy as sa
    from sqlalchemy.exc import IntegrityError

    from crmphase.audit.services import record_event
    from crmphase.errors import Conflict
    from crmphase.extensions import db
    from crmphase.metrics.models import Kpi
    from crmphase.metrics.services import apply_measurement

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
    return ImportResult(rows=len(planned), **counts)


def preview_import(actor, data: bytes) -> list[PlannedRow]:
    """What :func:`import_measurements` would do, without writing anything."""
    from crmphase import clock

    rows, errors = parse_measurement_rows(data, current=clock.current_period())
    return plan_import(actor, rows, errors)


# --------------------------------------------------------------------------- preview storage

_TOKEN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
STASH_MAX_AGE_SECONDS = 24 * 3600


def _stash_dir():
    from pathlib import Path

    from flask import current_app

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
    import secrets
    import time

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


# --------------------------------------------------------------------------- template


def template_rows(actor, period: Period) -> list[tuple[str, str]]:
    """``(project, kpi)`` names of every KPI the actor may record in a tracked project
    (active, in execute or manage), for a CSV template to fill in."""
    import sqlalchemy as sa
    from sqlalchemy.orm import selectinload

    from crmphase.auth.policy import Action, can
    from crmphase.extensions import db
    from crmphase.metrics.models import Kpi
    from crmphase.programs.models import Project

    kpis = db.session.scalars(
        sa.select(Kpi)
        .join(Project, Project.id == Kpi.project_id)
        .where(Project.state == "active", Project.phase.in_(("execute", "manage")))
        .options(selectinload(Kpi.project).selectinload(Project.program))
        .order_by(Project.name, Kpi.name)
    ).all()
    counts: dict[str, int] = {}
    for (name,) in db.session.execute(sa.select(Project.name)):
        counts[name.casefold()] = counts.get(name.casefold(), 0) + 1
    rows = []
    for kpi in kpis:
        if not can(actor, Action.MEASUREMENT_RECORD, kpi):
            continue
        project = kpi.project
        name = project.name
        if counts.get(name.casefold(), 0) > 1:
            name = f"{project.program.name}{PROGRAM_SEPARATOR}{project.name}"
        rows.append((name, kpi.name))
    return rows


def template_csv(rows: list[tuple[str, str]], period: Period) -> bytes:
    """A CSV to fill in: one line per KPI with the period set and the value left empty."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for project, kpi in rows:
        writer.writerow([project, kpi, str(period), "", ""])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
