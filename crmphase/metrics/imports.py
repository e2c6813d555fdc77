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

from crmphase.metrics.rules import MAX_NOTE, measured_value
from crmphase.money import AmountError
from crmphase.periods import Period, PeriodError

COLUMNS = ("project", "kpi", "period", "value", "note")
REQUIRED_COLUMNS = ("project", "kpi", "period", "value")
MAX_ROWS = 50_000
MAX_NAME = 240
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
                value = measured_value(values["value"].replace(" ", ""))
            except AmountError as exc:
                row_errors.append(RowError(start, "value", str(exc)))
            note = values.get("note", "")
            if len(note) > MAX_NOTE:
                row_errors.append(RowError(start, "note", f"at most {MAX_NOTE} characters"))
            if not row_errors and period is not None:  # only valid rows can be duplicates
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
            if row_errors or period is None or value is None:  # a None was reported above
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


# --------------------------------------------------------------------------- template


def split_program_name(name: str) -> tuple[str | None, str]:
    """``"Program / Project"`` as ``("Program", "Project")``; a bare name has no program."""
    if PROGRAM_SEPARATOR in name:
        program, _, project = name.partition(PROGRAM_SEPARATOR)
        return program.strip(), project.strip()
    return None, name


def template_csv(rows: list[tuple[str, str]], period: Period) -> bytes:
    """A CSV to fill in: one line per KPI with the period set and the value left empty."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for project, kpi in rows:
        writer.writerow([project, kpi, str(period), "", ""])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
