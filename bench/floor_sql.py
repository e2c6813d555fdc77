"""The floors' raw SQL: the rows each measured request, job or export reads, read with the
driver directly (sqlite3 or psycopg; no ORM, no schema, no templates).

Every statement is written with ``:name`` parameters and runs unchanged on both engines.
A floor must read the same rows as the product does, so when a page shows more, its floor
here grows too (see docs/PERFORMANCE.md).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

_PARAM = re.compile(r"(?<![:\w]):(\w+)")


class Raw:
    """A plain driver connection: sqlite3 on a file, or psycopg on PostgreSQL."""

    def __init__(self, engine: str, target: str):
        self.engine = engine
        if engine == "sqlite":
            self.connection = sqlite3.connect(target, isolation_level=None)
            self.connection.execute("PRAGMA foreign_keys=ON")
        else:
            import psycopg

            self.connection = psycopg.connect(target, autocommit=True)

    def _sql(self, sql: str) -> str:
        return sql if self.engine == "sqlite" else _PARAM.sub(r"%(\1)s", sql)

    def rows(self, sql: str, **params) -> list[tuple]:
        cursor = self.connection.execute(self._sql(sql), params)
        rows = cursor.fetchall()
        cursor.close()
        return rows

    def value(self, sql: str, **params):
        rows = self.rows(sql, **params)
        return rows[0][0] if rows else None

    def execute(self, sql: str, **params) -> None:
        self.connection.execute(self._sql(sql), params).close()

    def stream(self, sql: str, **params):
        """Rows one by one (a server-side cursor on PostgreSQL)."""
        if self.engine == "sqlite":
            cursor = self.connection.execute(sql, params)
            try:
                while rows := cursor.fetchmany(2000):
                    yield from rows
            finally:
                cursor.close()
            return
        with (
            self.connection.transaction(),
            self.connection.cursor(name="bench_stream") as cursor,
        ):
            cursor.execute(self._sql(sql), params)
            while rows := cursor.fetchmany(2000):
                yield from rows

    def close(self) -> None:
        self.connection.close()


@dataclass(frozen=True)
class FloorQueries:
    """A named set of statements that together read what one request reads."""

    name: str
    run: Callable[[Raw, dict], int]  # returns how many rows it read


def _read(raw: Raw, statements: list[tuple[str, dict]]) -> int:
    return sum(len(raw.rows(sql, **params)) for sql, params in statements)


SIGNED_IN_USER = "SELECT * FROM users WHERE id = :user_id"
TOKEN_USER = (
    "SELECT u.* FROM users u JOIN api_tokens t ON t.user_id = u.id "
    "WHERE t.token_hash = :token_hash AND t.revoked_at IS NULL"
)
PROJECT = (
    "SELECT p.*, pr.name, u.name FROM projects p "
    "JOIN programs pr ON pr.id = p.program_id JOIN users u ON u.id = p.manager_id "
    "WHERE p.id = :project_id"
)
TEAM = (
    "SELECT u.id, u.name FROM project_team_members t JOIN users u ON u.id = t.user_id "
    "WHERE t.project_id = :project_id ORDER BY u.name"
)


# The counts in the navigation of every page (reviews to decide, unread notifications),
# in one statement.
NAV_COUNTS = [
    "SELECT (SELECT COUNT(*) FROM gate_reviews r JOIN projects p ON p.id = r.project_id "
    "WHERE r.status = 'pending' AND p.manager_id <> :user_id), "
    "(SELECT COUNT(id) FROM notifications WHERE recipient_id = :user_id AND read_at IS NULL)",
]


def project_page(raw: Raw, p: dict) -> int:
    """``/projects/<id>``: the signed-in user and the navigation's counts, the project
    with its program and manager, its team."""
    statements = [SIGNED_IN_USER, *NAV_COUNTS, PROJECT, TEAM]
    return _read(raw, [(sql, p) for sql in statements])


TEAM_IDS = (
    "SELECT user_id FROM project_team_members WHERE project_id = :project_id ORDER BY user_id"
)


# The API's JSON holds the program's and the manager's ids, so it reads the project alone.
PROJECT_ROW = "SELECT * FROM projects WHERE id = :project_id"


def project_api(raw: Raw, p: dict) -> int:
    """``GET /api/v1/projects/<id>``: the token's user, the project, its team's ids."""
    return _read(raw, [(TOKEN_USER, p), (PROJECT_ROW, p), (TEAM_IDS, p)])


# --- the project's ROI endpoint ------------------------------------------------------------

ROI = [
    "SELECT p.id, pr.discount_rate FROM projects p JOIN programs pr ON pr.id = p.program_id "
    "WHERE p.id = :project_id",
    "SELECT project_id, kind, period, SUM(amount) FROM cost_entries "
    "WHERE project_id = :project_id AND period <= :period GROUP BY project_id, kind, period",
    "SELECT project_id, kind, period, SUM(amount) FROM benefit_entries "
    "WHERE project_id = :project_id AND period <= :period GROUP BY project_id, kind, period",
    "SELECT m.kpi_id, m.period, m.value FROM measurements m JOIN ("
    " SELECT m2.kpi_id, MAX(m2.period) AS period FROM measurements m2"
    " JOIN kpis k ON k.id = m2.kpi_id WHERE k.project_id = :project_id"
    " AND m2.period <= :period GROUP BY m2.kpi_id) l"
    " ON l.kpi_id = m.kpi_id AND l.period = m.period",
    "SELECT id, project_id, name, unit, direction, baseline_value, baseline_period, "
    "target_value, target_period, cadence FROM kpis WHERE project_id = :project_id "
    "ORDER BY name, id",
    "SELECT project_id, decided_at, resulting_phase, resulting_state FROM gate_decisions "
    "WHERE project_id = :project_id ORDER BY decided_at, id",
    "SELECT m.kpi_id, m.period FROM measurements m JOIN kpis k ON k.id = m.kpi_id "
    "WHERE k.project_id = :project_id AND m.period = :period",
]


def project_roi(raw: Raw, p: dict) -> int:
    """``GET /api/v1/projects/<id>/roi?period=P``: the token's user, the project and its
    program's rate, money summed per kind and period up to P, the KPIs with their latest
    value, the decisions and the measured KPIs of P."""
    return _read(raw, [(TOKEN_USER, p), (PROJECT, p), *((sql, p) for sql in ROI)])


# --- the dashboard -------------------------------------------------------------------------

# The same figures, read from the stored sums of a period's snapshots (migration 0005).
STORED_TOTALS = (
    "t.projects, t.measured_projects, t.actual_cumulative_cost, t.actual_cumulative_benefit, "
    "t.actual_net_benefit, t.actual_npv, t.plan_cumulative_cost, t.plan_cumulative_benefit, "
    "t.plan_net_benefit, t.plan_npv, t.due_count, t.measured_count"
)
DASHBOARD = [
    # the five least attained off-track KPIs: the threshold, then the KPI details of the
    # snapshots at or under it
    # the period's totals with its KPI status counts
    f"SELECT {STORED_TOTALS}, t.on_track_kpis, t.at_risk_kpis, t.off_track_kpis, "
    "t.no_data_kpis FROM roi_snapshot_totals t WHERE t.scope = 'portfolio' "
    "AND t.period = :period",
    "SELECT least_off_track_attainment FROM roi_snapshots WHERE period = :period "
    "AND least_off_track_attainment IS NOT NULL "
    "ORDER BY least_off_track_attainment LIMIT 1 OFFSET 4",
    "SELECT s.project_id, p.name, pr.name, s.kpi_details FROM roi_snapshots s "
    "JOIN projects p ON p.id = s.project_id JOIN programs pr ON pr.id = s.program_id "
    "WHERE s.period = :period AND s.off_track_kpis > 0 AND s.least_off_track_attainment <= "
    "(SELECT least_off_track_attainment FROM roi_snapshots WHERE period = :period "
    "AND least_off_track_attainment IS NOT NULL "
    "ORDER BY least_off_track_attainment LIMIT 1 OFFSET 4) ORDER BY p.name",
    "SELECT COUNT(id) FROM projects WHERE state = 'active'",
    # pending reviews, the first five and the count
    "SELECT r.id, r.project_id, r.phase, r.requested_at, p.name, pr.name, u.name, "
    "COUNT(*) OVER () FROM gate_reviews r JOIN projects p ON p.id = r.project_id "
    "JOIN programs pr ON pr.id = p.program_id JOIN users u ON u.id = r.requested_by_id "
    "WHERE r.status = 'pending' ORDER BY r.requested_at, r.id LIMIT 5",
    # overdue periodic reviews
    "SELECT p.id, p.name, pr.name, p.department, u.name, "
    "COALESCE(p.last_review_on, p.phase_entered_on), COUNT(*) OVER () FROM projects p "
    "JOIN programs pr ON pr.id = p.program_id JOIN users u ON u.id = p.manager_id "
    "WHERE p.phase = 'manage' AND p.state = 'active' "
    "AND COALESCE(p.last_review_on, p.phase_entered_on) <= :overdue_cutoff "
    "ORDER BY COALESCE(p.last_review_on, p.phase_entered_on), p.name LIMIT 5",
    # trends: money (24 months) and coverage (the last 12 of them), ROI per program
    "SELECT t.period, t.projects, t.actual_cumulative_cost, t.actual_cumulative_benefit, "
    "t.plan_cumulative_cost, t.plan_cumulative_benefit, t.due_count, t.measured_count "
    "FROM roi_snapshot_totals t WHERE t.scope = 'portfolio' AND t.period >= :first_24 "
    "AND t.period <= :period ORDER BY t.period",
    # the ten largest programs' totals and the count of all (the table), then their ROI in
    # each period (the chart's lines; the other programs are the totals less these)
    f"SELECT pr.id, pr.name, {STORED_TOTALS}, COUNT(*) OVER () FROM roi_snapshot_totals t "
    "JOIN programs pr ON pr.id = t.program_id WHERE t.scope = 'program' "
    "AND t.period = :period ORDER BY t.actual_cumulative_cost DESC, pr.id LIMIT 10",
    "SELECT pr.id, pr.name, t.period, t.projects, t.actual_net_benefit, "
    "t.actual_cumulative_cost FROM roi_snapshot_totals t "
    "JOIN programs pr ON pr.id = t.program_id WHERE t.scope = 'program' "
    f"AND t.period IN ({', '.join(f':month_{i}' for i in range(24))}) AND t.program_id IN "
    "(SELECT program_id FROM roi_snapshot_totals WHERE scope = 'program' "
    "AND period = :period ORDER BY actual_cumulative_cost DESC, program_id LIMIT 10) "
    "ORDER BY pr.name, t.period",
    "SELECT phase, state, COUNT(id) FROM projects GROUP BY phase, state",
    "SELECT department, phase, COUNT(id) FROM projects WHERE state = 'active' "
    "GROUP BY department, phase",
    # projects with missing measurements, the first five and the count
    "SELECT p.id, p.name, pr.name, p.department, p.phase, u.name, COALESCE(a.missing, 0), "
    "COALESCE(a.oldest, :period), sn.due_count, sn.measured_count, COUNT(*) OVER () "
    "FROM projects p JOIN programs pr ON pr.id = p.program_id "
    "JOIN users u ON u.id = p.manager_id "
    "LEFT JOIN (SELECT project_id, COUNT(id) AS missing, MIN(period) AS oldest FROM alerts "
    " WHERE kind = 'missing_measurement' AND resolved_at IS NULL AND period <= :period "
    " GROUP BY project_id) a ON a.project_id = p.id "
    "LEFT JOIN (SELECT project_id, due_count, measured_count FROM roi_snapshots "
    " WHERE period = :period) sn ON sn.project_id = p.id "
    "WHERE p.id IN (SELECT project_id FROM alerts WHERE kind = 'missing_measurement' "
    " AND resolved_at IS NULL AND period <= :period UNION SELECT project_id FROM roi_snapshots "
    " WHERE period = :period AND due_count > measured_count) "
    "ORDER BY COALESCE(a.oldest, :period), p.name LIMIT 5",
    # budget overruns, the worst ten and the count
    "SELECT s.project_id, p.name, pr.name, s.department, s.phase, s.budget, "
    "s.actual_cumulative_cost, s.plan_cumulative_cost, s.actual_cumulative_cost - s.budget, "
    "COUNT(*) OVER () FROM roi_snapshots s JOIN projects p ON p.id = s.project_id "
    "JOIN programs pr ON pr.id = s.program_id WHERE s.period = :period "
    "AND s.budget IS NOT NULL AND s.actual_cumulative_cost > s.budget "
    "ORDER BY s.actual_cumulative_cost - s.budget DESC, p.name LIMIT 10",
]
DASHBOARD_PAGE_ONLY = [
    "SELECT id, name FROM programs ORDER BY name",  # the filter bar
    # reviews waiting for the signed-in decider
    "SELECT r.id, r.project_id, r.phase, r.requested_at, p.name, pr.name, u.name, "
    "COUNT(*) OVER () FROM gate_reviews r JOIN projects p ON p.id = r.project_id "
    "JOIN programs pr ON pr.id = p.program_id JOIN users u ON u.id = r.requested_by_id "
    "WHERE r.status = 'pending' AND p.manager_id <> :user_id "
    "ORDER BY r.requested_at, r.id LIMIT 5",
]


def dashboard_api(raw: Raw, p: dict) -> int:
    """``GET /api/v1/dashboard?period=P``: the token's user and every figure's rows."""
    return _read(raw, [(TOKEN_USER, p), *((sql, p) for sql in DASHBOARD)])


def dashboard_page(raw: Raw, p: dict) -> int:
    """``GET /``: the signed-in user and the navigation's counts, the filter bar's
    programs, every figure's rows and the reviews waiting for the user."""
    statements = [SIGNED_IN_USER, *NAV_COUNTS, *DASHBOARD, *DASHBOARD_PAGE_ONLY]
    return _read(raw, [(sql, p) for sql in statements])


