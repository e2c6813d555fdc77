#!/usr/bin/env python
"""The crmphase benchmark: every hot path next to its floor, measured in the same run.

    python bench/run.py --size S            # size S only, SQLite and PostgreSQL
    python bench/run.py --size L            # sizes S and L (L is compared with S)
    python bench/run.py --size L --db sqlite --markdown bench/out/table.md

For each size and engine it creates a fresh database (a SQLite file in a temporary folder;
on PostgreSQL a database of its own, dropped at the end), migrates it, fills it with
``flask bench-data``, serves the app with ``gunicorn -w 2 wsgi:app`` on loopback, and
measures. Floors: for a request, the raw SQL reading the same rows plus a trivial Flask
route through the same gunicorn; for the snapshot job, SQL writing the same rows; for the
export, XlsxWriter ``constant_memory`` of the same rows, unformatted. Prints each figure,
its floor, the ratio and PASS or FAIL against the targets; exits 1 on any FAIL. See
docs/PERFORMANCE.md. ``--figures`` measures some of the figures only (e.g.
``--figures job,history``).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import json
import os
import platform
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import floor_sql  # noqa: E402

BIN = Path(sys.executable).parent
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
SIZES = {"S": (20, 200, 60), "L": (200, 2000, 60)}
SEED = 1
SHORT_HISTORY = 30  # months of records of the history figure's second portfolio
FIGURES = ("generator", "job", "history", "export", "requests")


# --------------------------------------------------------------------------- figures


@dataclass
class Figure:
    """One line of the table: a measured value, its floor, the ratio and the verdict."""

    size: str
    engine: str
    name: str
    value: float  # the product: p50 seconds (or seconds, or MB)
    unit: str = "ms"
    p95: float | None = None
    floor: float | None = None
    floor_p95: float | None = None
    target: float | None = None  # the largest ratio (or value) allowed
    target_text: str = ""
    note: str = ""
    compare_value: bool = False  # the target applies to the value, not to a ratio

    @property
    def ratio(self) -> float | None:
        if self.floor in (None, 0):
            return None
        return self.value / self.floor

    @property
    def verdict(self) -> str:
        if self.value != self.value:  # NaN: the measurement crashed
            return "FAIL"
        if self.target is None:
            return "info"
        measured = self.value if self.compare_value else self.ratio
        if measured is None:
            return "FAIL"
        return "PASS" if measured <= self.target else "FAIL"


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "ms":
        return f"{value * 1000:,.1f} ms"
    if unit == "s":
        return f"{value:,.2f} s"
    if unit == "MB":
        return f"{value:,.0f} MB"
    return f"{value:,.2f}"


HEADER = (
    "size",
    "db",
    "figure",
    "p50 / value",
    "p95",
    "floor p50",
    "floor p95",
    "ratio",
    "target",
    "result",
)


def table_rows(figures: list[Figure]) -> list[tuple[str, ...]]:
    rows = []
    for f in figures:
        ratio = f.ratio
        rows.append(
            (
                f.size,
                f.engine,
                f.name + (f" ({f.note})" if f.note else ""),
                _fmt(f.value, f.unit),
                _fmt(f.p95, f.unit),
                _fmt(f.floor, f.unit),
                _fmt(f.floor_p95, f.unit),
                "—" if ratio is None else f"{ratio:.2f}×",
                f.target_text or "—",
                f.verdict,
            )
        )
    return rows


def print_table(figures: list[Figure], out=sys.stdout) -> None:
    rows = [HEADER, *table_rows(figures)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]
    for index, row in enumerate(rows):
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip(), file=out)
        if index == 0:
            print("  ".join("-" * w for w in widths), file=out)


def markdown_table(figures: list[Figure]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(row) + " |" for row in table_rows(figures)]
    return "\n".join(lines) + "\n"


def percentiles(samples: list[float]) -> tuple[float, float]:
    """p50 and p95 (inclusive method); one sample is both."""
    ordered = sorted(samples)
    if len(ordered) == 1:
        return ordered[0], ordered[0]
    p50 = statistics.median(ordered)
    p95 = statistics.quantiles(ordered, n=20, method="inclusive")[18]
    return p50, p95


def sample(fn: Callable[[], object], count: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return samples


def log(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- databases


@dataclass
class Database:
    engine: str
    url: str  # for the app (DATABASE_URL)
    raw_target: str  # for the floors' driver connection
    cleanup: Callable[[], None] = field(default=lambda: None)


@contextlib.contextmanager
def fresh_database(engine: str, size: str, pg_url: str, workdir: Path) -> Iterator[Database]:
    if engine == "sqlite":
        path = workdir / f"bench-{size}.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        yield Database("sqlite", f"sqlite:///{path}", str(path))
        return
    import psycopg

    name = f"crmphase_bench_{size.lower()}_{os.getpid()}_{secrets.token_hex(2)}"
    parsed = urllib.parse.urlsplit(pg_url)
    admin = pg_url
    target = urllib.parse.urlunsplit(parsed._replace(path=f"/{name}"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield Database("postgres", target, target)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def flask(args: list[str], env: dict, *, stdin: str | None = None) -> tuple[str, float]:
    """Run ``flask --app crmphase ARGS``; return its output and the seconds it took."""
    started = time.perf_counter()
    done = subprocess.run(
        [str(BIN / "flask"), "--app", "crmphase", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout, elapsed


def probe(args: list[str], env: dict) -> dict:
    """Run ``bench/probe.py ARGS`` (in-process measurements); return its JSON answer."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "probe.py"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"probe {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def gunicorn(app: str, env: dict, workers: int = 2) -> Iterator[int]:
    """Serve ``app`` with gunicorn on a free loopback port; stop it afterwards."""
    port = free_port()
    process = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "-w",
            str(workers),
            "-b",
            f"127.0.0.1:{port}",
            "--timeout",
            "300",
            "--log-level",
            "warning",
            app,
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", port), timeout=1),
            ):
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn {app} did not start")
            time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Http:
    """Plain HTTP/1.1 to loopback: one connection per request, as a browser's first hit."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, *, body=None, headers=None):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
            for name, value in response.getheaders():
                if name.lower() == "set-cookie":
                    key, _, rest = value.partition("=")
                    self.cookies[key] = rest.split(";", 1)[0]
            return response.status, data, dict(response.getheaders())
        finally:
            connection.close()

    def get(self, path: str, headers=None) -> bytes:
        status, data, _ = self.request("GET", path, headers=headers)
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}: {data[:300]!r}")
        return data

    def login(self, email: str, password: str) -> None:
        status, page, _ = self.request("GET", "/login")
        match = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page)
        form = {"email": email, "password": password}
        if match:
            form["csrf_token"] = match.group(1).decode()
        status, data, _ = self.request(
            "POST",
            "/login",
            body=urllib.parse.urlencode(form),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        if status != 302:
            raise RuntimeError(f"login as {email} failed ({status}): {data[:300]!r}")


# --------------------------------------------------------------------------- one run


@dataclass
class Context:
    """Everything a measurement needs for one size and engine (the servers, the signed-in
    clients and the heaviest project only while the requests are measured)."""

    size: str
    db: Database
    env: dict
    raw: floor_sql.Raw
    period: str
    requests: int
    warmup: int
    user_id: int = 0
    token: str = ""
    app: Http | None = None  # signed in with a session cookie
    api: Http | None = None  # no cookie; the bearer token
    floor: Http | None = None
    project_id: int = 0

    @property
    def bearer(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}

    def params(self) -> dict:
        return {
            "user_id": self.user_id,
            "token_hash": hashlib.sha256(self.token.encode()).hexdigest(),
            "project_id": self.project_id,
            **floor_sql.dashboard_params(self.period, self.env["CRMPHASE_NOW"][:10]),
        }


def request_figure(
    ctx: Context, name: str, path: str, floor: str, *, api: bool, target=None, target_text=""
) -> Figure:
    """p50/p95 of ``path`` through gunicorn, next to its floor: the raw SQL of the same
    rows plus the trivial route through the same gunicorn (p50s and p95s added).

    The three are sampled in turns (request, SQL, trivial route, request, ...) so that the
    load of the machine weighs on the product and its floor alike."""
    client, headers = (ctx.api, ctx.bearer) if api else (ctx.app, None)
    params = ctx.params()
    steps = (
        lambda: client.get(path, headers),
        lambda: floor_sql.FLOORS[floor](ctx.raw, params),
        lambda: ctx.floor.get("/ping"),
    )
    samples: list[list[float]] = [[], [], []]
    for round_ in range(ctx.warmup + ctx.requests):
        for index, step in enumerate(steps):
            started = time.perf_counter()
            step()
            if round_ >= ctx.warmup:
                samples[index].append(time.perf_counter() - started)
    p50, p95 = percentiles(samples[0])
    s50, s95 = percentiles(samples[1])
    g50, g95 = percentiles(samples[2])
    return Figure(
        ctx.size, ctx.db.engine, name, p50, "ms", p95, s50 + g50, s95 + g95, target, target_text
    )


def pick_project(raw: floor_sql.Raw) -> int:
    """The project with the most measurements: the heaviest project page there is."""
    return raw.value(
        "SELECT k.project_id FROM measurements m JOIN kpis k ON k.id = m.kpi_id "
        "GROUP BY k.project_id ORDER BY COUNT(*) DESC, k.project_id LIMIT 1"
    )


def available(module: str) -> bool:
    """Whether this build has ``module`` (targets switch on as their code arrives)."""
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def _target(at_l: bool, ratio: float) -> dict:
    if not at_l:
        return {"target": None, "target_text": ""}
    return {"target": ratio, "target_text": f"≤ {ratio:g}× floor"}


def project_targets(ctx: Context, at_l: bool) -> list[Figure]:
    """The heaviest project's page, its JSON and its ROI endpoint (≤ 3× floor at L)."""
    pid, period = ctx.project_id, ctx.period
    figures = [
        request_figure(
            ctx,
            "project page HTML",
            f"/projects/{pid}",
            "project_page",
            api=False,
            **_target(at_l, 3),
        ),
        request_figure(
            ctx,
            "project JSON",
            f"/api/v1/projects/{pid}",
            "project_api",
            api=True,
            **_target(at_l, 3),
        ),
    ]
    if available("crmphase.metrics.loaders"):
        figures.append(
            request_figure(
                ctx,
                "project ROI JSON",
                f"/api/v1/projects/{pid}/roi?period={period}",
                "project_roi",
                api=True,
                **_target(at_l, 3),
            )
        )
    return figures


