"""The monthly review as one XLSX workbook, written in openpyxl's streaming mode.

Every sheet is a write-only worksheet: rows go to disk as they come, so memory stays
bounded whatever the size of the portfolio. Cells are typed: money and numbers are
numeric with number formats, percentages are Excel percentages, dates and periods are
dates. Texts that a spreadsheet could run as formulas are written as inert text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import IO

from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import to_excel

from crmphase.exports import data
from crmphase.exports.data import Column, MonthlyReview, Table
from crmphase.exports.safe import is_plain_text, xlsx_text
from crmphase.periods import Period

HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="14213D")
TITLE_FONT = Font(bold=True, size=14)
BOLD = Font(bold=True)
HUNDRED = Decimal(100)

DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
PERIOD_FORMAT = "yyyy-mm"
PERCENT_FORMAT = "0.00%"
INT_FORMAT = "#,##0"
NUMBER_FORMAT = "#,##0.######"

Progress = Callable[[int], None]

# The exact types of the writers' fast paths: bool (an int) reads as yes/no, and an aware
# datetime must reach openpyxl, which refuses it, so both take the general path.
_NUMBER_TYPES = frozenset({int, float, Decimal})
_DAY_TYPES = frozenset({Period, date})


class _ColumnCell(Cell):
    """The styled cell that every row of a column reuses (see :meth:`_CellMaker.row_writer`).

    Should openpyxl's own path ever be taken (see :func:`_new_sheet`), it formats an error
    naming each such cell before taking it; openpyxl's ``repr`` of a cell looks up the
    sheet's title and the cell's coordinate, which would cost more than writing the cell.
    This one names only its column."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<export cell, column {self.column}>"


def money_format(currency: str) -> str:
    """A currency number format; the code is kept to letters so it cannot break out."""
    code = re.sub(r"[^A-Za-z]", "", currency)[:3] or "EUR"
    return f'#,##0.00 "{code}";-#,##0.00 "{code}"'