FLOORS = {
    "project_page": project_page,
    "project_api": project_api,
    "project_roi": project_roi,
    "dashboard_api": dashboard_api,
    "dashboard_page": dashboard_page,
}


# --- the roi_snapshot job ------------------------------------------------------------------

SNAPSHOT_SCRATCH_DROP = "DROP TABLE IF EXISTS bench_floor_snapshots"
SNAPSHOT_SCRATCH = (
    "CREATE TABLE bench_floor_snapshots (project_id INTEGER PRIMARY KEY, "
    "actual_cost NUMERIC(14, 2), actual_benefit NUMERIC(14, 2), plan_cost NUMERIC(14, 2), "
    "plan_benefit NUMERIC(14, 2), measured INTEGER)"
)
# The same sums as the job: cumulative cost and benefit, actual and plan, up to the period,
# and the KPIs measured in the period, for every project that is not killed or retired.
SNAPSHOT_FLOOR = (
    "INSERT INTO bench_floor_snapshots "
    "SELECT p.id, COALESCE(c.actual, 0), COALESCE(b.actual, 0), COALESCE(c.plan, 0), "
    "COALESCE(b.plan, 0), COALESCE(m.measured, 0) FROM projects p "
    "LEFT JOIN (SELECT project_id, SUM(CASE WHEN kind = 'actual' THEN amount ELSE 0 END) "
    " AS actual, SUM(CASE WHEN kind = 'plan' THEN amount ELSE 0 END) AS plan "
    " FROM cost_entries WHERE period <= :period GROUP BY project_id) c ON c.project_id = p.id "
    "LEFT JOIN (SELECT project_id, SUM(CASE WHEN kind = 'actual' THEN amount ELSE 0 END) "
    " AS actual, SUM(CASE WHEN kind = 'plan' THEN amount ELSE 0 END) AS plan "
    " FROM benefit_entries WHERE period <= :period GROUP BY project_id) b "
    " ON b.project_id = p.id "
    "LEFT JOIN (SELECT k.project_id, COUNT(*) AS measured FROM measurements x "
    " JOIN kpis k ON k.id = x.kpi_id WHERE x.period = :period GROUP BY k.project_id) m "
    " ON m.project_id = p.id "
    "WHERE p.state NOT IN ('killed', 'retired')"
)


