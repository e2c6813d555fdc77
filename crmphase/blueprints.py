"""Every domain's page blueprint."""

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from crmphase.auth.account import bp as account_bp
    from crmphase.auth.views import bp as auth_bp
    from crmphase.dashboard.views import bp as dashboard_bp
    from crmphase.programs.views import bp as programs_bp

    for blueprint in (auth_bp, dashboard_bp, programs_bp, account_bp):
        app.register_blueprint(blueprint)
