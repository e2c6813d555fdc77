"""The account pages: a user's API tokens (the CRMO sees and revokes everyone's)."""

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from crmphase.auth import services
from crmphase.auth.policy import Action, authorize, can, current_actor, permission_required
from crmphase.errors import ValidationFailed
from crmphase.extensions import db
from crmphase.forms import apply_errors
from crmphase.navigation import NavEntry, add_nav

bp = Blueprint("account", __name__, url_prefix="/account")


class TokenForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("give the token a name"), Length(max=80)])


class ConfirmForm(FlaskForm):
    """An empty form: only its CSRF token, for confirmed POSTs."""


def _tokens_page(form: TokenForm, new_token: str | None = None):
    actor = current_actor()
    sees_all = can(actor, Action.TOKEN_MANAGE_ANY)
    query = services.token_query(user_id=None if sees_all else actor.id)
    page = db.paginate(query, per_page=current_app.config["PER_PAGE"])
    return render_template(
        "account/tokens.html", form=form, page=page, sees_all=sees_all, new_token=new_token
    )


@bp.route("/tokens", methods=["GET", "POST"])
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


@bp.route("/tokens/<int:token_id>/revoke", methods=["GET", "POST"])
@permission_required(Action.TOKEN_OWN)
def token_revoke(token_id):
    token = services.get_token(token_id)
    authorize(Action.TOKEN_OWN, token)
    form = ConfirmForm()
    if form.validate_on_submit():
        services.revoke_token(token.id, current_actor())
        flash(f"Token '{token.name}' ({token.prefix}…) is revoked.", "success")
        return redirect(url_for("account.tokens"))
    return render_template("account/token_revoke.html", token=token, form=form)


SECURITY_EVENT_PREFIXES = ("auth.", "token.", "user.")


def security_events_query():
    """Sign-in failures, token and user changes, newest first."""
    import sqlalchemy as sa
    from sqlalchemy.orm import selectinload

    from crmphase.audit.models import Event

    return (
        sa.select(Event)
        .where(sa.or_(*[Event.action.startswith(p) for p in SECURITY_EVENT_PREFIXES]))
        .options(selectinload(Event.actor))
        .order_by(Event.id.desc())
    )


@bp.route("/security-events")
@permission_required(Action.USER_MANAGE)
def security_events():
    page = db.paginate(security_events_query(), per_page=50)
    return render_template("account/security_events.html", page=page)


add_nav(NavEntry("API tokens", "account.tokens", order=90))
add_nav(NavEntry("Security events", "account.security_events", order=91, roles=frozenset({"crmo"})))
