"""Building monthly review exports, keeping them in the export folder, and sending them.

``build_monthly_review`` writes one format to a file object (the API and the CLI use it);
``store_monthly_review`` builds files into ``CRMPHASE_EXPORT_DIR`` and records an
:class:`ExportFile` for each (the exports page uses it); ``send_monthly_review`` is the
scheduled ``monthly_review_export`` job: it stores the review and sends it to the steering
committee (each program's steering members) and the CRMO (SPEC §2).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO

import sqlalchemy as sa

from crmphase import clock
from crmphase.audit.services import record_event
from crmphase.errors import DomainError, ValidationFailed
from crmphase.exports import csv_zip, html, xlsx
from crmphase.exports.loaders import export_dir, monthly_review, review_recipients
from crmphase.exports.models import EXPORT_FORMATS, ExportFile
from crmphase.extensions import db
from crmphase.integrations.services import announce_export
from crmphase.jobs.definition import JobContext
from crmphase.notifications.services import Draft, app_link, queue
from crmphase.periods import Period, PeriodError

SOURCES = ("schedule", "manual")
SCHEDULED_FORMATS = ("xlsx", "html")
CONTENT_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "application/zip",
    "html": "text/html; charset=utf-8",
}
EXTENSIONS = {"xlsx": "xlsx", "csv": "csv.zip", "html": "html"}

Progress = Callable[[int], None]


class ExportError(DomainError):
    """The export could not be written (the folder is missing, full or read-only)."""

    status = 503
    title = "Export not written"


def parse_period(value) -> Period:
    """A ``YYYY-MM`` text (or a Period) as a Period; a field error on ``period`` if not."""
    if isinstance(value, Period):
        return value
    try:
        return Period.parse(value)
    except PeriodError as exc:
        raise ValidationFailed.one("period", str(exc)) from None


def check_reviewable(period: Period) -> Period:
    """Only a month that is over can be reviewed: its figures are final."""
    latest = clock.last_complete_period()
    if period > latest:
        raise ValidationFailed.one(
            "period",
            f"{period} is not over yet; choose a past period ({latest} or earlier)",
        )
    return period


def check_format(fmt: str) -> str:
    if fmt not in EXPORT_FORMATS:
        raise ValidationFailed.one("format", f"choose one of {', '.join(EXPORT_FORMATS)}")
    return fmt


def export_filename(period: Period, fmt: str) -> str:
    """``crmphase-monthly-review-2026-03.xlsx`` (the CSV zip ends in ``.csv.zip``)."""
    return f"crmphase-monthly-review-{period}.{EXTENSIONS[fmt]}"


def build_monthly_review(
    period: Period, fmt: str, out: IO[bytes] | str, progress: Progress | None = None
) -> None:
    """Write the review of ``period`` in ``fmt`` (xlsx, csv or html) to ``out``."""
    check_format(fmt)
    review = monthly_review(period)
    if fmt == "xlsx":
        xlsx.write_workbook(review, out, progress)
    elif fmt == "csv":
        csv_zip.write_zip(review, out, progress)
    else:
        html.write_report(review, out, progress)


def _writable_dir() -> Path:
    folder = export_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(
            f"the export folder {folder} cannot be created ({exc.strerror}); "
            "set CRMPHASE_EXPORT_DIR to a writable folder"
        ) from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ExportError(
            f"the export folder {folder} is not writable; "
            "set CRMPHASE_EXPORT_DIR to a writable folder"
        )
    return folder


def _build_file(folder: Path, period: Period, fmt: str) -> tuple[str, int, str]:
    """Build into a temporary file, then move it into place (readers never see half a
    file). Returns the file name, its size and its SHA-256."""
    name = export_filename(period, fmt)
    temporary = folder / f".{name}.{secrets.token_hex(4)}.part"
    try:
        with open(temporary, "wb") as handle:
            build_monthly_review(period, fmt, handle)
        digest = hashlib.sha256()
        with open(temporary, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 16), b""):
                digest.update(chunk)
        size = temporary.stat().st_size
        os.replace(temporary, folder / name)
    except OSError as exc:
        raise ExportError(
            f"the export {name} could not be written to {folder} ({exc.strerror})"
        ) from None
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
    return name, size, digest.hexdigest()


def _describe(row: ExportFile) -> dict:
    return {
        "period": row.period,
        "format": row.format,
        "filename": row.filename,
        "size_bytes": row.size_bytes,
        "sha256": row.sha256,
        "source": row.source,
    }


def store_monthly_review(
    period: Period | str,
    *,
    formats: Iterable[str] = ("xlsx", "html"),
    source: str = "schedule",
    actor=None,
) -> list[ExportFile]:
    """Build the review of a past ``period`` in each format into ``CRMPHASE_EXPORT_DIR``
    and record an :class:`ExportFile` per file, with an audit event.

    Idempotent per period and format: a rebuild replaces the file and updates its row.
    Raises :class:`ExportError` (503) when the folder is not writable and
    :class:`ValidationFailed` for a current or future period or an unknown format.
    """
    period = check_reviewable(parse_period(period))
    formats = list(dict.fromkeys(check_format(f) for f in formats))
    if not formats:
        raise ValidationFailed.one("formats", "choose at least one format")
    if source not in SOURCES:
        raise ValidationFailed.one("source", f"choose one of {', '.join(SOURCES)}")
    folder = _writable_dir()
    stored = []
    for fmt in formats:
        name, size, sha256 = _build_file(folder, period, fmt)
        rows = db.session.scalars(
            sa.select(ExportFile)
            .where(ExportFile.period == str(period), ExportFile.format == fmt)
            .order_by(ExportFile.id)
        ).all()
        row = rows[0] if rows else ExportFile(period=str(period), format=fmt)
        for duplicate in rows[1:]:  # two builds raced: keep one row for the one file
            db.session.delete(duplicate)
        before = _describe(row) if rows else None
        row.filename = name
        row.size_bytes = size
        row.sha256 = sha256
        row.source = source
        row.created_by_id = getattr(actor, "id", None)
        row.created_at = clock.now()
        db.session.add(row)
        db.session.flush()
        record_event(
            actor,
            "export.rebuilt" if rows else "export.built",
            "export_file",
            row.id,
            before=before,
            after=_describe(row),
        )
        stored.append(row)
    announce_export(stored)
    db.session.commit()
    return stored


def send_monthly_review(ctx: JobContext) -> int:
    """The ``monthly_review_export`` job: store the review of ``ctx.period`` (xlsx and
    html) and queue one notification per recipient, with the xlsx attached when mailed.
    Returns files stored plus notifications queued."""
    if ctx.period is None:
        raise ValueError("monthly_review_export runs for a month")
    files = store_monthly_review(
        ctx.period, formats=SCHEDULED_FORMATS, source="schedule", actor=ctx.actor
    )
    if not files:
        raise RuntimeError(f"the monthly review of {ctx.period} produced no file")
    workbook = next((f for f in files if f.format == "xlsx"), files[0])
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
            workbook.id,
            # A rerun after a correction sends the corrected review again.
            f"export:{ctx.period}:{f'a{ctx.attempt}:' if ctx.rerun else ''}{user.id}",
        )
        for user in review_recipients()
    ]
    return len(files) + len(queue(drafts))
