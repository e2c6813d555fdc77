"""A realistic portfolio of any size, for benchmarks and load tests (``flask bench-data``).

Programs, users, projects spread over the months with phases and states in plausible
shares, gate decisions and criteria consistent with each project's history, KPIs of both
directions and cadences, monthly and quarterly measurements with gaps, plan and actual
costs and benefits. Deterministic for a seed and a clock (``CRMPHASE_NOW``).

Rows are built in Python and written with bulk inserts (no ORM objects); ids are handed out
up front so that children can point at their parents.
"""

from __future__ import annotations

import random
import time as _time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from crmphase import clock
from crmphase.auth.passwords import hash_password
from crmphase.benchdata import catalog
from crmphase.benchdata.bulk import BulkWriter, IdAllocator
from crmphase.benchdata.timeline import Timeline, simulate_timeline
from crmphase.extensions import db
from crmphase.metrics.roi import Cadence
from crmphase.metrics.rules import cadence_includes
from crmphase.periods import Period, period_range
from crmphase.phases.rules import DEFAULT_CRITERIA, Phase, add_months

BENCH_PASSWORD = "bench-password-2026"
EMAIL_DOMAIN = "bench.example.com"
PIPELINE_SHARE = 0.2
PIPELINE_DAYS = 240
SOURCES = (("manual", 0.7), ("import", 0.25), ("api", 0.05))
MEASUREMENT_COLUMNS = (
    "id", "kpi_id", "period", "value", "note", "source", "recorded_by_id", "recorded_at",
)  # fmt: skip
MONEY_COLUMNS = (
    "id", "project_id", "period", "kind", "amount", "category", "note", "recorded_at",
    "recorded_by_id",
)  # fmt: skip
KPIS_PER_PROJECT = (15, 28)  # a scorecard per project; L then holds ~600,000 measurements


@dataclass(frozen=True)
class PortfolioSize:
    programs: int
    projects: int
    months: int


SIZES: dict[str, PortfolioSize] = {
    "S": PortfolioSize(programs=20, projects=200, months=60),
    "L": PortfolioSize(programs=200, projects=2000, months=60),
}


class PortfolioExists(Exception):
    """The database already holds programs and the caller did not ask to append."""

    def __init__(self, programs: int):
        super().__init__(
            f"the database already has {programs} program(s); pass --append to add a "
            "generated portfolio next to them, or point DATABASE_URL at an empty database"
        )
        self.programs = programs


@dataclass
class GeneratedPortfolio:
    """What the generator wrote, and how to sign in to look at it."""

    seed: int
    first_period: Period
    last_period: Period
    counts: dict[str, int]
    crmo_email: str
    password: str
    seconds: float
    emails: dict[str, str] = field(default_factory=dict)  # one login per role
    records_from: Period | None = None  # the first month of records kept (history_months)

    def summary_lines(self) -> list[str]:
        rows = ", ".join(f"{name} {count:,}" for name, count in sorted(self.counts.items()))
        lines = [
            f"Generated periods {self.first_period} to {self.last_period} "
            f"(seed {self.seed}) in {self.seconds:.1f} s.",
            *([f"Records kept from {self.records_from} on."] if self.records_from else []),
            f"Rows: {rows}.",
            f"Every generated user's password is: {self.password}",
        ]
        lines += [f"  {role:9} {email}" for role, email in self.emails.items()]
        return lines


def _money(value: float) -> Decimal:
    return Decimal(f"{max(value, 0.0):.2f}")


def _value(value: float) -> Decimal:
    return Decimal(f"{value:.2f}")


