"""Every domain's page blueprint."""

from flask import Flask

from crmphase.assets import bp as assets_bp
from crmphase.auth.views import account_bp
from crmphase.auth.views import bp as auth_bp
from crmphase.dashboard.views import bp as dashboard_bp
from crmphase.exports.views import bp as exports_bp
from crmphase.integrations.views import bp as integrations_bp
from crmphase.jobs.views import bp as jobs_bp
from crmphase.metrics.views import bp as metrics_bp
from crmphase.notifications.views import bp as notifications_bp
from crmphase.phases.views import bp as phases_bp
from crmphase.programs.views import bp as programs_bp


def register_blueprints(app: Flask) -> None:
    """Register every domain's pages on ``app``."""
    for blueprint in (
        assets_bp,
        auth_bp,
        dashboard_bp,
        programs_bp,
        phases_bp,
        metrics_bp,
        jobs_bp,
        notifications_bp,
        account_bp,
        integrations_bp,
    ):
        app.register_blueprint(blueprint)
    app.register_blueprint(exports_bp)
