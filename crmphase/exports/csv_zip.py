"""The monthly review as a zip of CSV files, one per sheet, UTF-8 with a BOM.

The BOM makes Excel read the files as UTF-8. Texts that a spreadsheet could run as
formulas get a leading apostrophe (OWASP); numbers are written plainly (a negative
amount stays ``-12.50``), percentages in percentage points, periods as ``YYYY-MM``.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import IO

from crmphase.exports import rules
from crmphase.exports.loaders import MonthlyReview
from crmphase.exports.rules import Column
from crmphase.exports.safe import csv_text
from crmphase.periods import Period

BOM = "\ufeff"

Progress = Callable[[int], None]


def csv_value(value, kind: str = rules.TEXT) -> str:
    """One value as CSV text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return csv_text(value)
    if isinstance(value, Period):
        return str(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        if kind in (rules.MONEY, rules.PCT):
            return f"{value:.2f}"
        return format(value.normalize(), "f")
    return str(value)


def write_csv(
    archive: zipfile.ZipFile,
    name: str,
    columns: tuple[Column, ...],
    rows: Iterable[tuple],
    progress: Progress | None = None,
) -> int:
    count = 0
    with archive.open(name, "w") as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        text.write(BOM)
        writer = csv.writer(text, dialect="excel")
        writer.writerow([csv_text(c.header) for c in columns])
        for values in rows:
            writer.writerow([csv_value(v, c.kind) for v, c in zip(values, columns, strict=True)])
            count += 1
            if progress and count % 500 == 0:
                progress(500)
        text.flush()
        text.detach()
    if progress and count % 500:
        progress(count % 500)
    return count


def write_zip(review: MonthlyReview, out: IO[bytes] | str, progress: Progress | None = None):
    """Write ``summary.csv``, ``roi_trend.csv`` and one CSV per detail sheet into a zip."""
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        summary = rules.summary_rows(review.portfolio, review.programs)
        write_csv(archive, "summary.csv", rules.SUMMARY_COLUMNS, summary)
        write_csv(archive, "roi_trend.csv", rules.TREND_COLUMNS, rules.trend_rows(review.trend))
        if progress:
            progress(1)
        for table in review.tables:
            write_csv(archive, f"{table.slug}.csv", table.columns, table.rows(), progress)
