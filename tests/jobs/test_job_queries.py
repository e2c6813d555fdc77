"""The jobs read the database in bulk: the number of reads does not grow with projects
(each new row is still one INSERT; reads are what an N+1 would multiply)."""

from crmphase import clock
from crmphase.jobs.services import run_job


def build(n, tracked_project, make_kpi, make_cost):
    for _ in range(n):
        project = tracked_project()
        make_kpi(project)
        make_cost(project, "2026-01", "10.00")


def reads_for(count_queries, job, period, when) -> int:
    with clock.frozen(when), count_queries() as statements:
        result = run_job(job, period, trigger="schedule", deliver=False)
    assert result.succeeded, result.run.error
    assert result.run.rows_written > 0
    return sum(1 for s in statements if s.lstrip().upper().startswith("SELECT"))


def test_snapshot_reads_do_not_grow_with_projects(
    db, tracked_project, make_kpi, make_cost, count_queries
):
    build(2, tracked_project, make_kpi, make_cost)
    few = reads_for(count_queries, "roi_snapshot", "2026-01", "2026-02-01T02:00:00")
    build(8, tracked_project, make_kpi, make_cost)
    many = reads_for(count_queries, "roi_snapshot", "2026-02", "2026-03-01T02:00:00")
    assert many == few, (few, many)


def test_measurement_check_reads_do_not_grow_with_projects(
    db, tracked_project, make_kpi, make_cost, count_queries
):
    build(2, tracked_project, make_kpi, make_cost)
    few = reads_for(count_queries, "measurement_check", "2026-02-11", "2026-02-11T06:00:00")
    build(8, tracked_project, make_kpi, make_cost)
    many = reads_for(count_queries, "measurement_check", "2026-03-11", "2026-03-11T06:00:00")
    assert many == few, (few, many)
