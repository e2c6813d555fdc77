"""Storing monthly reviews: files in the export folder, ExportFile rows, audit, errors."""

import hashlib
from pathlib import Path

import pytest
import sqlalchemy as sa

from crmphase.audit.models import Event
from crmphase.errors import ValidationFailed
from crmphase.exports.loaders import stored_path
from crmphase.exports.models import ExportFile
from crmphase.exports.services import ExportError, export_filename, store_monthly_review
from crmphase.periods import Period


@pytest.fixture
def export_dir(app, tmp_path):
    folder = tmp_path / "exports"
    previous = app.config["CRMPHASE_EXPORT_DIR"]
    app.config["CRMPHASE_EXPORT_DIR"] = str(folder)
    yield folder
    app.config["CRMPHASE_EXPORT_DIR"] = previous


def test_store_builds_files_and_records_rows_with_audit(db, review_portfolio, export_dir):
    rows = store_monthly_review("2026-03", formats=("xlsx", "html", "csv"))
    assert [r.format for r in rows] == ["xlsx", "html", "csv"]
    for row in rows:
        path = export_dir / row.filename
        assert path.is_file()
        assert row.period == "2026-03" and row.source == "schedule"
        assert row.size_bytes == path.stat().st_size > 0
        assert row.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
        assert stored_path(row) == path.resolve()
    assert rows[0].filename == "crmphase-monthly-review-2026-03.xlsx"
    assert rows[2].filename == "crmphase-monthly-review-2026-03.csv.zip"
    assert not [p for p in export_dir.iterdir() if p.name.endswith(".part")]
    events = db.session.scalars(sa.select(Event).where(Event.subject_type == "export_file")).all()
    assert sorted(e.action for e in events) == ["export.built"] * 3
    assert all(e.actor_id is None for e in events)


def test_rebuild_replaces_the_file_and_updates_the_row(
    db, review_portfolio, export_dir, make_user, make_snapshot
):
    first = store_monthly_review("2026-03", formats=["xlsx"])[0]
    first_id, first_sha = first.id, first.sha256
    crmo = make_user("crmo")
    make_snapshot(review_portfolio.projects[0], "2025-12", cost="1")  # no change to 03
    review_portfolio.snapshots[-1].actual_cumulative_cost += 1  # changes the 2026-03 figures
    db.session.commit()
    again = store_monthly_review("2026-03", formats=["xlsx"], source="manual", actor=crmo)[0]
    assert again.id == first_id
    assert again.sha256 != first_sha
    assert again.source == "manual" and again.created_by_id == crmo.id
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ExportFile)) == 1
    assert [p.name for p in export_dir.iterdir()] == [export_filename(Period(2026, 3), "xlsx")]
    rebuilt = db.session.scalars(sa.select(Event).where(Event.action == "export.rebuilt")).one()
    assert rebuilt.actor_id == crmo.id
    assert rebuilt.before["sha256"] == first_sha and rebuilt.after["sha256"] == again.sha256


def test_duplicate_rows_from_a_race_are_merged(db, review_portfolio, export_dir, make_export_file):
    for _ in range(2):
        make_export_file("2026-03", "html", filename="x.html")
    store_monthly_review("2026-03", formats=["html"])
    rows = db.session.scalars(sa.select(ExportFile)).all()
    assert [(r.period, r.format, r.filename) for r in rows] == [
        ("2026-03", "html", "crmphase-monthly-review-2026-03.html")
    ]


def test_unwritable_folder_raises_export_error_naming_it(db, review_clock, export_dir, monkeypatch):
    export_dir.mkdir()
    # The suite may run as root, which writes anywhere: ask the permission check itself.
    monkeypatch.setattr("crmphase.exports.services.os.access", lambda path, mode: False)
    with pytest.raises(ExportError) as caught:
        store_monthly_review("2026-03")
    assert str(export_dir) in caught.value.detail
    assert caught.value.status == 503
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ExportFile)) == 0


def test_a_failing_write_raises_export_error_and_leaves_no_part_file(
    db, review_clock, export_dir, monkeypatch
):
    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("crmphase.exports.services.build_monthly_review", disk_full)
    with pytest.raises(ExportError) as caught:
        store_monthly_review("2026-03", formats=["xlsx"])
    assert "No space left on device" in caught.value.detail
    assert str(export_dir) in caught.value.detail
    assert list(export_dir.iterdir()) == []


def test_folder_that_cannot_be_created_raises_export_error(app, db, review_clock, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    previous = app.config["CRMPHASE_EXPORT_DIR"]
    app.config["CRMPHASE_EXPORT_DIR"] = str(blocker / "exports")
    try:
        with pytest.raises(ExportError) as caught:
            store_monthly_review("2026-03")
    finally:
        app.config["CRMPHASE_EXPORT_DIR"] = previous
    assert str(blocker / "exports") in caught.value.detail
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ExportFile)) == 0


@pytest.mark.parametrize(
    ("period", "formats", "field"),
    [
        ("2026-04", ["xlsx"], "period"),  # the current period is not over
        ("2026-09", ["xlsx"], "period"),
        ("2026-13", ["xlsx"], "period"),
        ("March", ["xlsx"], "period"),
        ("2026-03", ["pdf"], "format"),
        ("2026-03", [], "formats"),
    ],
)
def test_refuses_what_cannot_be_built(db, review_clock, export_dir, period, formats, field):
    with pytest.raises(ValidationFailed) as caught:
        store_monthly_review(period, formats=formats)
    assert caught.value.errors[0].field == field
    assert not export_dir.exists() or not list(export_dir.iterdir())


def test_stored_path_never_leaves_the_export_folder(db, review_portfolio, export_dir):
    row = store_monthly_review("2026-03", formats=["html"])[0]
    secret = export_dir.parent / "secret.txt"
    secret.write_text("no")
    row.filename = "../secret.txt"
    assert stored_path(row) is None
    row.filename = "missing.html"
    assert stored_path(row) is None
    row.filename = str(Path(secret).resolve())
    assert stored_path(row) is None
