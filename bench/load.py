"""Load test: N concurrent API users against gunicorn on loopback for a bounded time.

    python bench/load.py --users 16 --duration 30                       # temporary SQLite
    python bench/load.py --database-url postgresql://postgres@127.0.0.1/crmphase_load

Each user reads (project list, a project, programs) and writes (its own project, and a
project everyone edits at once, retrying on 409 as a person would). At the end the
database is compared with what the clients believe they saved:

- errors: 5xx answers, broken connections and anything unexpected (target 0);
- lost writes: a save answered 200 whose value or audit event is not in the database,
  or versions that do not add up (target 0);
- latency p50/p95 per kind of request.

Exits 1 when there are errors or lost writes, so CI can run it.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    errors: list[str] = field(default_factory=list)
    conflicts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, seconds: float, status: int) -> None:
        with self.lock:
            self.latencies[kind].append(seconds)
            self.statuses[status] += 1

    def error(self, text: str) -> None:
        with self.lock:
            self.errors.append(text)


class Client:
    """One user's HTTP client: a connection per request (no keep-alive, so a server closing
    an idle connection is never mistaken for an error)."""

    def __init__(self, port: int, token: str, tally: Tally):
        self.port, self.token, self.tally = port, token, tally

    def call(self, kind: str, method: str, path: str, body=None, expect=(200,)):
        payload = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        headers["Connection"] = "close"
        started = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=payload, headers=headers)
            response = conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.tally.error(f"{method} {path}: {type(exc).__name__}: {exc}")
            return None, None
        finally:
            conn.close()
        self.tally.record(kind, time.perf_counter() - started, response.status)
        if response.status not in expect:
            self.tally.error(f"{method} {path}: {response.status} {data[:200]!r}")
            return response.status, None
        return response.status, json.loads(data) if data else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare(database_url: str, users: int) -> dict:
    """Migrate, then create the CRMO, one manager per simulated user, a program, one project
    per manager and one project they all edit."""
    from flask_migrate import upgrade

    from crmphase import create_app
    from crmphase.auth import services as auth
    from crmphase.programs import services as programs

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        upgrade()
        suffix = secrets.token_hex(3)
        crmo = auth.create_user(f"crmo-{suffix}@load.test", "crmo", None)
        program = programs.create_program(crmo, {"name": f"Load {suffix}"})
        shared = programs.create_project(
            crmo,
            {"program_id": program.id, "name": "Shared", "department": "it", "manager_id": crmo.id},
        )
        people = []
        for n in range(users):
            manager = auth.create_user(f"pm{n}-{suffix}@load.test", "manager", None)
            project = programs.create_project(
                manager,
                {
                    "program_id": program.id,
                    "name": f"Own {n}",
                    "department": "sales",
                    "manager_id": manager.id,
                },
            )
            people.append({"token": auth.issue_token(manager, "load"), "project": project.id})
        return {
            "crmo_token": auth.issue_token(crmo, "load"),
            "shared": shared.id,
            "shared_version": shared.version,
            "people": people,
        }


def start_gunicorn(database_url: str, port: int, workers: int, threads: int, log: Path):
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CRMPHASE_SECURE_COOKIES": "0",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_hex(16),
    }
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen(
        [
            str(gunicorn),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--worker-class",
            "gthread",
            "--timeout",
            "60",
            "--log-level",
            "warning",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited: {log.read_text()[-2000:]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise SystemExit("gunicorn did not answer /healthz within 60 s")


def user_loop(port, person, world, tally, deadline, saved, shared_saves, seed):
    """One simulated person until the deadline: mostly reads, some writes. The shared
    project is edited with the CRMO's token (its manager and the CRMO may edit it)."""
    rnd = random.Random(seed)
    shared_id = world["shared"]
    client = Client(port, person["token"], tally)
    crmo = Client(port, world["crmo_token"], tally)
    own = f"/api/v1/projects/{person['project']}"
    shared = f"/api/v1/projects/{shared_id}"
    writes = 0
    while time.monotonic() < deadline:
        roll = rnd.random()
        if roll < 0.45:
            client.call("list projects", "GET", "/api/v1/projects?per_page=25")
        elif roll < 0.60:
            client.call("read project", "GET", own)
        elif roll < 0.70:
            client.call("list programs", "GET", "/api/v1/programs")
        elif roll < 0.90:
            _, project = client.call("read project", "GET", own)
            if project is None:
                continue
            writes += 1
            value = f"{person['token'][-6:]}-{writes}"
            status, body = client.call(
                "save own project",
                "PATCH",
                own,
                {"version": project["version"], "it_lead": value},
                expect=(200,),
            )
            if status == 200:
                saved[person["project"]] = (value, writes)
        else:
            for _attempt in range(10):  # a person reloads and tries again after a 409
                _, project = crmo.call("read project", "GET", shared)
                if project is None:
                    break
                value = f"{person['token'][-6:]}-{rnd.randrange(10**9)}"
                status, body = crmo.call(
                    "save shared project",
                    "PATCH",
                    shared,
                    {"version": project["version"], "objective": value},
                    expect=(200, 409),
                )
                if status == 200:
                    with tally.lock:
                        shared_saves.append((body["version"], value))
                    break
                if status == 409:
                    with tally.lock:
                        tally.conflicts += 1


