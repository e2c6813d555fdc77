"""Factories of the exports domain."""

from __future__ import annotations

from crmphase.models import ExportFile

from .base import fixture_of, save


def make_export_file(period: str = "2026-03", format: str = "html", **fields) -> ExportFile:
    """``make_export_file("2026-02", "xlsx", filename="gone.xlsx")``: the record of a kept
    export whose file is not written.

    A direct row: ``exports.services.store_monthly_review`` builds and writes the file; the
    tests of missing files and of merged duplicates need records without (or beside) one.
    """
    fields.setdefault("filename", f"review-{period}.{format}")
    return save(ExportFile(period=period, format=format, **fields))


make_export_file_fixture = fixture_of(make_export_file)
