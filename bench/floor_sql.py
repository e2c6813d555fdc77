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
#
# The job's floor computes in SQL, set-based, every column a snapshot row holds and writes
# the rows into ``roi_snapshots`` itself (the bench runs it in a transaction it rolls back),
# then the period's stored sums into ``roi_snapshot_totals``, as the job does. Money is
# summed in integer cents, ROI %, attainment and expected progress are integer divisions
# rounded half away from zero, so every figure is exact; only the NPV's discount factors are
# floats (its cents come out the same, see tests/bench/test_snapshot_floor.py).


def _month(column: str) -> str:
    """A ``YYYY-MM`` period as a month number (year × 12 + month)."""
    return (
        f"(CAST(SUBSTR({column}, 1, 4) AS INTEGER) * 12 + CAST(SUBSTR({column}, 6, 2) AS INTEGER))"
    )


def _half_up(numerator: str, denominator: str) -> str:
    """``numerator / denominator`` of two integers, rounded half away from zero, computed in
    integer arithmetic (both engines truncate an integer division)."""
    return (
        f"(CASE WHEN ({numerator} < 0) <> ({denominator} < 0) THEN -1 ELSE 1 END "
        f"* ((2 * ABS({numerator}) + ABS({denominator})) / (2 * ABS({denominator}))))"
    )


def _units(column: str, scale: int) -> str:
    """A NUMERIC column as a whole number of 1/``scale`` (exact for its stored places)."""
    return f"CAST(ROUND({column} * {scale}) AS BIGINT)"


@dataclass(frozen=True)
class _Dialect:
    """The few expressions the two engines spell differently."""

    utc_day: Callable[[str], str]  # the UTC day of a stored timestamp, as YYYY-MM-DD text
    day: Callable[[str], str]  # a DATE column as YYYY-MM-DD text
    kpi_sums: Callable[[str], str]  # the per-project KPI sums and details, from KPI rows
    instant: str  # the parameter :end_of_period as a timestamp
    latest_measurement: str  # joins each KPI ``k`` to its latest measurement ``m`` at or before P


_KPI_JSON_FIELDS = (
    "'kpi_id', id, 'name', name, 'unit', unit, 'direction', direction, "
    "'baseline_value', CAST(baseline_value AS TEXT), 'target_value', CAST(target_value AS TEXT), "
    "'target_period', target_period, 'latest', CAST(latest AS TEXT), "
    "'attainment', {attainment}, 'expected', {expected}, 'status', status"
)


def _kpi_json(hundredths: Callable[[str], str], function: str) -> str:
    """One KPI row of the details as a JSON object, built by ``function``."""
    fields = _KPI_JSON_FIELDS.format(
        attainment=hundredths("attainment"), expected=hundredths("expected")
    )
    return f"{function}({fields})"


def _sqlite_hundredths(value: str) -> str:
    """An integer count of hundredths as decimal text (NULL stays NULL)."""
    return f"CASE WHEN {value} IS NOT NULL THEN printf('%.2f', {value} / 100.0) END"


def _postgres_hundredths(value: str) -> str:
    """An integer count of hundredths as decimal text."""
    return f"CAST(ROUND({value} / 100.0, 2) AS TEXT)"


