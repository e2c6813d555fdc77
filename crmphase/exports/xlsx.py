"""The monthly review as one XLSX workbook, written by XlsxWriter in ``constant_memory`` mode.

Rows go to disk as they come (XlsxWriter keeps only the current row), so memory stays
bounded whatever the size of the portfolio. Cells are typed: money and numbers are
numeric with number formats, percentages are Excel percentages, dates and periods are
dates. Texts that a spreadsheet could run as formulas are written as inert text. Every
sheet prints landscape, one page wide, with its header row repeated on each page.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any

from xlsxwriter import Workbook
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from crmphase.exports import rules
from crmphase.exports.loaders import MonthlyReview
from crmphase.exports.rules import Column, Table
from crmphase.exports.safe import is_plain_text, xlsx_text
from crmphase.periods import Period

HEADER_STYLE = {
    "bold": True,
    "font_color": "#FFFFFF",
    "bg_color": "#14213D",
    "pattern": 1,
    "text_wrap": True,
    "valign": "vcenter",
}
TITLE_STYLE = {"bold": True, "font_size": 14}
HUNDRED = Decimal(100)

DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
PERIOD_FORMAT = "yyyy-mm"
PERCENT_FORMAT = "0.00%"
INT_FORMAT = "#,##0"
NUMBER_FORMAT = "#,##0.######"

PLAIN_TEXTS_KEPT = 4096

# Charts are sized as the workbook has always drawn them: 16 cm by 8 cm.
CHART_SIZE = {"width": 605, "height": 302}

Progress = Callable[[int], None]
CellWriter = Callable[[int, int, Any], object]

# The exact types of the writers' fast paths: bool (an int) reads as yes/no, and an aware
# datetime is refused by XlsxWriter, so both take the general path.
_NUMBER_TYPES = frozenset({int, float, Decimal})
_DAY_TYPES = frozenset({Period, date})


_EXCEL_EPOCH = datetime(1899, 12, 30)
_DAY_SECONDS = 86400


def excel_serial(value: date | datetime) -> float:
    """The Excel serial (1900 date system) of a date or a naive datetime: days since
    1899-12-30, with the time of day as a fraction. Excel counts a 29 February 1900 that
    never was, so the days before 1 March 1900 are one less. What ``write_datetime``
    stores, computed here so that a sheet's many repeated periods are converted once."""
    moment = value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)
    delta = moment - _EXCEL_EPOCH
    days = delta.days if delta.days >= 61 else delta.days - 1
    seconds = delta.seconds + delta.microseconds / 1e6
    return days + seconds / _DAY_SECONDS if seconds else float(days)


def money_format(currency: str) -> str:
    """A currency number format; the code is kept to letters so it cannot break out."""
    code = re.sub(r"[^A-Za-z]", "", currency)[:3] or "EUR"
    return f'#,##0.00 "{code}";-#,##0.00 "{code}"'


def is_rich_text_markup(text: str) -> bool:
    """Whether XlsxWriter would take ``text`` for the XML of a rich string: in
    ``constant_memory`` mode it writes a string that starts with ``<r>`` and ends with
    ``</r>`` into the file unescaped, so a typed name could end the cell and add a
    formula of its own. Such a text is written as a rich string of escaped runs."""
    return text.startswith("<r>") and text.endswith("</r>")


def new_workbook(out: IO[bytes] | str) -> Workbook:
    """A workbook that streams its rows (``constant_memory``) into ``out``, a path or a
    binary file object. Cells are only ever written by type (``write_string``,
    ``write_number``...), never by XlsxWriter's guessing ``write``; its guesses are off all
    the same, so that no text ever becomes a formula, a link or a number."""
    return Workbook(
        out,
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )


class Styles:
    """The cell formats of one workbook, by column kind, bold and inert text."""

    def __init__(self, wb: Workbook, currency: str):
        self.wb = wb
        self.number_formats = {
            rules.MONEY: money_format(currency),
            rules.PCT: PERCENT_FORMAT,
            rules.INT: INT_FORMAT,
            rules.NUMBER: NUMBER_FORMAT,
            rules.DATE: DATE_FORMAT,
            rules.DATETIME: DATETIME_FORMAT,
            rules.PERIOD: PERIOD_FORMAT,
        }
        self._formats: dict[tuple, Format | None] = {}
        self.header = wb.add_format(HEADER_STYLE)
        self.title = wb.add_format(TITLE_STYLE)
        self.run = wb.add_format()  # a run of a rich string in the default font

    def get(
        self, number_format: str | None = None, *, bold: bool = False, inert: bool = False
    ) -> Format | None:
        """The format of a cell; None for a plain one."""
        key = (number_format, bold, inert)
        if key not in self._formats:
            properties: dict[str, object] = {}
            if number_format:
                properties["num_format"] = number_format
            if bold:
                properties["bold"] = True
            if inert:
                # Excel keeps a quote-prefixed cell text even when someone edits it.
                properties["quote_prefix"] = True
            self._formats[key] = self.wb.add_format(properties) if properties else None
        return self._formats[key]

    def of_kind(self, kind: str, *, bold: bool = False) -> Format | None:
        return self.get(self.number_formats.get(kind), bold=bold)


