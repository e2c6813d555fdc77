"""Sign in and sign out; the account pages: a user's API tokens (the CRMO sees and revokes
everyone's) and the security events."""

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import login_user, logout_user

from crmphase.audit.loaders import security_events_query
from crmphase.auth import loaders, services
from crmphase.auth.forms import LoginForm, TokenForm
from crmphase.auth.policy import Action, authorize, can, current_actor, permission_required, public
from crmphase.errors import ValidationFailed
from crmphase.extensions import db
from crmphase.forms import ConfirmForm, apply_errors
from crmphase.navigation import NavEntry, add_nav

bp = Blueprint("auth", __name__)
account_bp = Blueprint("account", __name__, url_prefix="/account")


def _safe_next(target: str | None) -> str:
    # a local path only; browsers read "/\\host" as "//host", so no backslash either
    if target is not None:
        local = target.startswith("/") and "//" not in target and "\\" not in target
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


# --- the account pages ---------------------------------------------------------------------


def _tokens_page(form: TokenForm, new_token: str | None = None):
    actor = current_actor()
    sees_all = can(actor, Action.TOKEN_MANAGE_ANY)
    query = loaders.token_query(user_id=None if sees_all else actor.id)
    page = db.paginate(query, per_page=current_app.config["PER_PAGE"])
    return render_template(
        "account/tokens.html", form=form, page=page, sees_all=sees_all, new_token=new_token
    )


@account_bp.route("/tokens", methods=["GET", "POST"])
@permission_required(Action.TOKEN_OWN)
def tokens():
    form = TokenForm()
    if form.validate_on_submit():
        try:
            token, plain = services.create_own_token(current_actor(), form.name.data)
        except ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            flash(f"Token '{token.name}' created. Copy it now: it is shown only once.", "success")
            return _tokens_page(TokenForm(formdata=None), new_token=plain)
    return _tokens_page(form)


@account_bp.route("/tokens/<int:token_id>/revoke", methods=["GET", "POST"])
@permission_required(Action.TOKEN_OWN)
def token_revoke(token_id):
    token = loaders.get_token(token_id)
    authorize(Action.TOKEN_OWN, token)
    form = ConfirmForm()
    if form.validate_on_submit():
        services.revoke_token(token.id, current_actor())
        flash(f"Token '{token.name}' ({token.prefix}…) is revoked.", "success")
        return redirect(url_for("account.tokens"))
    return render_template("account/token_revoke.html", token=token, form=form)


@account_bp.route("/security-events")
@permission_required(Action.USER_MANAGE)
def security_events():
    page = db.paginate(security_events_query(), per_page=50)
    return render_template("account/security_events.html", page=page)


add_nav(NavEntry("API tokens", "account.tokens", order=90))
add_nav(NavEntry("Security events", "account.security_events", order=91, action=Action.USER_MANAGE))
