"""Helpers to build an export in memory and open it like a person's spreadsheet would."""

import csv
import io
import zipfile

import pytest

from crmphase.periods import Period


@pytest.fixture
def build_export(app, db):
    """``build_export("xlsx", "2026-03")`` → the file's bytes."""
    from crmphase.exports.services import build_monthly_review

    def build(fmt: str, period: str = "2026-03") -> bytes:
        buffer = io.BytesIO()
        build_monthly_review(Period.parse(period), fmt, buffer)
        return buffer.getvalue()

    return build


@pytest.fixture
def open_workbook(build_export):
    """``open_workbook()`` → the review's workbook, loaded by openpyxl."""
    import openpyxl

    def load(period: str = "2026-03"):
        return openpyxl.load_workbook(io.BytesIO(build_export("xlsx", period)))

    return load


def read_csv_zip(data: bytes) -> dict[str, list[list[str]]]:
    """``{file name: rows}``; asserts each file starts with the UTF-8 BOM."""
    files = {}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            raw = archive.read(name)
            assert raw.startswith(b"\xef\xbb\xbf"), name
            files[name] = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    return files


@pytest.fixture
def open_csv_zip(build_export):
    def load(period: str = "2026-03"):
        return read_csv_zip(build_export("csv", period))

    return load


def records(ws, header_row: int = 1) -> list[dict]:
    """A sheet's table as dicts keyed by header (rows until the first empty one)."""
    rows = ws.iter_rows(min_row=header_row, values_only=True)
    headers = next(rows)
    result = []
    for row in rows:
        if all(v is None for v in row):
            break
        result.append(dict(zip(headers, row, strict=False)))
    return result
