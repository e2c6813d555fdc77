"""The job table: every domain's periodic jobs, gathered from its ``tasks.py``.

The scheduler, the CLI, the API and the job page all read this table, so a job has one
name and one schedule everywhere. A redeploy re-registers the same ids, never duplicates.
The order is the order a tick runs them in (a month's snapshot before its review export).
"""

from __future__ import annotations

from crmphase.errors import NotFound
from crmphase.exports import tasks as exports_tasks
from crmphase.integrations import tasks as integrations_tasks
from crmphase.jobs.definition import JobDefinition
from crmphase.metrics import tasks as metrics_tasks

JOBS: dict[str, JobDefinition] = {
    job.name: job
    for module in (metrics_tasks, exports_tasks, integrations_tasks)
    for job in module.JOBS
}


def get_job(name: str) -> JobDefinition:
    """The job called ``name``; :class:`~crmphase.errors.NotFound` (404) otherwise."""
    try:
        return JOBS[name]
    except KeyError:
        known = ", ".join(sorted(JOBS))
        raise NotFound(f"no job named '{name}'; the jobs are {known}") from None


def all_jobs() -> list[JobDefinition]:
    return list(JOBS.values())
