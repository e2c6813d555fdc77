"""Every domain's API blueprint, registered under /api/v1."""

from crmphase.api import API_PREFIX
from crmphase.auth.api import blp as tokens_blp
from crmphase.dashboard.api import blp as dashboard_blp
from crmphase.exports.api import blp as exports_blp
from crmphase.extensions import csrf
from crmphase.integrations.api import blp as webhooks_blp
from crmphase.integrations.api import register_event_schemas
from crmphase.jobs.api import blp as jobs_blp
from crmphase.metrics.api import blp as metrics_blp
from crmphase.notifications.api import blp as notifications_blp
from crmphase.phases.api import blp as gates_blp
from crmphase.programs.api import blp as programs_blp


def api_blueprints() -> list:
    return [
        programs_blp,
        gates_blp,
        metrics_blp,
        dashboard_blp,
        jobs_blp,
        notifications_blp,
        exports_blp,
        tokens_blp,
        webhooks_blp,
    ]


def register_api_blueprints(api) -> None:
    for blueprint in api_blueprints():
        # Token-authenticated JSON: the session cookie is never read there, so no CSRF.
        csrf.exempt(blueprint)
        api.register_blueprint(blueprint, url_prefix=API_PREFIX)
    register_event_schemas(api.spec)
