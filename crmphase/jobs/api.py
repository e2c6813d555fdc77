"""``/api/v1/jobs``."""

from flask.views import MethodView
from flask_smorest import Blueprint

from crmphase.api.fields import page_body
from crmphase.auth.policy import Action, authorize, current_actor, permission_required
from crmphase.extensions import db
from crmphase.jobs import loaders, services
from crmphase.jobs.registry import all_jobs, get_job
from crmphase.jobs.schemas import (
    JobRunPage,
    JobRunRequest,
    JobRunResult,
    JobSchema,
    RunListQuery,
)

blp = Blueprint("jobs_api", __name__, description="Scheduled jobs")


class _RunView:
    """A run as the POST answers it: the run's fields plus ``ran`` and ``message``."""

    def __init__(self, result):
        self.ran, self.message, self._run = result.ran, result.message, result.run

    def __getattr__(self, name):
        return getattr(self._run, name)


def _page(query, args):
    return db.paginate(query, page=args["page"], per_page=args["per_page"], error_out=False)


@blp.route("/jobs")
class Jobs(MethodView):
    decorators = [permission_required(Action.JOB_READ)]

    @blp.response(200, JobSchema(many=True))
    def get(self):
        """The job table: names, schedules, what each job does (CRMO)."""
        return all_jobs()


@blp.route("/jobs/<string:name>/runs")
class JobRuns(MethodView):
    decorators = [permission_required(Action.JOB_READ)]

    @blp.arguments(RunListQuery, location="query")
    @blp.response(200, JobRunPage)
    def get(self, args, name):
        """The runs of a job, newest first (CRMO)."""
        job = get_job(name)
        return page_body(_page(loaders.runs_query(job.name, args.get("outcome")), args))

    @blp.arguments(JobRunRequest)
    @blp.response(201, JobRunResult)
    @blp.alt_response(200, schema=JobRunResult, description="Not run: already running or done")
    def post(self, data, name):
        """Run a job for a period now (CRMO). A period that succeeded before is recomputed.

        201 with the run when it ran (its ``outcome`` says whether it succeeded); 200 with
        ``ran: false`` when another runner holds the period; 404 for an unknown job; 409
        when a job it depends on has not succeeded for the period; 422 for a bad or
        future period."""
        authorize(Action.JOB_RUN)
        result = services.run_job(
            name, data.get("period"), trigger="api", actor=current_actor(), deliver=False
        )
        return _RunView(result), (201 if result.ran else 200)
