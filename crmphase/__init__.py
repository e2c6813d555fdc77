"""crmphase: run a CRM program as bite-size projects through four gated phases."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from crmphase import (
    models,  # noqa: F401  (every model, for migrations and relationships)
    web,
)
from crmphase.api import app as api_app
from crmphase.assets import MIGRATIONS, STATIC, TEMPLATES, installed_path
from crmphase.auth.loaders import signed_in_user
from crmphase.auth.views import apply_rate_limits
from crmphase.blueprints import register_blueprints
from crmphase.cli import register_cli
from crmphase.config import instance_path, settings
from crmphase.database import configure_sqlite
from crmphase.extensions import csrf, db, login_manager, make_limiter, migrate


def create_app(config: dict | None = None) -> Flask:
    """The application factory. ``config`` overrides settings (tests)."""
    app = Flask(
        __name__,
        instance_path=instance_path(),
        instance_relative_config=True,
        template_folder=str(installed_path(TEMPLATES)),
        static_folder=str(installed_path(STATIC)),
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    app.config.from_mapping(settings(Path(app.instance_path)))
    if config:
        app.config.from_mapping(config)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(installed_path(MIGRATIONS)))
    csrf.init_app(app)
    limiter = make_limiter()
    limiter.init_app(app)
    app.extensions["crmphase_limiter"] = limiter
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to see this page."
    login_manager.login_message_category = "info"

    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            configure_sqlite(db.engine, app.config["SQLITE_BUSY_TIMEOUT_MS"])

    @login_manager.user_loader
    def _load_user(user_id: str):
        user = signed_in_user(int(user_id))
        return user if user is not None and user.active else None  # deactivation signs out

    web.init_app(app)
    api_app.init_app(app)
    register_blueprints(app)
    apply_rate_limits(app)
    register_cli(app)
    return app
