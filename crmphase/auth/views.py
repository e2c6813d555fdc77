"""Sign in and sign out."""

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import login_user, logout_user

from crmphase.auth import services
from crmphase.auth.forms import LoginForm
from crmphase.auth.policy import Action, permission_required, public

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    # a local path only; browsers read "/\\host" as "//host", so no backslash either
    local = target and target.startswith("/") and "//" not in target and "\\" not in target
    if local and not urlsplit(target).netloc:
        return target
    return url_for("dashboard.index")


def _login_limit() -> str:
    return current_app.config["CRMPHASE_LOGIN_LIMIT"]


def apply_rate_limits(app) -> None:
    """Limit sign-in attempts per client address (``CRMPHASE_LOGIN_LIMIT``), counted in
    ``CRMPHASE_RATELIMIT_STORAGE`` so that every gunicorn worker sees the same count."""
    limiter = app.extensions["crmphase_limiter"]
    app.view_functions["auth.login"] = limiter.limit(_login_limit, methods=["POST"])(
        app.view_functions["auth.login"]
    )


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        if user:
            login_user(user, remember=form.remember.data)
            return redirect(_safe_next(request.args.get("next")))
        flash("Email or password is not right.", "error")
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@permission_required(Action.READ)
def logout():
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))
