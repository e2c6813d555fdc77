#!/usr/bin/env python
"""In-process measurements that ``bench/run.py`` runs in a subprocess of their own, so that
each has a clean process (peak memory) and app start-up stays out of the figure.

    probe.py history  --through P --months N     roi_snapshot for the N periods before P
    probe.py job      --period P --repeat 3      roi_snapshot for P, timed
    probe.py job-floor --engine E --target T --period P --repeat 3
    probe.py export   --period P --out FILE      the monthly XLSX review, timed, peak RSS
    probe.py export-floor --engine E --target T --period P --out FILE

Each prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def peak_rss_mb() -> float:
    """The process's peak resident memory (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _app():
    from crmphase import create_app

    return create_app()


def _forget_run(period: str) -> None:
    """Remove the roi_snapshot rows and run records of ``period`` so it runs afresh."""
    import sqlalchemy as sa

    from crmphase.extensions import db

    db.session.execute(sa.text("DELETE FROM roi_snapshots WHERE period = :p"), {"p": period})
    db.session.execute(
        sa.text(
            "DELETE FROM job_attempts WHERE job_run_id IN (SELECT id FROM job_runs "
            "WHERE job_name = 'roi_snapshot' AND period = :p)"
        ),
        {"p": period},
    )
    db.session.execute(
        sa.text("DELETE FROM job_runs WHERE job_name = 'roi_snapshot' AND period = :p"),
        {"p": period},
    )
    db.session.commit()


def _run_snapshot(period: str) -> int:
    from crmphase.jobs.services import run_job

    result = run_job("roi_snapshot", period, trigger="cli", deliver=False)
    if not (result.ran and result.run.outcome == "succeeded"):
        raise SystemExit(f"roi_snapshot {period}: {result.message}")
    return result.run.rows_written


def history(args) -> dict:
    """The scheduler's past: snapshots for the months before ``--through``.

    ``--mode job`` runs roi_snapshot for each month (exact, slow at size L); ``--mode copy``
    (the default) copies the snapshots of ``--through`` to each earlier month: the same
    number of rows per month as the job writes, which is what the readers' cost depends on.
    """
    import sqlalchemy as sa

    from crmphase.extensions import db
    from crmphase.metrics.models import RoiSnapshot
    from crmphase.metrics.services import refresh_snapshot_totals
    from crmphase.periods import Period

    app = _app()
    last = Period.parse(args.through)
    started = time.perf_counter()
    rows = 0
    with app.app_context():
        if args.mode == "job":
            for offset in range(args.months, 0, -1):
                rows += _run_snapshot(str(last.shift(-offset)))
        else:
            table = RoiSnapshot.__table__
            columns = [c.name for c in table.columns if c.name not in ("id", "period")]
            for offset in range(args.months, 0, -1):
                period = str(last.shift(-offset))
                db.session.execute(table.delete().where(table.c.period == period))
                source = sa.select(*(table.c[name] for name in columns), sa.literal(period)).where(
                    table.c.period == str(last)
                )
                db.session.execute(table.insert().from_select([*columns, "period"], source))
                rows += db.session.scalar(
                    sa.select(sa.func.count()).select_from(table).where(table.c.period == period)
                )
                refresh_snapshot_totals([period])
            db.session.commit()
            with db.engine.connect() as connection:
                connection.exec_driver_sql("ANALYZE roi_snapshots")
                connection.exec_driver_sql("ANALYZE roi_snapshot_totals")
                connection.commit()
    return {"seconds": time.perf_counter() - started, "rows": rows}


def job(args) -> dict:
    app = _app()
    seconds, rows = [], 0
    with app.app_context():
        for _ in range(args.repeat):
            _forget_run(args.period)
            started = time.perf_counter()
            rows = _run_snapshot(args.period)
            seconds.append(time.perf_counter() - started)
    return {"seconds": seconds, "rows": rows}