# --- the monthly review export -------------------------------------------------------------


# What the KPI sheet takes from each KPI's entry in its project's snapshot.
KPI_DETAILS = ("latest", "expected", "attainment", "status")


def export_sheets(engine: str, period: str) -> list[tuple[str | None, tuple[str, dict]]]:
    """The rows of each sheet of the monthly review (summary, trend, projects, KPIs,
    measurements, costs, benefits, decisions, alerts), cell for cell the ones the export
    writes (the projects' coverage is computed in SQL); a title of ``None`` marks rows that
    are read but written to no sheet of their own: the snapshots' ``kpi_details``, whose
    :data:`KPI_DETAILS` complete each KPI row (its first column is the KPI's id)."""
    year, month = (int(x) for x in period.split("-"))
    following = f"{year + month // 12:04d}-{month % 12 + 1:02d}"
    start, end = f"{period}-01 00:00:00", f"{following}-01 00:00:00"
    first_12 = _shift(period, -11)
    p = {"period": period, "first": first_12, "start": start, "end": end}

    def moment(column: str) -> str:
        # XlsxWriter takes naive datetimes only; the export turns them into local time too
        return f"({column} AT TIME ZONE 'UTC')" if engine == "postgres" else column

    money = (
        "SELECT pr.name, pj.name, e.period, e.kind, e.category, e.amount, e.note, u.name, "
        f"{moment('e.recorded_at')} FROM {{table}} e JOIN projects pj ON pj.id = e.project_id "
        "JOIN programs pr ON pr.id = pj.program_id LEFT JOIN users u ON u.id = e.recorded_by_id "
        "WHERE e.period = :period ORDER BY pr.name, pj.name, e.kind, e.id"
    )
    return [
        (
            "Summary",
            (
                f"SELECT {STORED_TOTALS} FROM roi_snapshot_totals t "
                "WHERE t.scope = 'portfolio' AND t.period = :period",
                p,
            ),
        ),
        (
            "Programs",
            (
                f"SELECT pr.id, pr.name, {STORED_TOTALS} FROM roi_snapshot_totals t "
                "JOIN programs pr ON pr.id = t.program_id WHERE t.scope = 'program' "
                "AND t.period = :period ORDER BY pr.name",
                p,
            ),
        ),
        (
            "Trend",
            (
                f"SELECT t.period, {STORED_TOTALS} FROM roi_snapshot_totals t "
                "WHERE t.scope = 'portfolio' AND t.period >= :first AND t.period <= :period "
                "ORDER BY t.period",
                p,
            ),
        ),
        (
            "Projects",
            (
                "SELECT pr.name, pj.name, s.department, u.name, s.phase, s.state, s.budget, "
                "s.plan_cumulative_cost, s.actual_cumulative_cost, s.plan_cumulative_benefit, "
                "s.actual_cumulative_benefit, s.plan_net_benefit, s.actual_net_benefit, "
                "s.plan_roi_pct, s.actual_roi_pct, s.plan_npv, s.actual_npv, "
                "s.plan_payback_period, s.actual_payback_period, s.kpi_attainment, "
                "s.due_count, s.measured_count, CASE WHEN s.due_count > 0 THEN "
                "ROUND(100.0 * CASE WHEN s.measured_count < s.due_count "
                "THEN s.measured_count ELSE s.due_count END / s.due_count, 2) END, "
                "s.status FROM roi_snapshots s "
                "JOIN projects pj ON pj.id = s.project_id JOIN programs pr ON pr.id = s.program_id "
                "LEFT JOIN users u ON u.id = pj.manager_id WHERE s.period = :period "
                "ORDER BY pr.name, pj.name, pj.id",
                p,
            ),
        ),
        # each KPI's latest value, expected progress, attainment and status: not a sheet of
        # its own, they complete the KPI rows (see KPI_DETAILS)
        (None, ("SELECT CAST(kpi_details AS TEXT) FROM roi_snapshots WHERE period = :period", p)),
        (
            "KPIs",
            (
                "SELECT k.id, pr.name, pj.name, k.name, k.unit, k.direction, k.cadence, "
                "k.baseline_value, k.baseline_period, k.target_value, k.target_period, u.name "
                "FROM kpis k JOIN projects pj ON pj.id = k.project_id "
                "JOIN programs pr ON pr.id = pj.program_id LEFT JOIN users u ON u.id = k.owner_id "
                "WHERE k.project_id IN (SELECT project_id FROM roi_snapshots "
                "WHERE period = :period) ORDER BY pr.name, pj.name, k.name",
                p,
            ),
        ),
        (
            "Measurements",
            (
                "SELECT pr.name, pj.name, k.name, k.unit, m.period, m.value, m.source, m.note, "
                f"u.name, {moment('m.recorded_at')} FROM measurements m "
                "JOIN kpis k ON k.id = m.kpi_id "
                "JOIN projects pj ON pj.id = k.project_id "
                "JOIN programs pr ON pr.id = pj.program_id "
                "LEFT JOIN users u ON u.id = m.recorded_by_id WHERE m.period = :period "
                "ORDER BY pr.name, pj.name, k.name, m.id",
                p,
            ),
        ),
        ("Costs", (money.format(table="cost_entries"), p)),
        ("Benefits", (money.format(table="benefit_entries"), p)),
        (
            "Decisions",
            (
                f"SELECT pr.name, pj.name, {moment('d.decided_at')}, d.phase, d.decision, "
                "d.from_state, "
                "d.to_phase, d.resulting_phase, d.resulting_state, u.name, d.rationale "
                "FROM gate_decisions d JOIN projects pj ON pj.id = d.project_id "
                "JOIN programs pr ON pr.id = pj.program_id "
                "LEFT JOIN users u ON u.id = d.decided_by_id "
                "WHERE d.decided_at >= :start AND d.decided_at < :end ORDER BY d.decided_at, d.id",
                p,
            ),
        ),
        (
            "Alerts",
            (
                "SELECT pr.name, pj.name, a.kind, a.period, k.name, a.detail, "
                f"{moment('a.opened_at')}, {moment('a.resolved_at')} FROM alerts a "
                "JOIN projects pj ON pj.id = a.project_id "
                "JOIN programs pr ON pr.id = pj.program_id LEFT JOIN kpis k ON k.id = a.kpi_id "
                "WHERE a.opened_at < :end AND (a.resolved_at IS NULL OR a.resolved_at >= :end) "
                "ORDER BY pr.name, pj.name, a.kind, a.period, a.id",
                p,
            ),
        ),
    ]


def _shift(period: str, months: int) -> str:
    year, month = (int(x) for x in period.split("-"))
    index = year * 12 + month - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def dashboard_params(period: str, today: str) -> dict:
    """The parameters the dashboard's statements take besides the user and token."""
    from datetime import date, timedelta

    cutoff = date.fromisoformat(today) - timedelta(days=92)
    return {
        "period": period,
        "first_12": _shift(period, -11),
        "first_24": _shift(period, -23),
        "overdue_cutoff": cutoff.isoformat(),
        **{f"month_{i}": _shift(period, -i) for i in range(24)},
    }