class _CellMaker:
    """Turns plain values into typed (and, for texts, safe) cells of one worksheet."""

    def __init__(self, ws, currency: str):
        self.ws = ws
        self.formats = {
            data.MONEY: money_format(currency),
            data.PCT: PERCENT_FORMAT,
            data.INT: INT_FORMAT,
            data.NUMBER: NUMBER_FORMAT,
            data.DATE: DATE_FORMAT,
            data.DATETIME: DATETIME_FORMAT,
            data.PERIOD: PERIOD_FORMAT,
        }
        self._epoch = ws.parent.epoch
        self._serials: dict[Period | date, float] = {}

    def text(self, value: str, font: Font | None = None):
        clean, inert = xlsx_text(value)
        if not inert and font is None:
            return clean
        cell = WriteOnlyCell(self.ws, value=clean)
        if inert:
            cell.data_type = "s"  # never a formula, whatever the first character
            cell.quotePrefix = True  # and Excel keeps it text when someone edits it
        if font is not None:
            cell.font = font
        return cell

    def value(self, value, kind: str, font: Font | None = None):
        """Any value as its cell: the general path (the headline row, odd types)."""
        if value is None:
            return None
        if isinstance(value, str):
            return self.text(value, font)
        if isinstance(value, bool):
            return self.text("yes" if value else "no", font)
        if isinstance(value, Period):
            value = value.first_day
        elif kind == data.PCT:
            value = Decimal(value) / HUNDRED
        cell = WriteOnlyCell(self.ws, value=value)
        number_format = self.formats.get(kind)
        if number_format is None and isinstance(value, datetime):
            number_format = DATETIME_FORMAT
        elif number_format is None and isinstance(value, date):
            number_format = DATE_FORMAT
        if number_format:
            cell.number_format = number_format
        if font is not None:
            cell.font = font
        return cell

    def row(self, values: Iterable, columns: tuple[Column, ...], font: Font | None = None):
        """One row through the general path (see :meth:`row_writer` for many rows)."""
        return [self.value(v, c.kind, font) for v, c in zip(values, columns, strict=True)]

    def row_writer(self, columns: tuple[Column, ...]) -> Callable[[tuple], list]:
        """A function from a row's values to its cells, for many rows of ``columns``.

        The kind of each column is looked at once, not once a cell: each column gets a
        converter, and the numeric and date columns one styled cell that every row reuses
        (a write-only sheet serialises each row as it is appended, so the cell is free
        again for the next row). A value of an unexpected type takes :meth:`value`."""
        converters = [self._converter(column.kind) for column in columns]

        def cells(values: tuple) -> list:
            return [convert(v) for convert, v in zip(converters, values, strict=True)]

        return cells

    def _converter(self, kind: str) -> Callable:
        general = self.value
        if kind not in self.formats:  # texts (and yes/no)

            def text(value):
                if value.__class__ is str and is_plain_text(value):
                    return value
                return general(value, kind)

            return text

        cell = _ColumnCell(self.ws, row=1, column=1)
        cell.number_format = self.formats[kind]
        if kind == data.PCT:

            def percent(value):
                if value.__class__ is Decimal:
                    cell.value = value / HUNDRED
                    return cell
                return general(value, kind)

            return percent

        if kind in (data.DATE, data.DATETIME, data.PERIOD):
            serial = self._serial

            def moment(value):
                if value.__class__ in _DAY_TYPES or (
                    value.__class__ is datetime and value.tzinfo is None
                ):
                    cell.value = serial(value)
                    return cell
                return general(value, kind)

            return moment

        def number(value):
            if value.__class__ in _NUMBER_TYPES:
                cell.value = value
                return cell
            return general(value, kind)

        return number

    def _serial(self, value: Period | date | datetime) -> float:
        """The Excel serial of a period (its first day), date or naive datetime: what
        openpyxl writes for a date cell, computed here so that the many repeated periods
        and days of a sheet are converted once."""
        if value.__class__ is datetime:
            return to_excel(value, self._epoch)
        serial = self._serials.get(value)
        if serial is None:
            day = value.first_day if value.__class__ is Period else value
            serial = self._serials[value] = to_excel(day, self._epoch)
        return serial

    def header(self, columns: tuple[Column, ...]):
        cells = []
        for column in columns:
            cell = WriteOnlyCell(self.ws, value=xlsx_text(column.header)[0])
            cell.font = HEADER_FONT
            cell.fill = HEADER_FILL
            cell.alignment = Alignment(wrap_text=True, vertical="center")
            cells.append(cell)
        return cells


def _set_widths(ws, columns: tuple[Column, ...]) -> None:
    for index, column in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(index)].width = column.display_width


def _last_column(columns: tuple[Column, ...]) -> str:
    return get_column_letter(len(columns))


def _new_sheet(wb: Workbook, title: str):
    """A new write-only sheet of ``wb`` that takes an appended cell as the cell it is.

    openpyxl 3.1's ``WriteOnlyWorksheet._values_to_row`` first tries every appended item
    as a plain value, takes a cell only from the ``ValueError`` that raises, then makes a
    fresh cell for the next item. Where every number and date is a styled cell, that costs
    about a fifth of the whole export. The sheet here does the same per item without the
    detour: a cell as it is, a plain value through one reused unstyled cell. Should
    openpyxl stop calling ``_values_to_row``, the sheet simply takes its own path (a test
    keeps the workbook equal to the one openpyxl writes on its own)."""
    ws = wb.create_sheet(title)
    _take_cells_as_they_are(ws)
    return ws


def _take_cells_as_they_are(ws) -> None:
    """Give ``ws`` the row conversion :func:`_new_sheet` describes."""
    plain = WriteOnlyCell(ws)

    def values_to_row(values, row_idx):
        for col_idx, value in enumerate(values, 1):
            if value is None:
                continue
            if isinstance(value, Cell):
                cell = value
                if cell.hyperlink is not None:
                    cell.hyperlink.ref = cell.coordinate
            else:
                plain.value = value
                cell = plain
            cell.column = col_idx
            cell.row = row_idx
            yield cell

    ws._values_to_row = values_to_row