def _at(rng: random.Random, day: date) -> datetime:
    """A moment in working hours on ``day``."""
    minutes = int(rng.random() * 600)
    return datetime(day.year, day.month, day.day, 8 + minutes // 60, minutes % 60, tzinfo=UTC)


def _weighted(rng: random.Random, pairs) -> str:
    roll = rng.random()
    for value, share in pairs:
        roll -= share
        if roll < 0:
            return value
    return pairs[0][0]


class _Portfolio:
    """One generator run: the random source, the clock, the tables and the writer."""

    def __init__(
        self,
        connection,
        rng: random.Random,
        months: int,
        chunk_size: int,
        history_months: int | None = None,
    ):
        self.rng = rng
        self.now = clock.now()
        self.today = clock.today()
        self.last_period = clock.last_complete_period()
        self.first_period = self.last_period.shift(-(months - 1))
        # Records (measurements, money, gate decisions) dated before this are drawn but not
        # written: the same portfolio with a shorter past (see generate_portfolio). Without
        # history_months nothing is dated that early.
        self.records_from = (
            self.last_period.shift(-(history_months - 1))
            if history_months
            else self.first_period.shift(-24)
        )
        self.records_from_day = self.records_from.first_day
        extent = period_range(self.first_period.shift(-24), self.last_period.shift(48))
        self.period_texts = {p: str(p) for p in extent}
        self.last_days = {p: p.last_day for p in extent}
        self.now_key = (self.now.date(), self.now.hour * 60 + self.now.minute)
        self.ids = IdAllocator(connection)
        self.writer = BulkWriter(connection, chunk_size)
        self.t = db.metadata.tables
        self.password_hash = hash_password(BENCH_PASSWORD)  # hashed once, reused
        self.users: dict[str, list[int]] = {}
        self.user_names: dict[int, str] = {}
        self.emails: dict[str, str] = {}
        self.programs: list[dict] = []
        self.templates: dict[tuple[int, str], list[tuple[str, str]]] = {}

    # --- people and programs -------------------------------------------------------------

    def person(self) -> str:
        return f"{self.rng.choice(catalog.PEOPLE)} {self.rng.choice(catalog.SURNAMES)}"

    def add_users(self, role: str, count: int) -> None:
        table = self.t["users"]
        created = _at(self.rng, self.first_period.first_day - timedelta(days=60))
        for _ in range(count):
            user_id = self.ids.next(table)
            name = self.person()
            email = f"{role}-{user_id}@{EMAIL_DOMAIN}"
            self.emails.setdefault(role, email)
            self.writer.add(
                table,
                {
                    "id": user_id,
                    "email": email,
                    "name": name,
                    "role": role,
                    "password_hash": self.password_hash,
                    "active": True,
                    "created_at": created,
                },
            )
            self.users.setdefault(role, []).append(user_id)
            self.user_names[user_id] = name

    def add_programs(self, count: int) -> None:
        rng, table = self.rng, self.t["programs"]
        steering = self.users["steering"]
        for index in range(count):
            program_id = self.ids.next(table)
            theme, objective = catalog.PROGRAM_THEMES[index % len(catalog.PROGRAM_THEMES)]
            created = _at(rng, self.first_period.first_day - timedelta(days=rng.randint(1, 45)))
            program = {
                "id": program_id,
                "name": f"{theme} {program_id}",
                "objective": objective,
                "executive_sponsor": f"{self.person()}, {rng.choice(catalog.SPONSOR_TITLES)}",
                "crmo_id": rng.choice(self.users["crmo"]),
                "discount_rate": Decimal(rng.choice(("0.06", "0.08", "0.08", "0.08", "0.10"))),
                "bite_size_max_months": 6,
                "bite_size_max_budget": None if rng.random() < 0.6 else Decimal("500000.00"),
                "measurement_grace_days": rng.choice((10, 10, 10, 15)),
                "version": 1,
                "created_at": created,
            }
            self.writer.add(table, dict(program))
            members = rng.sample(steering, min(len(steering), rng.randint(3, 5)))
            program["steering"] = members
            for user_id in members:
                self.writer.add(
                    self.t["program_steering_members"],
                    {"program_id": program_id, "user_id": user_id},
                )
            self.event(
                created,
                program["crmo_id"],
                "program.created",
                "program",
                program_id,
                after={"name": program["name"]},
                program_id=program_id,
            )
            if rng.random() < 0.25:
                phase, key, label = rng.choice(catalog.CUSTOM_CRITERIA)
                self.writer.add(
                    self.t["criterion_templates"],
                    {
                        "id": self.ids.next(self.t["criterion_templates"]),
                        "program_id": program_id,
                        "phase": phase,
                        "key": key,
                        "label": label,
                        "help": "",
                        "kind": "manual",
                        "required": True,
                        "created_by_id": program["crmo_id"],
                        "created_at": created,
                    },
                )
                self.templates[(program_id, phase)] = [(key, label)]
            self.programs.append(program)

    def event(
        self,
        at,
        actor_id,
        action,
        subject_type,
        subject_id,
        *,
        before=None,
        after=None,
        project_id=None,
        program_id=None,
    ) -> None:
        self.writer.add(
            self.t["events"],
            {
                "id": self.ids.next(self.t["events"]),
                "occurred_at": at,
                "actor_id": actor_id,
                "action": action,
                "subject_type": subject_type,
                "subject_id": subject_id,
                "program_id": program_id,
                "project_id": project_id,
                "before": before,
                "after": after,
            },
        )

    # --- one project ---------------------------------------------------------------------

    def created_at(self) -> datetime:
        """A creation moment: most projects spread over the months, a little denser early
        (the program's first wave), one in five in the last eight months (the pipeline that
        is still in strategize, evaluate and execute). Never in the last two weeks."""
        start = self.first_period.first_day
        span = max(1, (self.today - start).days - 14)
        if self.rng.random() < PIPELINE_SHARE:
            offset = span - int(min(span, PIPELINE_DAYS) * self.rng.random())
        else:
            offset = int(span * self.rng.random() ** 1.25)
        return _at(self.rng, start + timedelta(days=offset))

    def add_project(self, program: dict) -> None:
        rng, t = self.rng, self.t
        project_id = self.ids.next(t["projects"])
        created = self.created_at()
        timeline = simulate_timeline(rng, created, self.now)
        department = _weighted(rng, catalog.DEPARTMENT_SHARES)
        manager_id = rng.choice(self.users["manager"])
        pool = [u for u in self.users["manager"] + self.users["viewer"] if u != manager_id]
        team = rng.sample(pool, min(len(pool), rng.randint(2, 5)))
        budget = _money(rng.randrange(40, 460) * 1000)
        reached = timeline.first_entered
        evaluate_on = reached.get(Phase.EVALUATE.value)
        execute_on = reached.get(Phase.EXECUTE.value)
        duration = rng.randint(3, 6)
        planned_start: date | None = execute_on or (
            evaluate_on + timedelta(days=rng.randint(40, 80)) if evaluate_on else None
        )
        if planned_start is None and rng.random() < 0.5:
            planned_start = created.date() + timedelta(days=rng.randint(60, 150))
        planned_end = (
            add_months(planned_start, duration) - timedelta(days=1) if planned_start else None
        )
        in_strategize = timeline.phase == Phase.STRATEGIZE.value and not timeline.decisions
        topic = rng.choice(catalog.PROJECT_TOPICS[department])
        updated = timeline.decisions[-1].decided_at if timeline.decisions else created
        self.writer.add(
            t["projects"],
            {
                "id": project_id,
                "program_id": program["id"],
                "name": f"{topic} {project_id}",
                "objective": f"{topic}: reach the KPI targets within the bite-size budget",
                "customer_need": "Customers asked for it in the last satisfaction survey",
                "department": department,
                "business_lead": self.person(),
                "it_lead": "" if in_strategize and rng.random() < 0.15 else self.person(),
                "manager_id": manager_id,
                "budget": budget,
                "planned_start": planned_start,
                "planned_end": planned_end,
                "phase": timeline.phase,
                "state": timeline.state,
                "phase_entered_on": timeline.phase_entered_on,
                "last_review_on": timeline.last_review_on,
                "version": 1 + len(timeline.decisions),
                "created_at": created,
                "updated_at": updated,
            },
        )
        for user_id in team:
            self.writer.add(
                t["project_team_members"], {"project_id": project_id, "user_id": user_id}
            )
        self.event(
            created,
            manager_id,
            "project.created",
            "project",
            project_id,
            after={"name": f"{topic} {project_id}", "program_id": program["id"]},
            project_id=project_id,
            program_id=program["id"],
        )
        project = {
            "id": project_id,
            "program": program,
            "manager_id": manager_id,
            "team": team,
            "budget": float(budget),
            "planned_start": planned_start,
            "planned_end": planned_end,
            "duration": duration,
        }
        self.add_gates(project, timeline)
        self.add_kpis(project, timeline)
        self.add_money(project, timeline)

    def add_gates(self, project: dict, timeline: Timeline) -> None:
        rng, t = self.rng, self.t
        program = project["program"]
        for decision in timeline.decisions:
            decider = program["crmo_id"] if rng.random() < 0.15 else rng.choice(program["steering"])
            requested = decision.decided_at - timedelta(days=rng.randint(1, 10))
            if decision.decided_at.date() < self.records_from_day:
                continue
            review_id = self.ids.next(t["gate_reviews"])
            self.writer.add(
                t["gate_reviews"],
                {
                    "id": review_id,
                    "project_id": project["id"],
                    "phase": decision.phase,
                    "note": "Ready for the steering committee",
                    "status": "decided",
                    "requested_by_id": project["manager_id"],
                    "requested_at": requested,
                    "closed_at": decision.decided_at,
                },
            )
            decision_id = self.ids.next(t["gate_decisions"])
            rationale = f"{decision.decision.title()} at the {decision.phase} gate, as discussed"
            self.writer.add(
                t["gate_decisions"],
                {
                    "id": decision_id,
                    "project_id": project["id"],
                    "review_id": review_id,
                    "decision": decision.decision,
                    "rationale": rationale,
                    "phase": decision.phase,
                    "from_state": decision.from_state,
                    "to_phase": decision.to_phase,
                    "resulting_phase": decision.resulting_phase,
                    "resulting_state": decision.resulting_state,
                    "decided_by_id": decider,
                    "decided_at": decision.decided_at,
                },
            )
            self.event(
                decision.decided_at,
                decider,
                f"gate.{decision.decision}",
                "gate_decision",
                decision_id,
                before={"phase": decision.phase, "state": decision.from_state},
                after={
                    "phase": decision.resulting_phase,
                    "state": decision.resulting_state,
                    "decision": decision.decision,
                    "rationale": rationale,
                },
                project_id=project["id"],
                program_id=program["id"],
            )
        if timeline.open_review_requested_at is not None:
            self.writer.add(
                t["gate_reviews"],
                {
                    "id": self.ids.next(t["gate_reviews"]),
                    "project_id": project["id"],
                    "phase": timeline.phase,
                    "note": "Criteria met; please decide",
                    "status": "pending",
                    "requested_by_id": project["manager_id"],
                    "requested_at": timeline.open_review_requested_at,
                    "closed_at": None,
                },
            )
        for phase, entered in timeline.first_entered.items():
            current = phase == timeline.phase
            definitions = [(d.key, d.label, d.kind.value) for d in DEFAULT_CRITERIA[Phase(phase)]]
            definitions += [
                (key, label, "manual")
                for key, label in self.templates.get((program["id"], phase), [])
            ]
            for position, (key, label, kind) in enumerate(definitions):
                met = (not current) or rng.random() < (0.5 if kind == "auto" else 0.4)
                checked = kind == "manual" and met
                checked_on = min(self.today, entered + timedelta(days=rng.randint(3, 40)))
                self.writer.add(
                    t["gate_criteria"],
                    {
                        "id": self.ids.next(t["gate_criteria"]),
                        "project_id": project["id"],
                        "phase": phase,
                        "key": key,
                        "label": label,
                        "help": "",
                        "kind": kind,
                        "required": True,
                        "position": position,
                        "met": met,
                        "evidence": (
                            rng.choice(catalog.EVIDENCE).format(day=checked_on) if checked else ""
                        ),
                        "checked_by_id": project["manager_id"] if checked else None,
                        "checked_at": _at(rng, checked_on) if checked else None,
                    },
                )

    def add_kpis(self, project: dict, timeline: Timeline) -> None:
        rng, t = self.rng, self.t
        early = timeline.phase == Phase.STRATEGIZE.value and not timeline.decisions
        if early and rng.random() < 0.35:
            return  # early in strategize: no KPI defined yet
        kinds = rng.sample(catalog.KPI_KINDS, rng.randint(*KPIS_PER_PROJECT))
        evaluate_on = timeline.first_entered.get(Phase.EVALUATE.value)
        baseline = Period.of(evaluate_on or timeline.created_at.date())
        # (period, months since the baseline) of the tracked periods, per cadence
        measurable = [
            (period, period.months_since(baseline))
            for period in sorted(timeline.tracked(self.last_period))
            if period >= baseline
        ]
        schedule = {
            Cadence.MONTHLY: measurable,
            Cadence.QUARTERLY: [
                item for item in measurable if cadence_includes(Cadence.QUARTERLY, item[0])
            ],
        }
        table = t["measurements"]
        quality = rng.gauss(0.95, 0.35)
        gap_rate = rng.choice((0.02, 0.04, 0.05, 0.06, 0.08, 0.1, 0.2))
        owners = [project["manager_id"], *project["team"][:2]]
        created = min(self.now, timeline.created_at + timedelta(days=rng.randint(3, 15)))
        for kind in kinds:
            kpi_id = self.ids.next(t["kpis"])
            low, high = kind.baseline
            base = rng.uniform(low, high)
            change = rng.uniform(*kind.change)
            target = base * (1 + change) if kind.direction == "up" else base * (1 - change)
            if kind.ceiling is not None:
                target = min(target, kind.ceiling)
            target_period = baseline.shift(rng.randint(9, 18))
            without_target = not timeline.decisions and rng.random() < 0.2
            cadence = Cadence.QUARTERLY if rng.random() < 0.25 else Cadence.MONTHLY
            owner = rng.choice(owners)
            self.writer.add(
                t["kpis"],
                {
                    "id": kpi_id,
                    "project_id": project["id"],
                    "name": kind.name,
                    "unit": kind.unit,
                    "direction": kind.direction,
                    "baseline_value": _value(base),
                    "baseline_period": str(baseline),
                    "target_value": None if without_target else _value(target),
                    "target_period": None if without_target else str(target_period),
                    "cadence": cadence.value,
                    "owner_id": owner,
                    "version": 1,
                    "created_at": created,
                },
            )
            kpi_quality = quality + rng.gauss(0, 0.15)
            horizon = max(1, target_period.months_since(baseline))
            spread = 0.08 * abs(target - base)
            for period, months in schedule[cadence]:
                if rng.random() < gap_rate:
                    continue
                recorded = self.recorded_after(self.last_days[period], 12)
                if recorded is None:
                    continue  # not recorded yet: the grace period is still running
                progress = min(1.0, months / horizon)
                value = base + (target - base) * progress * kpi_quality + rng.gauss(0, spread)
                value = max(0.0, value)
                if kind.ceiling is not None:
                    value = min(value, kind.ceiling)
                source = _weighted(rng, SOURCES)
                if period < self.records_from:
                    continue
                self.writer.add_raw(
                    table,
                    MEASUREMENT_COLUMNS,
                    (
                        self.ids.next(table),
                        kpi_id,
                        self.period_texts[period],
                        f"{value:.2f}",
                        "",
                        source,
                        owner,
                        recorded,
                    ),
                )

    def money_row(
        self,
        table: str,
        project: dict,
        period: Period,
        kind: str,
        amount: float,
        category: str,
        recorded: str,
    ) -> None:
        if period < self.records_from:
            return
        self.writer.add_raw(
            self.t[table],
            MONEY_COLUMNS,
            (
                self.ids.next(self.t[table]),
                project["id"],
                self.period_texts[period],
                kind,
                f"{max(amount, 0.0):.2f}",
                category,
                "",
                recorded,
                project["manager_id"],
            ),
        )

    def recorded_after(self, day: date, most_days: int) -> str | None:
        """When an entry for a period ending on ``day`` was recorded: 1 to ``most_days``
        days later in working hours, as the driver takes it; ``None`` while that is still
        in the future."""
        when = day + timedelta(days=1 + int(self.rng.random() * most_days))
        minutes = 480 + int(self.rng.random() * 600)
        if (when, minutes) > self.now_key:
            return None
        return self.writer.stamp(when, minutes)

    def add_money(self, project: dict, timeline: Timeline) -> None:
        rng = self.rng
        evaluate_on = timeline.first_entered.get(Phase.EVALUATE.value)
        if evaluate_on is None or project["planned_start"] is None:
            return
        reached_execute = Phase.EXECUTE.value in timeline.first_entered
        budget, months = project["budget"], project["duration"]
        build = budget * 0.85 / months  # the execute months' cost
        run = budget * 0.15 / 24  # running costs in manage
        plan_benefit = budget * rng.uniform(1.4, 2.6) / 24
        start = Period.of(project["planned_start"])
        if reached_execute or rng.random() < 0.6:
            drafted = self.writer.stamp(
                min(
                    self.today - timedelta(days=1), evaluate_on + timedelta(days=rng.randint(5, 25))
                ),
                600,
            )
            for period in period_range(start, start.shift(months - 1)):
                self.money_row(
                    "cost_entries", project, period, "plan", build * 0.6, "services", drafted
                )
                self.money_row(
                    "cost_entries", project, period, "plan", build * 0.4, "people", drafted
                )
            for index, period in enumerate(
                period_range(start.shift(months), start.shift(months + 23))
            ):
                self.money_row("cost_entries", project, period, "plan", run, "software", drafted)
                ramp = min(1.0, (index + 1) / 6)
                self.money_row(
                    "benefit_entries",
                    project,
                    period,
                    "plan",
                    plan_benefit * ramp,
                    rng.choice(catalog.BENEFIT_CATEGORIES),
                    drafted,
                )
        overrun = rng.gauss(1.05, 0.15)
        realised = rng.gauss(0.9, 0.3)
        manage_index = 0
        for period, phase in sorted(timeline.phase_by_period(self.last_period).items()):
            recorded = self.recorded_after(self.last_days[period], 15)
            if recorded is None:
                continue
            if phase == Phase.EVALUATE.value:
                self.money_row(
                    "cost_entries",
                    project,
                    period,
                    "actual",
                    budget * 0.02 * rng.uniform(0.5, 1.5),
                    "services",
                    recorded,
                )
            elif phase == Phase.EXECUTE.value:
                noise = rng.uniform(0.85, 1.15)
                self.money_row(
                    "cost_entries",
                    project,
                    period,
                    "actual",
                    build * 0.6 * overrun * noise,
                    "services",
                    recorded,
                )
                self.money_row(
                    "cost_entries",
                    project,
                    period,
                    "actual",
                    build * 0.4 * overrun * noise,
                    "people",
                    recorded,
                )
            elif phase == Phase.MANAGE.value:
                manage_index += 1
                self.money_row(
                    "cost_entries",
                    project,
                    period,
                    "actual",
                    run * overrun * rng.uniform(0.8, 1.2),
                    "software",
                    recorded,
                )
                if rng.random() < 0.9:
                    ramp = min(1.0, manage_index / 6)
                    amount = plan_benefit * realised * ramp * rng.uniform(0.8, 1.2)
                    self.money_row(
                        "benefit_entries",
                        project,
                        period,
                        "actual",
                        amount,
                        rng.choice(catalog.BENEFIT_CATEGORIES),
                        recorded,
                    )


def count_programs(connection) -> int:
    return connection.scalar(sa.select(sa.func.count()).select_from(db.metadata.tables["programs"]))


def generate_portfolio(
    *,
    programs: int,
    projects: int,
    months: int,
    seed: int,
    append: bool = False,
    progress: Callable[[int], None] | None = None,
    chunk_size: int = 5000,
    history_months: int | None = None,
) -> GeneratedPortfolio:
    """Write a generated portfolio into the app's database in one transaction.

    Raises :class:`PortfolioExists` when the database already has programs, unless
    ``append``. ``progress(n)`` is called as projects are generated.

    ``history_months`` keeps the records (measurements, cost and benefit entries, gate
    decisions with their reviews and events) of only the last that many months: the same
    projects, positions, KPIs and last months as without it, with a shorter past (the
    random draws are the same, the earlier records are not written).
    """
    if programs < 1 or projects < 1 or months < 1:
        raise ValueError("programs, projects and months must each be at least 1")
    if history_months is not None and not 1 <= history_months <= months:
        raise ValueError("history_months must be from 1 to months")
    started = _time.perf_counter()
    rng = random.Random(seed)
    db.session.remove()  # the writer's connection must be the only one holding a write lock
    with db.engine.begin() as connection:
        existing = count_programs(connection)
        if existing and not append:
            raise PortfolioExists(existing)
        run = _Portfolio(connection, rng, months, chunk_size, history_months)
        run.add_users("crmo", 1 + programs // 100)
        run.add_users("steering", max(4, programs // 3))
        run.add_users("manager", max(4, projects // 8))
        run.add_users("viewer", max(3, programs // 5))
        run.add_programs(programs)
        for index in range(projects):
            program = run.programs[index] if index < programs else rng.choice(run.programs)
            run.add_project(program)
            if progress is not None:
                progress(1)
        run.writer.flush()
        run.ids.sync_sequences()
    _analyze()
    return GeneratedPortfolio(
        seed=seed,
        first_period=run.first_period,
        last_period=run.last_period,
        counts=dict(run.writer.counts),
        crmo_email=run.emails["crmo"],
        password=BENCH_PASSWORD,
        seconds=_time.perf_counter() - started,
        emails=dict(run.emails),
        records_from=run.records_from if history_months else None,
    )


def _analyze() -> None:
    """Fresh planner statistics, as autovacuum (PostgreSQL) or ``PRAGMA optimize`` would
    keep them on a live installation."""
    with db.engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE")
        connection.commit()