def dashboard_targets(ctx: Context, at_l: bool) -> list[Figure]:
    """The dashboard page and its JSON for the period (≤ 3× floor at L)."""
    if not available("crmphase.dashboard.loaders"):
        return []
    return [
        request_figure(
            ctx,
            "dashboard JSON",
            f"/api/v1/dashboard?period={ctx.period}",
            "dashboard_api",
            api=True,
            **_target(at_l, 3),
        ),
        request_figure(
            ctx,
            "dashboard HTML",
            f"/?period={ctx.period}",
            "dashboard_page",
            api=False,
            **_target(at_l, 3),
        ),
    ]


def _floor_probe(ctx: Context, name: str, *extra: str) -> list[str]:
    """The arguments of a floor's probe: which, on what database, for the period, and more."""
    return [
        name,
        "--engine",
        ctx.db.engine,
        "--target",
        ctx.db.raw_target,
        "--period",
        ctx.period,
        *extra,
    ]


def job_targets(ctx: Context, at_l: bool, repeat: int) -> list[Figure]:
    """roi_snapshot for one period over all projects, against its floor: the same snapshot
    rows and stored sums computed and written by set-based SQL (≤ 5× at L)."""
    if not available("crmphase.metrics.services"):
        return []
    job = probe(["job", "--period", ctx.period, "--repeat", str(repeat)], ctx.env)
    floor = probe(_floor_probe(ctx, "job-floor", "--repeat", str(repeat)), ctx.env)
    value, value_p95 = percentiles(job["seconds"])
    base, base_p95 = percentiles(floor["seconds"])
    return [
        Figure(
            ctx.size,
            ctx.db.engine,
            "roi_snapshot job, one period",
            value,
            "s",
            value_p95,
            base,
            base_p95,
            note=f"{job['rows']} snapshots",
            **_target(at_l, 5),
        )
    ]