def check_writes(database_url, saved, shared_id, shared_version, shared_saves) -> list[str]:
    """Compare what the clients believe they saved with the database."""
    import sqlalchemy as sa

    from crmphase import create_app
    from crmphase.audit.models import Event
    from crmphase.extensions import db
    from crmphase.programs.models import Project

    lost = []
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        for project_id, (value, count) in saved.items():
            project = db.session.get(Project, project_id)
            if project.it_lead != value:
                lost.append(f"project {project_id}: it_lead {project.it_lead!r}, saved {value!r}")
            events = db.session.scalar(
                sa.select(sa.func.count())
                .select_from(Event)
                .where(Event.project_id == project_id, Event.action == "project.updated")
            )
            if events < count:
                lost.append(f"project {project_id}: {events} update events for {count} saves")
        shared = db.session.get(Project, shared_id)
        if shared_saves:
            _version, value = max(shared_saves)
            if shared.objective != value:
                lost.append(f"shared project: objective {shared.objective!r}, last save {value!r}")
        expected_version = shared_version + len(shared_saves)
        if shared.version != expected_version:
            lost.append(
                f"shared project at version {shared.version}, {len(shared_saves)} saves "
                f"from version {shared_version} make {expected_version}"
            )
        versions = [v for v, _ in shared_saves]
        if len(versions) != len(set(versions)):
            lost.append("two saves of the shared project were answered with the same version")
    return lost


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(pct) - 1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=16, help="concurrent users (threads)")
    parser.add_argument("--duration", type=float, default=30, help="seconds of load")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker")
    parser.add_argument("--database-url", default="", help="default: a temporary SQLite file")
    parser.add_argument("--json", type=Path, help="also write the result as JSON here")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="crmphase-load-") as tmp:
        database_url = args.database_url or f"sqlite:///{Path(tmp) / 'load.sqlite3'}"
        if database_url.startswith("postgresql://"):
            database_url = "postgresql+psycopg://" + database_url[len("postgresql://") :]
        os.environ["DATABASE_URL"] = database_url  # the engine options follow the URL
        world = prepare(database_url, args.users)
        port = free_port()
        server = start_gunicorn(database_url, port, args.workers, args.threads, Path(tmp) / "log")
        tally, saved, shared_saves = Tally(), {}, []
        try:
            started = time.monotonic()
            deadline = started + args.duration
            threads = [
                threading.Thread(
                    target=user_loop,
                    args=(port, person, world, tally, deadline, saved, shared_saves, n),
                )
                for n, person in enumerate(world["people"])
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.monotonic() - started
        finally:
            server.terminate()
            server.wait(30)
        lost = check_writes(
            database_url, saved, world["shared"], world["shared_version"], shared_saves
        )
        server_log = (Path(tmp) / "log").read_text()

    every = [s for values in tally.latencies.values() for s in values]
    result = {
        "database": "postgresql" if database_url.startswith("postgresql") else "sqlite",
        "users": args.users,
        "gunicorn": f"{args.workers} workers x {args.threads} threads",
        "seconds": round(elapsed, 1),
        "requests": len(every),
        "requests_per_second": round(len(every) / elapsed, 1) if elapsed else 0,
        "p50_ms": round(percentile(every, 50) * 1000, 1),
        "p95_ms": round(percentile(every, 95) * 1000, 1),
        "by_kind": {
            kind: {
                "count": len(values),
                "p50_ms": round(percentile(values, 50) * 1000, 1),
                "p95_ms": round(percentile(values, 95) * 1000, 1),
            }
            for kind, values in sorted(tally.latencies.items())
        },
        "statuses": dict(sorted(tally.statuses.items())),
        "conflicts_409": tally.conflicts,
        "errors": len(tally.errors),
        "lost_writes": len(lost),
    }
    print(json.dumps(result, indent=2))
    for line in tally.errors[:20]:
        print("ERROR", line)
    for line in lost:
        print("LOST", line)
    if tally.errors and server_log.strip():
        print("--- gunicorn log (tail)\n" + server_log[-3000:])
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 1 if tally.errors or lost else 0


if __name__ == "__main__":
    raise SystemExit(main())