class SheetWriter:
    """Turns plain values into typed (and, for texts, safe) cells of one worksheet."""

    def __init__(self, ws: Worksheet, styles: Styles):
        self.ws = ws
        self.styles = styles
        self.row = 0  # the next row to write (0-based)

    # --- one value -------------------------------------------------------------------

    def text(self, row: int, col: int, value: str, *, bold: bool = False) -> None:
        clean, inert = xlsx_text(value)
        style = self.styles.get(bold=bold, inert=inert)
        if is_rich_text_markup(clean):
            plain = self.styles.get(bold=bold) or self.styles.run
            args: list = [clean[:1], plain, clean[1:]]
            if style is not None:
                args.append(style)
            self.ws.write_rich_string(row, col, *args)
        else:
            self.ws.write_string(row, col, clean, style)

    def value(self, row: int, col: int, value, kind: str, *, bold: bool = False) -> None:
        """Any value as its cell: the general path (the headline row, odd types)."""
        if value is None:
            return
        if isinstance(value, str):
            self.text(row, col, value, bold=bold)
            return
        if isinstance(value, bool):
            self.text(row, col, "yes" if value else "no", bold=bold)
            return
        if isinstance(value, Period):
            value = value.first_day
        elif kind == rules.PCT:
            value = Decimal(value) / HUNDRED
        number_format = self.styles.number_formats.get(kind)
        if isinstance(value, date):
            if number_format is None:
                number_format = DATETIME_FORMAT if isinstance(value, datetime) else DATE_FORMAT
            self.ws.write_datetime(row, col, value, self.styles.get(number_format, bold=bold))
        elif isinstance(value, int | float | Decimal):
            self.ws.write_number(row, col, value, self.styles.get(number_format, bold=bold))
        else:
            raise TypeError(f"a {type(value).__name__} cannot go into a spreadsheet cell")

    # --- rows ------------------------------------------------------------------------

    def append(self, values: Iterable = (), columns: tuple[Column, ...] | None = None, **style):
        """One row through the general path (see :meth:`row_writer` for many rows);
        without ``columns`` every value is text."""
        for col, value in enumerate(values):
            kind = columns[col].kind if columns else rules.TEXT
            self.value(self.row, col, value, kind, **style)
        self.row += 1

    def title(self, text: str) -> None:
        self.ws.write_string(self.row, 0, xlsx_text(text)[0], self.styles.title)
        self.row += 1

    def header(self, columns: tuple[Column, ...]) -> int:
        """The header row of ``columns``; returns its (0-based) row."""
        for col, column in enumerate(columns):
            self.ws.write_string(self.row, col, xlsx_text(column.header)[0], self.styles.header)
        self.row += 1
        return self.row - 1

    def row_writer(self, columns: tuple[Column, ...]) -> Callable[[tuple], None]:
        """A function that appends a row of ``columns``' values, for many rows.

        The kind of each column is looked at once, not once a cell: each column gets a
        writer for its usual type; a value of another type takes :meth:`value`."""
        writers = [self._writer(column.kind) for column in columns]

        def append(values: tuple) -> None:
            row = self.row
            for col, (write, value) in enumerate(zip(writers, values, strict=True)):
                if value is not None:
                    write(row, col, value)
            self.row = row + 1

        return append

    def _writer(self, kind: str) -> CellWriter:
        general = self.value
        ws = self.ws
        if kind not in self.styles.number_formats:  # texts (and yes/no)
            write_string = ws.write_string
            # Names, units, states and owners repeat from row to row: a text found plain
            # once is not looked at again (the set is emptied now and then, so that a
            # column of unique notes does not grow it without end).
            plain: set[str] = set()

            def text(row, col, value):
                if value in plain:
                    return write_string(row, col, value)
                if (
                    value.__class__ is str
                    and is_plain_text(value)
                    and not is_rich_text_markup(value)
                ):
                    if len(plain) >= PLAIN_TEXTS_KEPT:
                        plain.clear()
                    plain.add(value)
                    return write_string(row, col, value)
                return general(row, col, value, kind)

            return text

        style = self.styles.of_kind(kind)
        write_number = ws.write_number
        if kind == rules.PCT:

            def percent(row, col, value):
                if value.__class__ is Decimal:
                    return write_number(row, col, float(value / HUNDRED), style)
                return general(row, col, value, kind)

            return percent

        if kind in (rules.DATE, rules.DATETIME, rules.PERIOD):
            serials: dict[Period | date, float] = {}  # a sheet repeats few periods and days

            def moment(row, col, value):
                if value.__class__ in _DAY_TYPES:
                    serial = serials.get(value)
                    if serial is None:
                        day = value.first_day if value.__class__ is Period else value
                        serial = serials[value] = excel_serial(day)
                    return write_number(row, col, serial, style)
                if value.__class__ is datetime and value.tzinfo is None:
                    return write_number(row, col, excel_serial(value), style)
                return general(row, col, value, kind)

            return moment

        def number(row, col, value):
            if value.__class__ is Decimal:
                # A double is all a cell holds; XlsxWriter would convert the Decimal
                # twice to check it and then format it as a Decimal, which costs more.
                return write_number(row, col, float(value), style)
            if value.__class__ in _NUMBER_TYPES:
                return write_number(row, col, value, style)
            return general(row, col, value, kind)

        return number

    # --- the sheet -------------------------------------------------------------------

    def lay_out(self, columns: tuple[Column, ...], *, header_row: int, frozen: tuple[int, int]):
        """Column widths, frozen panes, and the print settings: landscape, one page wide,
        ``header_row`` repeated on every printed page."""
        for col, column in enumerate(columns):
            self.ws.set_column(col, col, column.display_width)
        self.ws.freeze_panes(*frozen)
        self.ws.set_landscape()
        self.ws.fit_to_pages(1, 0)
        self.ws.repeat_rows(header_row)

    def filter(self, columns: tuple[Column, ...], header_row: int, last_row: int) -> None:
        self.ws.autofilter(header_row, 0, last_row, len(columns) - 1)