def history_targets(
    ctx: Context, at_l: bool, repeat: int, rounds: int, shorter: Database, shorter_env: dict
) -> list[Figure]:
    """roi_snapshot for the last month of the portfolio (60 months of records) against the
    same job on the same portfolio with only its last 30 months of records
    (``bench-data --history-months``): the job's cost must grow with what it writes, not
    with the history behind it (≤ 1.3× at L).

    The two run in turns, ``rounds`` times ``repeat`` runs each in a fresh process; each
    side's figure is the median of all its runs."""
    if not available("crmphase.metrics.services"):
        return []
    job_args = ["job", "--period", ctx.period, "--repeat", str(repeat)]
    longer_runs: list[float] = []
    shorter_runs: list[float] = []
    rows = {}
    for _ in range(rounds):
        for env, runs, name in ((ctx.env, longer_runs, "60"), (shorter_env, shorter_runs, "30")):
            done = probe(job_args, env)
            runs += done["seconds"]
            rows[name] = done["rows"]
    value, value_p95 = percentiles(longer_runs)
    base, base_p95 = percentiles(shorter_runs)
    shorter_raw = floor_sql.Raw(shorter.engine, shorter.raw_target)
    try:
        entries = [
            raw.value(floor_sql.MONEY_ENTRIES_THROUGH, period=ctx.period)
            for raw in (ctx.raw, shorter_raw)
        ]
    finally:
        shorter_raw.close()
    target = {"target": 1.3, "target_text": "≤ 1.3× 30 months"} if at_l else {}
    return [
        Figure(
            ctx.size,
            ctx.db.engine,
            "roi_snapshot job, 60 months of history against 30",
            value,
            "s",
            value_p95,
            base,
            base_p95,
            note=(
                f"{rows['60']} / {rows['30']} snapshots, "
                f"{entries[0]:,} / {entries[1]:,} money entries"
            ),
            **target,
        )
    ]