# Per project: how many KPIs are scheduled in P and measured in it, the mean attainment,
# the tally by status, the least off-track attainment and the details as JSON.
_KPI_SUMS = (
    "SUM(scheduled) {over} AS scheduled, "
    "SUM(CASE WHEN scheduled = 1 AND latest_period = :period THEN 1 ELSE 0 END) {over} "
    "AS scheduled_measured, "
    "CAST(SUM(attainment) {over} AS BIGINT) AS attainment_sum, "
    "COUNT(attainment) {over} AS attained, "
    "SUM(CASE WHEN status = 'on_track' THEN 1 ELSE 0 END) {over} AS on_track, "
    "SUM(CASE WHEN status = 'at_risk' THEN 1 ELSE 0 END) {over} AS at_risk, "
    "SUM(CASE WHEN status = 'off_track' THEN 1 ELSE 0 END) {over} AS off_track, "
    "SUM(CASE WHEN status = 'no_data' THEN 1 ELSE 0 END) {over} AS no_data, "
    "MIN(CASE WHEN status = 'off_track' THEN attainment END) {over} AS least_off_track"
)
_MEAN_ATTAINMENT = (
    f"CASE WHEN attained > 0 THEN {_half_up('attainment_sum', 'attained')} END AS attainment"
)
_SUMS_OUT = (
    "project_id, scheduled, scheduled_measured, on_track, at_risk, off_track, no_data, "
    f"least_off_track, details, {_MEAN_ATTAINMENT}"
)


def _sqlite_kpi_sums(kpis: str) -> str:
    # json_group_array has no ORDER BY of its own before SQLite 3.44; as a window function
    # its rows come in the window's order. Every sum is taken over the same window (one
    # sort), and each project's first row keeps them.
    window = (
        "OVER (PARTITION BY project_id ORDER BY name, id "
        "ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)"
    )
    kpi = _kpi_json(_sqlite_hundredths, "json_object")
    return (
        f"SELECT {_SUMS_OUT} FROM ("
        f" SELECT project_id, {_KPI_SUMS.format(over=window)},"
        f"  json_group_array({kpi}) {window} AS details,"
        "  ROW_NUMBER() OVER (PARTITION BY project_id ORDER BY name, id) AS position"
        f" FROM {kpis}) numbered WHERE position = 1"
    )


def _postgres_kpi_sums(kpis: str) -> str:
    kpi = _kpi_json(_postgres_hundredths, "json_build_object")
    return (
        f"SELECT {_SUMS_OUT} FROM ("
        f" SELECT project_id, {_KPI_SUMS.format(over='')},"
        f"  json_agg({kpi} ORDER BY name, id) AS details"
        f" FROM {kpis} GROUP BY project_id) grouped"
    )


_SQLITE = _Dialect(
    utc_day=lambda column: f"SUBSTR({column}, 1, 10)",
    day=lambda column: column,
    kpi_sums=_sqlite_kpi_sums,
    instant=":end_of_period",
    latest_measurement=(
        "LEFT JOIN measurements m ON m.kpi_id = k.id AND m.period = (SELECT MAX(e.period) "
        "FROM measurements e WHERE e.kpi_id = k.id AND e.period <= :period)"
    ),
)
_POSTGRES = _Dialect(
    utc_day=lambda column: f"CAST(CAST({column} AT TIME ZONE 'UTC' AS DATE) AS TEXT)",
    day=lambda column: f"CAST({column} AS TEXT)",
    kpi_sums=_postgres_kpi_sums,
    instant="CAST(:end_of_period AS TIMESTAMP WITH TIME ZONE)",
    # the same as SQLite's join, which PostgreSQL would run as a hash join over every
    # measurement with the latest period looked up again for each of them
    latest_measurement=(
        "LEFT JOIN LATERAL (SELECT e.period, e.value FROM measurements e WHERE e.kpi_id = k.id "
        "AND e.period <= :period ORDER BY e.period DESC LIMIT 1) m ON TRUE"
    ),
)

SNAPSHOT_COLUMNS = (
    "project_id, period, program_id, department, phase, state, budget, "
    "actual_cumulative_cost, actual_cumulative_benefit, actual_net_benefit, actual_roi_pct, "
    "actual_npv, actual_payback_period, plan_cumulative_cost, plan_cumulative_benefit, "
    "plan_net_benefit, plan_roi_pct, plan_npv, plan_payback_period, kpi_attainment, "
    "due_count, measured_count, measured, status, computed_at, recomputed_count, "
    "on_track_kpis, at_risk_kpis, off_track_kpis, no_data_kpis, least_off_track_attainment, "
    "kpi_details"
)


