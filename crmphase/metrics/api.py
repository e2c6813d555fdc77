"""``/api/v1``: KPIs, measurements, costs, benefits, the ROI figures, the CSV import, the
monthly ROI snapshots and the alerts."""

import marshmallow as ma
from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from flask_smorest.fields import Upload
from werkzeug.exceptions import RequestEntityTooLarge

from crmphase import clock
from crmphase.api.fields import page_body
from crmphase.api.problems import problem
from crmphase.auth.policy import Action, authorize, current_actor, permission_required
from crmphase.errors import NotFound
from crmphase.extensions import db
from crmphase.metrics import imports, loaders, services
from crmphase.metrics.schemas import (
    AlertPage,
    AlertQuery,
    BenefitPage,
    CostEntrySchema,
    CostPage,
    ImportResultSchema,
    KpiSchema,
    KpiUpdateSchema,
    MeasurementInput,
    MeasurementSchema,
    MoneyEntrySchema,
    MoneyEntryUpdateSchema,
    MoneyFilterQuery,
    ProjectFiguresSchema,
    RoiQuery,
    SnapshotPage,
    SnapshotQuery,
)
from crmphase.programs.loaders import get_project

blp = Blueprint(
    "metrics_api",
    __name__,
    description="KPIs, measurements, plan and actual money, ROI figures, CSV import, ROI "
    "snapshots, alerts",
)


def too_large_message() -> str:
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
    return (
        f"the upload is larger than the limit of {limit / 1024 / 1024:.1f} MiB; "
        "split the file into smaller files"
    )


@blp.errorhandler(RequestEntityTooLarge)
def _too_large(_error):
    return problem(413, too_large_message(), title="File too large")


@blp.route("/projects/<int:project_id>/kpis")
class ProjectKpis(MethodView):
    decorators = [permission_required(Action.READ)]

    @blp.response(200, KpiSchema(many=True))
    def get(self, project_id):
        """The project's KPIs (benefit objectives), by name, each with its revisions."""
        return loaders.kpis_of(get_project(project_id).id)

    @blp.arguments(KpiSchema)
    @blp.response(201, KpiSchema)
    def post(self, data, project_id):
        """Add a KPI to the project (its manager or the CRMO)."""
        project = get_project(project_id)
        authorize(Action.KPI_EDIT, project)
        return services.create_kpi(current_actor(), project, data)


@blp.route("/kpis/<int:kpi_id>")
class KpiItem(MethodView):
    decorators = [permission_required(Action.READ)]

    @blp.response(200, KpiSchema)
    def get(self, kpi_id):
        """One KPI with its revisions."""
        return loaders.get_kpi(kpi_id)

    @blp.arguments(KpiUpdateSchema)
    @blp.response(200, KpiSchema)
    def patch(self, data, kpi_id):
        """Change a KPI. Send its version; after strategize, moving baseline or target
        needs a ``reason`` and keeps the earlier values as a revision."""
        kpi = loaders.get_kpi(kpi_id)
        authorize(Action.KPI_EDIT, kpi)
        version, reason = data.pop("version"), data.pop("reason", None)
        return services.update_kpi(current_actor(), kpi, data, version, reason)


@blp.route("/kpis/<int:kpi_id>/measurements")
class KpiMeasurements(MethodView):
    decorators = [permission_required(Action.READ)]

    @blp.response(200, MeasurementSchema(many=True))
    def get(self, kpi_id):
        """Every current measurement of the KPI, oldest period first, with the earlier
        values each correction replaced."""
        return loaders.measurements_of([loaders.get_kpi(kpi_id).id])


@blp.route("/kpis/<int:kpi_id>/measurements/<period>")
class KpiMeasurement(MethodView):
    decorators = [permission_required(Action.MEASUREMENT_RECORD)]

    @blp.arguments(MeasurementInput)
    @blp.response(200, MeasurementSchema, description="an existing value was corrected")
    @blp.alt_response(201, schema=MeasurementSchema, description="a new value was recorded")
    def put(self, data, kpi_id, period):
        """Enter or correct the value for a period (YYYY-MM, not in the future). A
        correction keeps the earlier value as a revision."""
        kpi = loaders.get_kpi(kpi_id)
        authorize(Action.MEASUREMENT_RECORD, kpi)
        measurement, created = services.record_measurement(
            current_actor(), kpi, period, data["value"], data.get("note"), source="api"
        )
        return measurement, 201 if created else 200


def _page(query, args):
    return page_body(
        db.paginate(query, page=args["page"], per_page=args["per_page"], error_out=False)
    )


def _money_list(project_id, args, what):
    project = get_project(project_id)
    return _page(loaders.money_entries(project.id, what, args.get("kind")), args)


@blp.route("/projects/<int:project_id>/costs")
class ProjectCosts(MethodView):
    decorators = [permission_required(Action.READ)]

    @blp.arguments(MoneyFilterQuery, location="query")
    @blp.response(200, CostPage)
    def get(self, args, project_id):
        """The project's cost entries, by period (filter with ``kind=plan|actual``)."""
        return _money_list(project_id, args, "cost")

    @blp.arguments(CostEntrySchema)
    @blp.response(201, CostEntrySchema)
    def post(self, data, project_id):
        """Book a plan or actual cost: ``{period, kind, amount, category, note}``."""
        project = get_project(project_id)
        authorize(Action.MONEY_EDIT, project)
        return services.add_money_entry(current_actor(), project, "cost", data)