def export_targets(ctx: Context, at_l: bool, workdir: Path, repeat: int) -> list[Figure]:
    """The monthly XLSX review (≤ 1.5× XlsxWriter ``constant_memory`` of its rows,
    unformatted, at L; under 200 MB).

    Product and floor run ``repeat`` times in turns (product, floor, product, ...), each in
    a fresh process; the time is the median of each, the memory the highest peak of each.
    """
    if not available("crmphase.exports.xlsx"):
        return []
    out = workdir / f"review-{ctx.size}-{ctx.db.engine}.xlsx"
    floor_args = _floor_probe(ctx, "export-floor", "--out", str(out))
    products, floors = [], []
    for _ in range(repeat):
        products.append(probe(["export", "--period", ctx.period, "--out", str(out)], ctx.env))
        floors.append(probe(floor_args, ctx.env))
    product = {
        "seconds": statistics.median(p["seconds"] for p in products),
        "peak_rss_mb": max(p["peak_rss_mb"] for p in products),
    }
    floor = {
        "seconds": statistics.median(f["seconds"] for f in floors),
        "peak_rss_mb": max(f["peak_rss_mb"] for f in floors),
        "rows": floors[0]["rows"],
    }
    return [
        Figure(
            ctx.size,
            ctx.db.engine,
            "monthly XLSX export",
            product["seconds"],
            "s",
            floor=floor["seconds"],
            note=f"{floor['rows']:,} rows",
            **_target(at_l, 1.5),
        ),
        Figure(
            ctx.size,
            ctx.db.engine,
            "monthly XLSX export, peak memory",
            product["peak_rss_mb"],
            "MB",
            floor=floor["peak_rss_mb"],
            compare_value=True,
            target=200.0 if at_l else None,
            target_text="< 200 MB" if at_l else "",
        ),
    ]


def guarded(ctx: Context, name: str, measure, *args) -> list[Figure]:
    """Run one group of measurements; a crash is a FAIL line, and the run goes on."""
    try:
        found = measure(*args)
        for row in table_rows(found):  # as they come, so a long run shows its progress
            log("  " + " | ".join(row))
        return found
    except Exception as exc:  # the table must say what broke, not stop
        log(f"{ctx.size}/{ctx.db.engine}: {name} failed: {exc}")
        reason = str(exc).strip().splitlines()[-1][:80] if str(exc).strip() else type(exc).__name__
        return [
            Figure(
                ctx.size,
                ctx.db.engine,
                name,
                float("nan"),
                "s",
                target=0.0,
                target_text="runs",
                note=f"crashed: {reason}",
            )
        ]


def history(ctx: Context, months: int, mode: str) -> None:
    """The snapshots the scheduler would have written in the months before the period
    (after :func:`job_targets`, which leaves the period's own snapshots in place)."""
    if months and available("crmphase.metrics.services"):
        log(f"{ctx.size}/{ctx.db.engine}: snapshots for the {months} months before {ctx.period}")
        done = probe(
            ["history", "--through", ctx.period, "--months", str(months), "--mode", mode],
            ctx.env,
        )
        log(f"{ctx.size}/{ctx.db.engine}: {done['rows']} snapshots in {done['seconds']:.0f} s")