def _money_columns(side: str) -> str:
    """The money columns of one kind (``a``: actual, ``pl``: plan) from its row of ``money``."""
    cost, benefit = f"COALESCE({side}.cost, 0)", f"COALESCE({side}.benefit, 0)"
    roi = _half_up(f"(({benefit} - {cost}) * 10000)", cost)
    return (
        f"{cost} / 100.0, {benefit} / 100.0, ({benefit} - {cost}) / 100.0, "
        f"CASE WHEN {cost} <> 0 THEN {roi} / 100.0 END, "
        f"COALESCE({side}.npv, 0) / 100.0, {side}.payback"
    )


def _snapshot_insert(d: _Dialect) -> str:
    month = _month
    return f"""
INSERT INTO roi_snapshots ({SNAPSHOT_COLUMNS})
WITH scope AS (
  SELECT p.id, p.program_id, p.department, p.phase, p.state, p.budget,
    {d.utc_day("p.created_at")} AS created_on,
    {d.day("p.phase_entered_on")} AS entered_on
  FROM projects p
  WHERE p.state NOT IN ('killed', 'retired') AND p.created_at < {d.instant}
),
entries AS (
  SELECT project_id, kind, period, {_units("SUM(amount)", 100)} AS cost, 0 AS benefit
  FROM cost_entries WHERE period <= :period AND project_id IN (SELECT id FROM scope)
  GROUP BY project_id, kind, period
  UNION ALL
  SELECT project_id, kind, period, 0, {_units("SUM(amount)", 100)}
  FROM benefit_entries WHERE period <= :period AND project_id IN (SELECT id FROM scope)
  GROUP BY project_id, kind, period
),
running AS (
  SELECT e.project_id, e.kind, e.period, e.cost, e.benefit, {month("e.period")} AS month,
    1 + CAST(COALESCE(pr.discount_rate, 0.08) AS DOUBLE PRECISION) AS growth,
    SUM(e.cost) OVER (PARTITION BY e.project_id, e.kind ORDER BY e.period) AS cumulative_cost,
    SUM(e.benefit) OVER (PARTITION BY e.project_id, e.kind ORDER BY e.period)
      AS cumulative_benefit
  FROM entries e JOIN projects p ON p.id = e.project_id
  JOIN programs pr ON pr.id = p.program_id
),
money AS (
  -- NPV: each month's net discounted back from P, then the sum brought forward from P to
  -- the first month (the same as discounting from the first month, without a window)
  SELECT project_id, kind, CAST(SUM(cost) AS BIGINT) AS cost,
    CAST(SUM(benefit) AS BIGINT) AS benefit,
    ROUND(CAST(SUM((benefit - cost) * POWER(growth, (:period_index - month) / 12.0))
      / POWER(MAX(growth), (:period_index - MIN(month)) / 12.0) AS NUMERIC)) AS npv,
    MIN(CASE WHEN cumulative_benefit >= cumulative_cost AND cumulative_cost > 0
      THEN period END) AS payback
  FROM running GROUP BY project_id, kind
),
decided AS (
  SELECT DISTINCT project_id FROM gate_decisions WHERE project_id IN (SELECT id FROM scope)
),
changes AS (
  SELECT project_id, {d.utc_day("decided_at")} AS at,
    ROW_NUMBER() OVER (PARTITION BY project_id ORDER BY decided_at, id) AS seq,
    resulting_phase AS phase, resulting_state AS state
  FROM gate_decisions WHERE project_id IN (SELECT id FROM scope)
  UNION ALL
  SELECT s.id,
    CASE WHEN x.project_id IS NOT NULL OR s.created_on <= s.entered_on THEN s.created_on
      ELSE s.entered_on END,
    0,
    CASE WHEN x.project_id IS NULL THEN s.phase ELSE 'strategize' END,
    CASE WHEN x.project_id IS NULL THEN s.state ELSE 'active' END
  FROM scope s LEFT JOIN decided x ON x.project_id = s.id
),
spans AS (
  SELECT project_id, at, phase, state,
    LEAD(at) OVER (PARTITION BY project_id ORDER BY at, seq) AS next_at
  FROM changes
),
tracked AS (
  SELECT DISTINCT project_id FROM spans
  WHERE state = 'active' AND phase IN ('execute', 'manage') AND at <= :last_day
    AND (next_at IS NULL OR (next_at > at AND next_at > :first_day))
),
kpi AS (
  SELECT id, project_id, name, unit, direction, baseline_value, target_value, target_period,
    latest, latest_period, attainment, expected, scheduled,
    CASE WHEN attainment IS NULL THEN 'no_data'
      WHEN 10 * attainment >= 9 * expected THEN 'on_track'
      WHEN 10 * attainment >= 6 * expected THEN 'at_risk'
      ELSE 'off_track' END AS status
  FROM (
    SELECT units.*,
      CASE WHEN has_target = 1 AND span <> 0 AND gained IS NOT NULL
        THEN {_half_up("(gained * 10000)", "span")} END AS attainment,
      CASE WHEN has_target = 0 THEN NULL
        WHEN planned <= 0 OR elapsed >= planned THEN 10000
        WHEN elapsed <= 0 THEN 0
        ELSE (2 * elapsed * 10000 + planned) / (2 * planned) END AS expected
    FROM (
      SELECT k.id, k.project_id, k.name, k.unit, k.direction, k.baseline_value,
        k.target_value, k.target_period, m.period AS latest_period, m.value AS latest,
        CASE WHEN k.baseline_value IS NULL OR k.baseline_period IS NULL
          OR k.target_value IS NULL OR k.target_period IS NULL THEN 0 ELSE 1 END AS has_target,
        {_units("m.value", 1000000)} - {_units("k.baseline_value", 1000000)} AS gained,
        {_units("k.target_value", 1000000)} - {_units("k.baseline_value", 1000000)} AS span,
        :period_index - {month("k.baseline_period")} AS elapsed,
        {month("k.target_period")} - {month("k.baseline_period")} AS planned,
        CASE WHEN k.baseline_period IS NOT NULL AND :period >= k.baseline_period
          AND (k.cadence = 'monthly' OR :quarter_end = 1) THEN 1 ELSE 0 END AS scheduled
      FROM kpis k {d.latest_measurement}
      WHERE k.project_id IN (SELECT id FROM scope)
    ) units
  ) progress
),
kpi_sums AS ({d.kpi_sums("kpi")}),
counted AS (
  SELECT s.*, ks.attainment, ks.on_track, ks.at_risk, ks.off_track, ks.no_data,
    ks.least_off_track, ks.details,
    CASE WHEN t.project_id IS NULL THEN 0 ELSE COALESCE(ks.scheduled, 0) END AS due,
    CASE WHEN t.project_id IS NULL THEN 0 ELSE COALESCE(ks.scheduled_measured, 0) END
      AS measured_count
  FROM scope s LEFT JOIN kpi_sums ks ON ks.project_id = s.id
  LEFT JOIN tracked t ON t.project_id = s.id
)
SELECT c.id, CAST(:period AS VARCHAR(7)), c.program_id, c.department, c.phase, c.state, c.budget,
  {_money_columns("a")}, {_money_columns("pl")},
  c.attainment / 100.0, c.due, c.measured_count, (c.due = c.measured_count),
  CASE WHEN c.off_track > 0 THEN 'off_track' WHEN c.at_risk > 0 THEN 'at_risk'
    WHEN c.on_track > 0 THEN 'on_track' ELSE 'no_data' END,
  CURRENT_TIMESTAMP, 0, COALESCE(c.on_track, 0), COALESCE(c.at_risk, 0),
  COALESCE(c.off_track, 0), COALESCE(c.no_data, 0), c.least_off_track / 100.0,
  COALESCE(c.details, '[]')
FROM counted c
LEFT JOIN money a ON a.project_id = c.id AND a.kind = 'actual'
LEFT JOIN money pl ON pl.project_id = c.id AND pl.kind = 'plan'
"""