def job_floor(args) -> dict:
    """The job's floor: the period's snapshots computed and written by one set-based
    ``INSERT ... SELECT`` and its stored sums by three more (``floor_sql.snapshot_floor``),
    each run in a transaction that starts by removing the period's snapshots (not timed)
    and is rolled back, so the job's own rows stay for the figures after it."""
    from bench import floor_sql

    raw = floor_sql.Raw(args.engine, args.target)
    timezone = os.environ.get("CRMPHASE_TIMEZONE", "UTC")
    seconds, rows = [], 0
    try:
        for _ in range(args.repeat):
            raw.execute("BEGIN")
            raw.execute("DELETE FROM roi_snapshots WHERE period = :period", period=args.period)
            started = time.perf_counter()
            floor_sql.write_snapshots_floor(raw, args.period, timezone)
            seconds.append(time.perf_counter() - started)
            rows = raw.value(
                "SELECT COUNT(*) FROM roi_snapshots WHERE period = :period", period=args.period
            )
            raw.execute("ROLLBACK")
    finally:
        raw.close()
    return {"seconds": seconds, "rows": rows}


def export(args) -> dict:
    app = _app()
    with app.app_context():
        from crmphase.exports.services import build_monthly_review
        from crmphase.periods import Period

        period = Period.parse(args.period)
        started = time.perf_counter()
        with open(args.out, "wb") as handle:
            build_monthly_review(period, "xlsx", handle)
        seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "peak_rss_mb": peak_rss_mb(),
        "bytes": Path(args.out).stat().st_size,
    }


def export_floor(args) -> dict:
    """The same rows as the export, read with the driver and written by XlsxWriter in
    ``constant_memory`` mode as they come: no formats, no conversions, no charts."""
    from xlsxwriter import Workbook

    from bench import floor_sql

    raw = floor_sql.Raw(args.engine, args.target)
    try:
        started = time.perf_counter()
        # Texts stay texts, as in the export (XlsxWriter's write() would otherwise look
        # at each one for a formula, a link or a number).
        workbook = Workbook(
            args.out,
            {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False},
        )
        rows = 0
        details: dict = {}  # kpi id: its entry in the snapshot
        for title, (sql, params) in floor_sql.export_sheets(args.engine, args.period):
            if title is None:
                for (text,) in raw.stream(sql, **params):
                    for entry in json.loads(text) or ():
                        details[entry.get("kpi_id")] = entry
                continue
            sheet = workbook.add_worksheet(title)
            for index, row in enumerate(raw.stream(sql, **params)):
                if title == "KPIs":  # the KPI's figures from its entry, before the owner
                    entry = details.get(row[0], {})
                    figures = [entry.get(key) for key in floor_sql.KPI_DETAILS]
                    row = (*row[1:-1], *figures[:3], figures[3] or "no_data", row[-1])
                sheet.write_row(index, 0, row)
                rows += 1
        workbook.close()
        seconds = time.perf_counter() - started
    finally:
        raw.close()
    return {
        "seconds": seconds,
        "rows": rows,
        "peak_rss_mb": peak_rss_mb(),
        "bytes": Path(args.out).stat().st_size,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("history")
    p.add_argument("--through", required=True)
    p.add_argument("--months", type=int, required=True)
    p.add_argument("--mode", choices=("copy", "job"), default="copy")
    p = commands.add_parser("job")
    p.add_argument("--period", required=True)
    p.add_argument("--repeat", type=int, default=3)
    p = commands.add_parser("job-floor")
    for name in ("--engine", "--target", "--period"):
        p.add_argument(name, required=True)
    p.add_argument("--repeat", type=int, default=3)
    p = commands.add_parser("export")
    p.add_argument("--period", required=True)
    p.add_argument("--out", required=True)
    p = commands.add_parser("export-floor")
    for name in ("--engine", "--target", "--period", "--out"):
        p.add_argument(name, required=True)
    args = parser.parse_args()
    handler = {
        "history": history,
        "job": job,
        "job-floor": job_floor,
        "export": export,
        "export-floor": export_floor,
    }[args.command]
    print(json.dumps(handler(args)))


if __name__ == "__main__":
    main()