def write_table(wb: Workbook, table: Table, currency: str, progress: Progress | None) -> int:
    """Stream one detail table into a new sheet; return the number of rows written."""
    ws = _new_sheet(wb, table.title)
    _set_widths(ws, table.columns)
    ws.freeze_panes = "C2"  # the header row, and Program and Project, stay in view
    maker = _CellMaker(ws, currency)
    ws.append(maker.header(table.columns))
    cells = maker.row_writer(table.columns)
    count = 0
    for values in table.rows():
        ws.append(cells(values))
        count += 1
        if progress and count % 500 == 0:
            progress(500)
    if progress and count % 500:
        progress(count % 500)
    ws.auto_filter.ref = f"A1:{_last_column(table.columns)}{count + 1}"
    return count


def _summary(wb: Workbook, review: MonthlyReview) -> None:
    ws = _new_sheet(wb, "Summary")
    columns = data.SUMMARY_COLUMNS
    _set_widths(ws, columns)
    ws.freeze_panes = "B5"
    maker = _CellMaker(ws, review.currency)
    ws.append([maker.text(f"Monthly ROI review {review.period}", TITLE_FONT)])
    ws.append(
        [
            maker.text(
                f"Generated {review.generated_at:%Y-%m-%d %H:%M} ({review.timezone}). "
                f"Amounts in {review.currency}, cumulative to the end of {review.period}. "
                "Coverage = measured due KPI-periods / due KPI-periods."
            )
        ]
    )
    ws.append([])
    ws.append(maker.header(columns))  # row 4
    rows = data.summary_rows(review)
    ws.append(maker.row(rows[0], columns, BOLD))  # row 5: the portfolio headline
    program_cells = maker.row_writer(columns)
    for values in rows[1:]:
        ws.append(program_cells(values))
    last = 4 + len(rows)
    ws.auto_filter.ref = f"A4:{_last_column(columns)}{last}"
    if not review.programs:
        ws.append([])
        ws.append([maker.text("No ROI snapshots for this period: run the roi_snapshot job.")])
        return
    ws.append([])
    ws.append([maker.text(f"ROI trend, last {data.TREND_MONTHS} months", BOLD)])
    trend_header = last + 3
    ws.append(maker.header(data.TREND_COLUMNS))
    trend_cells = maker.row_writer(data.TREND_COLUMNS)
    for values in data.trend_rows(review.trend):
        ws.append(trend_cells(values))
    trend_last = trend_header + len(review.trend)
    _charts(ws, trend_header, trend_last, review.currency)


def _charts(ws, header_row: int, last_row: int, currency: str) -> None:
    """A line chart of portfolio ROI % and a column chart of cost against benefit, both
    reading the trend table, placed below it."""
    categories = Reference(ws, min_col=1, min_row=header_row + 1, max_row=last_row)
    anchor_row = last_row + 3

    roi = LineChart()
    roi.title = "Portfolio ROI % (actual and plan)"
    roi.y_axis.title = "ROI"
    roi.y_axis.number_format = "0%"
    roi.x_axis.number_format = PERIOD_FORMAT
    roi.add_data(
        Reference(ws, min_col=2, max_col=3, min_row=header_row, max_row=last_row),
        titles_from_data=True,
    )
    roi.set_categories(categories)
    roi.height, roi.width = 8, 16
    roi.x_axis.delete = False
    roi.y_axis.delete = False
    ws.add_chart(roi, f"A{anchor_row}")

    money = BarChart()
    money.type = "col"
    money.title = f"Cumulative cost against benefit ({currency})"
    money.y_axis.number_format = "#,##0"
    money.x_axis.number_format = PERIOD_FORMAT
    money.add_data(
        Reference(ws, min_col=4, max_col=5, min_row=header_row, max_row=last_row),
        titles_from_data=True,
    )
    money.set_categories(categories)
    money.height, money.width = 8, 16
    money.x_axis.delete = False
    money.y_axis.delete = False
    ws.add_chart(money, f"H{anchor_row}")


def write_workbook(review: MonthlyReview, out: IO[bytes] | str, progress: Progress | None = None):
    """Write the whole review to ``out`` (a path or a binary file object)."""
    wb = Workbook(write_only=True)
    wb.properties.title = f"Monthly ROI review {review.period}"
    wb.properties.creator = "crmphase"
    _summary(wb, review)
    if progress:
        progress(1)
    for table in review.tables:
        write_table(wb, table, review.currency, progress)
    wb.save(out)