# The period's stored sums, from its snapshots: the portfolio, each program, each department.
_TOTALS_MONEY = (
    "actual_cumulative_cost, actual_cumulative_benefit, actual_net_benefit, actual_npv, "
    "plan_cumulative_cost, plan_cumulative_benefit, plan_net_benefit, plan_npv"
)
_TOTALS_COUNTS = (
    "due_count, measured_count, on_track_kpis, at_risk_kpis, off_track_kpis, no_data_kpis"
)
_TOTALS_SUMS = ", ".join(
    f"COALESCE(SUM({name.strip()}), 0)" for name in f"{_TOTALS_MONEY}, {_TOTALS_COUNTS}".split(",")
)


def _totals_insert(scope: str, program: str, department: str, group: str) -> str:
    return (
        "INSERT INTO roi_snapshot_totals (period, scope, program_id, department, projects, "
        f"measured_projects, {_TOTALS_MONEY}, {_TOTALS_COUNTS}) "
        f"SELECT CAST(:period AS VARCHAR(7)), '{scope}', {program}, {department}, COUNT(id), "
        f"COALESCE(SUM(CASE WHEN measured THEN 1 ELSE 0 END), 0), {_TOTALS_SUMS} "
        f"FROM roi_snapshots WHERE period = :period GROUP BY {group}"
    )