def generate(
    size: str, engine: str, env: dict, history_months: int | None = None
) -> tuple[str, float]:
    """Migrate the database of ``env`` and fill it with ``flask bench-data`` at ``size``;
    return the generator's output and the seconds it took."""
    programs, projects, months = SIZES[size]
    log(f"{size}/{engine}: migrating")
    flask(["db", "upgrade"], env)
    kept = f" (records of the last {history_months} only)" if history_months else ""
    log(
        f"{size}/{engine}: generating {programs} programs, {projects} projects, "
        f"{months} months{kept}"
    )
    options = ["--history-months", str(history_months)] if history_months else []
    return flask(
        [
            "bench-data",
            "--programs",
            str(programs),
            "--projects",
            str(projects),
            "--months",
            str(months),
            "--seed",
            str(SEED),
            *options,
        ],
        env,
    )


def bench_env(args, database: Database, workdir: Path) -> dict:
    """The environment of every command run against ``database``."""
    return {
        **os.environ,
        "DATABASE_URL": database.url,
        "SECRET_KEY": "bench-" + secrets.token_hex(8),
        "CRMPHASE_SECURE_COOKIES": "0",
        "CRMPHASE_NOW": args.now,
        "CRMPHASE_LOGIN_LIMIT": "1000 per minute",
        "CRMPHASE_EXPORT_DIR": str(workdir / "exports"),
        "PYTHONPATH": str(ROOT),
    }


def measure_history(ctx: Context, at_l: bool, args, workdir: Path) -> list[Figure]:
    """The history figure: a second database with the same portfolio and only its last
    :data:`SHORT_HISTORY` months of records, measured in turns with the first."""
    with fresh_database(ctx.db.engine, f"{ctx.size}h", args.pg_url, workdir) as shorter:
        env = bench_env(args, shorter, workdir)
        generate(ctx.size, ctx.db.engine, env, history_months=SHORT_HISTORY)
        log(f"{ctx.size}/{ctx.db.engine}: measuring roi_snapshot at 60 and 30 months of history")
        return history_targets(ctx, at_l, args.job_repeat, args.history_rounds, shorter, env)


def measure_requests(ctx: Context, at_l: bool, crmo: str) -> list[Figure]:
    """Serve the app and the trivial floor app; measure the project and dashboard requests."""
    token, _ = flask(["users", "token", crmo, "--name", "bench"], ctx.env)
    with gunicorn("wsgi:app", ctx.env) as port, gunicorn("bench.floor_app:app", ctx.env) as fport:
        app = Http(port)
        app.login(crmo, "bench-password-2026")
        served = replace(
            ctx,
            app=app,
            api=Http(port),
            floor=Http(fport),
            token=token.strip(),
            project_id=pick_project(ctx.raw),
        )
        log(f"{ctx.size}/{ctx.db.engine}: measuring requests")
        figures = guarded(served, "project requests", project_targets, served, at_l)
        return figures + guarded(served, "dashboard requests", dashboard_targets, served, at_l)


def run_one(size: str, engine: str, args, workdir: Path) -> tuple[list[Figure], dict]:
    wanted = set(args.figures)
    figures: list[Figure] = []
    info: dict = {}
    with fresh_database(engine, size, args.pg_url, workdir) as database:
        env = bench_env(args, database, workdir)
        output, seconds = generate(size, engine, env)
        info["generator"] = output.strip().splitlines()
        if "generator" in wanted:
            figures.append(
                Figure(
                    size,
                    engine,
                    "generator (flask bench-data)",
                    seconds,
                    "s",
                    target=120.0 if size == "L" else None,
                    target_text="< 120 s" if size == "L" else "",
                    compare_value=True,
                )
            )
        crmo = re.search(r"crmo\s+(\S+@\S+)", output).group(1)
        raw = floor_sql.Raw(engine, database.raw_target)
        try:
            ctx = Context(
                size=size,
                db=database,
                env=env,
                raw=raw,
                period=re.search(r"periods \S+ to (\d{4}-\d{2})", output).group(1),
                requests=args.requests,
                warmup=args.warmup,
                user_id=raw.value("SELECT id FROM users WHERE email = :email", email=crmo),
            )
            at_l = size == "L"
            if "job" in wanted:
                log(f"{size}/{engine}: measuring roi_snapshot")
                figures += guarded(ctx, "roi_snapshot job", job_targets, ctx, at_l, args.job_repeat)
            if "history" in wanted:
                figures += guarded(
                    ctx, "roi_snapshot history", measure_history, ctx, at_l, args, workdir
                )
            if wanted & {"export", "requests"}:
                history(ctx, args.history, args.history_mode)
            if "export" in wanted:
                log(f"{size}/{engine}: measuring the export")
                figures += guarded(
                    ctx,
                    "monthly XLSX export",
                    export_targets,
                    ctx,
                    at_l,
                    workdir,
                    args.export_repeat,
                )
            if "requests" in wanted:
                figures += guarded(ctx, "requests", measure_requests, ctx, at_l, crmo)
        finally:
            raw.close()
    return figures, info