@blp.route("/projects/<int:project_id>/benefits")
class ProjectBenefits(MethodView):
    decorators = [permission_required(Action.READ)]

    @blp.arguments(MoneyFilterQuery, location="query")
    @blp.response(200, BenefitPage)
    def get(self, args, project_id):
        """The project's benefit entries, by period (filter with ``kind=plan|actual``)."""
        return _money_list(project_id, args, "benefit")

    @blp.arguments(MoneyEntrySchema)
    @blp.response(201, MoneyEntrySchema)
    def post(self, data, project_id):
        """Book a plan or actual monetary benefit: ``{period, kind, amount, category, note}``."""
        project = get_project(project_id)
        authorize(Action.MONEY_EDIT, project)
        return services.add_money_entry(current_actor(), project, "benefit", data)


def _correct(what, entry_id, data):
    entry = loaders.get_money_entry(what, entry_id)
    authorize(Action.MONEY_EDIT, entry)
    return services.correct_money_entry(current_actor(), entry, what, data)


@blp.route("/costs/<int:entry_id>")
class CostItem(MethodView):
    decorators = [permission_required(Action.READ)]

    @blp.response(200, CostEntrySchema)
    def get(self, entry_id):
        """One cost entry."""
        return loaders.get_money_entry("cost", entry_id)

    @blp.arguments(MoneyEntryUpdateSchema)
    @blp.response(200, CostEntrySchema)
    def patch(self, data, entry_id):
        """Correct a cost entry; the project's history keeps the values before and after."""
        return _correct("cost", entry_id, data)


@blp.route("/benefits/<int:entry_id>")
class BenefitItem(MethodView):
    decorators = [permission_required(Action.READ)]

    @blp.response(200, MoneyEntrySchema)
    def get(self, entry_id):
        """One benefit entry."""
        return loaders.get_money_entry("benefit", entry_id)

    @blp.arguments(MoneyEntryUpdateSchema)
    @blp.response(200, MoneyEntrySchema)
    def patch(self, data, entry_id):
        """Correct a benefit entry; the project's history keeps the values before and after."""
        return _correct("benefit", entry_id, data)


@blp.route("/projects/<int:project_id>/roi")
class ProjectRoi(MethodView):
    decorators = [permission_required(Action.READ)]

    @blp.arguments(RoiQuery, location="query")
    @blp.response(200, ProjectFiguresSchema)
    def get(self, args, project_id):
        """Every SPEC §4 figure for a period (default: the month just ended), from plan
        and from actual entries, with the variance, the KPIs and the coverage."""
        period = args.get("period") or clock.last_complete_period()
        # load_figures reads the project anyway: no separate query to tell a 404
        figures = loaders.load_figures([project_id], period).get(project_id)
        if figures is None:
            raise NotFound(f"no project {project_id}")
        return figures


class MeasurementFile(ma.Schema):
    file = Upload(required=True, metadata={"description": "CSV: project,kpi,period,value,note"})


@blp.route("/imports/measurements")
class MeasurementImport(MethodView):
    decorators = [permission_required(Action.MEASUREMENT_IMPORT)]

    @blp.arguments(MeasurementFile, location="files")
    @blp.response(201, ImportResultSchema)
    @blp.alt_response(422, description="nothing imported; `errors` lists every bad row")
    @blp.alt_response(413, description="the file is larger than the upload limit")
    def post(self, files):
        """Import measurements from a CSV file: all rows or none."""
        try:
            return services.import_measurements(current_actor(), files["file"].read())
        except imports.MeasurementImportError as exc:
            return problem(
                422,
                f"nothing was imported: {len(exc.errors)} problem(s) in the file",
                title="Validation failed",
                errors=[e.as_dict() for e in exc.errors],
            )


@blp.route("/snapshots")
class Snapshots(MethodView):
    decorators = [permission_required(Action.READ)]

    @blp.arguments(SnapshotQuery, location="query")
    @blp.response(200, SnapshotPage)
    def get(self, args):
        """Monthly ROI snapshots (written by the ``roi_snapshot`` job), by period."""
        period = args.get("period")
        query = loaders.snapshots_query(
            str(period) if period else None,
            args.get("program_id"),
            args.get("project_id"),
            args.get("status"),
        )
        return _page(query, args)


@blp.route("/alerts")
class Alerts(MethodView):
    decorators = [permission_required(Action.READ)]

    @blp.arguments(AlertQuery, location="query")
    @blp.response(200, AlertPage)
    def get(self, args):
        """Alerts, newest first; filter by ``open``, ``kind``, ``project_id``, ``period``."""
        period = args.get("period")
        query = loaders.alerts_query(
            open_only=args.get("open"),
            kind=args.get("kind"),
            project_id=args.get("project_id"),
            program_id=args.get("program_id"),
            period=str(period) if period else None,
        )
        return _page(query, args)