def write_table(wb: Workbook, table: Table, currency: str, progress: Progress | None) -> int:
    """Stream one detail table into a new sheet; return the number of rows written."""
    sheet = SheetWriter(wb.add_worksheet(table.title), Styles(wb, currency))
    # The header row, and Program and Project, stay in view.
    sheet.lay_out(table.columns, header_row=0, frozen=(1, 2))
    sheet.header(table.columns)
    append = sheet.row_writer(table.columns)
    count = 0
    for values in table.rows():
        append(values)
        count += 1
        if progress and count % 500 == 0:
            progress(500)
    if progress and count % 500:
        progress(count % 500)
    sheet.filter(table.columns, 0, count)
    return count


def _summary(wb: Workbook, review: MonthlyReview) -> None:
    columns = rules.SUMMARY_COLUMNS
    sheet = SheetWriter(wb.add_worksheet("Summary"), Styles(wb, review.currency))
    sheet.lay_out(columns, header_row=3, frozen=(4, 1))
    sheet.title(f"Monthly ROI review {review.period}")
    sheet.append(
        [
            f"Generated {review.generated_at:%Y-%m-%d %H:%M} ({review.timezone}). "
            f"Amounts in {review.currency}, cumulative to the end of {review.period}. "
            "Coverage = measured due KPI-periods / due KPI-periods."
        ]
    )
    sheet.append()
    header = sheet.header(columns)  # row 4
    rows = rules.summary_rows(review.portfolio, review.programs)
    sheet.append(rows[0], columns, bold=True)  # row 5: the portfolio headline
    append = sheet.row_writer(columns)
    for values in rows[1:]:
        append(values)
    sheet.filter(columns, header, sheet.row - 1)
    if not review.programs:
        sheet.append()
        sheet.append(["No ROI snapshots for this period: run the roi_snapshot job."])
        return
    sheet.append()
    sheet.append([f"ROI trend, last {rules.TREND_MONTHS} months"], bold=True)
    trend_header = sheet.header(rules.TREND_COLUMNS)
    append = sheet.row_writer(rules.TREND_COLUMNS)
    for values in rules.trend_rows(review.trend):
        append(values)
    _charts(wb, sheet, trend_header, sheet.row - 1, review.currency)


def _charts(wb: Workbook, sheet: SheetWriter, header: int, last: int, currency: str) -> None:
    """A line chart of portfolio ROI % and a column chart of cost against benefit, both
    reading the trend table (0-based rows ``header`` to ``last``), placed below it. The
    month labels sit at the bottom of each chart, below any negative value."""
    name = sheet.ws.get_name()
    first = header + 1

    def series(chart, col: int) -> None:
        chart.add_series(
            {
                "name": [name, header, col],
                "categories": [name, first, 0, last, 0],
                "values": [name, first, col, last, col],
            }
        )

    months_axis = {"num_format": PERIOD_FORMAT, "label_position": "low"}
    anchor = last + 3

    roi = wb.add_chart({"type": "line"})
    series(roi, 1)
    series(roi, 2)
    roi.set_title({"name": "Portfolio ROI % (actual and plan)"})
    roi.set_y_axis({"name": "ROI", "num_format": "0%"})
    roi.set_x_axis(months_axis)
    roi.set_size(CHART_SIZE)
    sheet.ws.insert_chart(anchor, 0, roi)

    money = wb.add_chart({"type": "column"})
    series(money, 3)
    series(money, 4)
    money.set_title({"name": f"Cumulative cost against benefit ({currency})"})
    money.set_y_axis({"num_format": "#,##0"})
    money.set_x_axis(months_axis)
    money.set_size(CHART_SIZE)
    sheet.ws.insert_chart(anchor, 7, money)


def write_workbook(review: MonthlyReview, out: IO[bytes] | str, progress: Progress | None = None):
    """Write the whole review to ``out`` (a path or a binary file object)."""
    with new_workbook(out) as wb:
        wb.set_properties({"title": f"Monthly ROI review {review.period}", "author": "crmphase"})
        _summary(wb, review)
        if progress:
            progress(1)
        for table in review.tables:
            write_table(wb, table, review.currency, progress)