def growth(figures: list[Figure]) -> list[Figure]:
    """The dashboard at L against the dashboard at S, per engine (≤ 2×): its cost must grow
    with what it shows, not with the history behind it."""
    found = {(f.size, f.engine, f.name): f for f in figures}
    result = []
    for (size, engine, name), at_l in found.items():
        at_s = found.get(("S", engine, name))
        if size != "L" or not name.startswith("dashboard") or at_s is None:
            continue
        result.append(
            Figure(
                "L/S",
                engine,
                f"{name}, L against S",
                at_l.value,
                "ms",
                at_l.p95,
                at_s.value,
                at_s.p95,
                target=2.0,
                target_text="≤ 2× S",
            )
        )
    return result


def machine() -> list[str]:
    def out(cmd: list[str]) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.strip()
        except OSError:
            return "?"

    return [
        f"nproc: {out(['nproc'])}",
        "free -h:",
        *("    " + line for line in out(["free", "-h"]).splitlines()),
        f"uname -a: {out(['uname', '-a'])}",
        f"python: {platform.python_version()}",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--size",
        choices=("S", "L"),
        default="S",
        help="S measures size S; L measures S and L (L is compared with S)",
    )
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("BENCH_PG_URL", DEFAULT_PG),
        help="a PostgreSQL server where the benchmark may create databases",
    )
    parser.add_argument("--requests", type=int, default=30, help="measured requests (≥ 20)")
    parser.add_argument("--warmup", type=int, default=5, help="requests before measuring")
    parser.add_argument(
        "--history",
        type=int,
        default=24,
        help="months of snapshots before the measured period",
    )
    parser.add_argument(
        "--history-mode",
        choices=("copy", "job"),
        default="copy",
        help="copy the period's snapshots back (fast) or run the job for each month",
    )
    parser.add_argument(
        "--job-repeat",
        type=int,
        default=3,
        help="runs of roi_snapshot (and of its floor) to take the median of",
    )
    parser.add_argument(
        "--export-repeat",
        type=int,
        default=3,
        help="runs of the XLSX export (and of its floor) to take the median of",
    )
    parser.add_argument(
        "--history-rounds",
        type=int,
        default=2,
        help="turns of the history figure (each --job-repeat runs of both portfolios)",
    )
    parser.add_argument(
        "--figures",
        type=lambda text: [name.strip() for name in text.split(",") if name.strip()],
        default=list(FIGURES),
        help=(
            f"which figures to measure, comma-separated, of: {', '.join(FIGURES)} "
            "(default: all; 'requests' are the project and dashboard pages)"
        ),
    )
    parser.add_argument("--markdown", type=Path, help="also write the table as markdown here")
    parser.add_argument(
        "--now",
        default=datetime.now(UTC).replace(microsecond=0).isoformat(),
        help="the clock of the whole run (CRMPHASE_NOW)",
    )
    args = parser.parse_args(argv)
    if args.requests < 20:
        parser.error("--requests must be at least 20")
    if args.job_repeat < 1 or args.export_repeat < 1 or args.history_rounds < 1:
        parser.error("--job-repeat, --export-repeat and --history-rounds must be at least 1")
    unknown = sorted(set(args.figures) - set(FIGURES))
    if unknown or not args.figures:
        parser.error(f"--figures takes some of {', '.join(FIGURES)} (not {', '.join(unknown)})")
    sizes = ["S"] if args.size == "S" else ["S", "L"]
    engines = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    figures: list[Figure] = []
    started = datetime.now(UTC)
    workdir = Path(tempfile.mkdtemp(prefix="crmphase-bench-"))
    try:
        for engine in engines:
            for size in sizes:
                found, _ = run_one(size, engine, args, workdir)
                figures += found
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    figures += growth(figures)
    command = "python bench/run.py " + " ".join(argv if argv is not None else sys.argv[1:])
    print(f"crmphase benchmark, {started:%Y-%m-%d %H:%M} UTC: {command}")
    for line in machine():
        print(line)
    print()
    print_table(figures)
    failed = [f for f in figures if f.verdict == "FAIL"]
    print()
    print(f"{len(failed)} FAIL" if failed else "every target PASS")
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(markdown_table(figures))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