SNAPSHOT_TOTALS = [
    "DELETE FROM roi_snapshot_totals WHERE period = :period",
    _totals_insert("portfolio", "CAST(NULL AS INTEGER)", "CAST(NULL AS VARCHAR(16))", "period"),
    _totals_insert("program", "program_id", "CAST(NULL AS VARCHAR(16))", "program_id"),
    _totals_insert("department", "CAST(NULL AS INTEGER)", "department", "department"),
]


# How much money history the job reads for a period: its cost and benefit entries up to it.
MONEY_ENTRIES_THROUGH = (
    "SELECT (SELECT COUNT(*) FROM cost_entries WHERE period <= :period) "
    "+ (SELECT COUNT(*) FROM benefit_entries WHERE period <= :period)"
)


def snapshot_floor(engine: str) -> list[str]:
    """The statements of the ``roi_snapshot`` job's floor on ``engine``: the period's
    snapshot rows, computed and written by one ``INSERT ... SELECT``, then its stored sums."""
    return [_snapshot_insert(_SQLITE if engine == "sqlite" else _POSTGRES), *SNAPSHOT_TOTALS]


def snapshot_floor_params(engine: str, period: str, timezone: str = "UTC") -> dict:
    """The floor's parameters for ``period`` in the installation's ``timezone``: the
    projects created before the period ended there get a snapshot, as in the job."""
    from datetime import UTC, date, datetime, time, timedelta
    from zoneinfo import ZoneInfo

    year, month = (int(x) for x in period.split("-"))
    first = date(year, month, 1)
    following = date(year + month // 12, month % 12 + 1, 1)
    end = datetime.combine(following, time.min, tzinfo=ZoneInfo(timezone)).astimezone(UTC)
    end_text = end.strftime("%Y-%m-%d %H:%M:%S")
    return {
        "period": period,
        "period_index": year * 12 + month,
        "quarter_end": 1 if month % 3 == 0 else 0,
        "first_day": first.isoformat(),
        "last_day": (following - timedelta(days=1)).isoformat(),
        "end_of_period": end_text if engine == "sqlite" else f"{end_text}+00:00",
    }


def write_snapshots_floor(raw: Raw, period: str, timezone: str = "UTC") -> None:
    """Run the floor for ``period`` on ``raw``'s connection, in the caller's transaction
    (the period must have no snapshots in it yet)."""
    params = snapshot_floor_params(raw.engine, period, timezone)
    for statement in snapshot_floor(raw.engine):
        raw.execute(statement, **params)


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
