"""``flask export monthly-review``: a file for operators, with a progress bar."""

import openpyxl
import pytest

from .conftest import read_csv_zip


def run(runner, *args):
    return runner.invoke(args=["export", "monthly-review", *args])


@pytest.mark.parametrize("fmt", ["xlsx", "csv", "html"])
def test_writes_the_review_in_each_format(review_portfolio, runner, tmp_path, fmt):
    out = tmp_path / f"review.{fmt}"
    result = run(runner, "--period", "2026-03", "--format", fmt, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert f"Monthly review 2026-03 ({fmt})" in result.output  # the progress bar's label
    assert f"wrote {out}" in result.output
    if fmt == "xlsx":
        assert openpyxl.load_workbook(out)["Projects"].max_row == 4
    elif fmt == "csv":
        assert len(read_csv_zip(out.read_bytes())["projects.csv"]) == 4
    else:
        assert "Campaign management" in out.read_text(encoding="utf-8")
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no .part file left


def test_period_defaults_to_last_month(review_portfolio, runner, tmp_path):
    out = tmp_path / "r.xlsx"
    result = run(runner, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "Monthly review 2026-03 (xlsx)" in result.output


@pytest.mark.parametrize(
    ("period", "message"),
    [("2026-3", "write YYYY-MM"), ("2026-04", "is not over yet"), ("2030-01", "not over yet")],
)
def test_bad_period_is_a_clear_error(review_clock, runner, tmp_path, period, message):
    out = tmp_path / "r.xlsx"
    result = run(runner, "--period", period, "--out", str(out))
    assert result.exit_code == 2
    assert "--period" in result.output and message in result.output
    assert not out.exists()


def test_unwritable_out_is_a_clear_error(review_clock, runner, tmp_path):
    result = run(runner, "--period", "2026-03", "--out", str(tmp_path / "no" / "such" / "r.xlsx"))
    assert result.exit_code == 2
    assert "--out" in result.output and "does not exist or is not writable" in result.output
    result = run(runner, "--period", "2026-03", "--out", str(tmp_path))  # a folder
    assert result.exit_code == 2


def test_unknown_format_is_refused(review_clock, runner, tmp_path):
    result = run(runner, "--format", "pdf", "--out", str(tmp_path / "r.pdf"))
    assert result.exit_code == 2 and "'pdf' is not one of" in result.output


@pytest.mark.parametrize("fmt", ["xlsx", "csv", "html"])
def test_progress_adds_up_to_the_announced_steps(review_portfolio, app, fmt):
    import io

    from crmphase.exports.loaders import review_steps
    from crmphase.exports.services import build_monthly_review
    from crmphase.periods import Period

    period = Period(2026, 3)
    done: list[int] = []
    build_monthly_review(period, fmt, io.BytesIO(), progress=done.append)
    assert sum(done) == review_steps(period, fmt) > 1
