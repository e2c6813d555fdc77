"""``/api/v1/programs`` and ``/api/v1/projects``."""

from flask.views import MethodView
from flask_smorest import Blueprint

from crmphase.api.fields import PageQuery, page_body
from crmphase.auth.policy import Action, authorize, current_actor, permission_required
from crmphase.extensions import db
from crmphase.programs import loaders, services
from crmphase.programs.schemas import (
    ProgramPage,
    ProgramSchema,
    ProgramUpdateSchema,
    ProjectFilterQuery,
    ProjectPage,
    ProjectSchema,
    ProjectUpdateSchema,
)

blp = Blueprint("programs_api", __name__, description="Programs and their bite-size projects")


def _page(query, args):
    return db.paginate(query, page=args["page"], per_page=args["per_page"], error_out=False)


@blp.route("/programs")
class Programs(MethodView):
    decorators = [permission_required(Action.READ)]

    @blp.arguments(PageQuery, location="query")
    @blp.response(200, ProgramPage)
    def get(self, args):
        """List programs, by name."""
        return page_body(_page(loaders.program_query(), args))

    @permission_required(Action.PROGRAM_MANAGE)
    @blp.arguments(ProgramSchema)
    @blp.response(201, ProgramSchema)
    def post(self, data):
        """Create a program (CRMO)."""
        authorize(Action.PROGRAM_MANAGE)
        return services.create_program(current_actor(), data)


@blp.route("/programs/<int:program_id>")
class ProgramItem(MethodView):
    decorators = [permission_required(Action.READ)]

    @blp.response(200, ProgramSchema)
    def get(self, program_id):
        """One program."""
        return loaders.get_program(program_id)

    @permission_required(Action.PROGRAM_MANAGE)
    @blp.arguments(ProgramUpdateSchema)
    @blp.response(200, ProgramSchema)
    def patch(self, data, program_id):
        """Change a program (CRMO). Send the version you read; a stale one gets 409."""
        authorize(Action.PROGRAM_MANAGE)
        program = loaders.get_program(program_id)
        version = data.pop("version")
        return services.update_program(current_actor(), program, data, version)


@blp.route("/projects")
class Projects(MethodView):
    decorators = [permission_required(Action.READ)]

    @blp.arguments(ProjectFilterQuery, location="query")
    @blp.response(200, ProjectPage)
    def get(self, args):
        """List projects, filtered by program, department, phase, state or manager."""
        query = loaders.project_query(
            program_id=args.get("program_id"),
            department=args.get("department"),
            phase=args.get("phase"),
            state=args.get("state"),
            manager_id=args.get("manager_id"),
            search=args.get("q"),
        )
        return page_body(_page(query, args))

    @permission_required(Action.PROJECT_CREATE)
    @blp.arguments(ProjectSchema)
    @blp.response(201, ProjectSchema)
    def post(self, data):
        """Create a project in strategize (managers and the CRMO)."""
        authorize(Action.PROJECT_CREATE)
        return services.create_project(current_actor(), data)


@blp.route("/projects/<int:project_id>")
class ProjectItem(MethodView):
    decorators = [permission_required(Action.READ)]

    @blp.response(200, ProjectSchema)
    def get(self, project_id):
        """One project."""
        return loaders.get_project(project_id, header=False)

    @permission_required(Action.PROJECT_EDIT)
    @blp.arguments(ProjectUpdateSchema)
    @blp.response(200, ProjectSchema)
    def patch(self, data, project_id):
        """Change a project's data. Send the version you read; a stale one gets 409."""
        project = loaders.get_project(project_id)
        authorize(Action.PROJECT_EDIT, project)
        version = data.pop("version")
        return services.update_project(current_actor(), project, data, version)
