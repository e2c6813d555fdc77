"""Pages: the webhook endpoints (CRMO), your calendar address, and the calendar feed."""

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, url_for

from crmphase import clock, config
from crmphase.auth.policy import Action, current_actor, permission_required, public
from crmphase.errors import ValidationFailed
from crmphase.extensions import db
from crmphase.forms import ConfirmForm, apply_errors
from crmphase.integrations import loaders, services
from crmphase.integrations.calendar import feed_document
from crmphase.integrations.forms import WebhookForm
from crmphase.integrations.rules import calendar_entries
from crmphase.navigation import NavEntry, add_nav

bp = Blueprint("integrations", __name__)


def _base_url() -> str:
    return current_app.config.get("CRMPHASE_BASE_URL") or url_for("dashboard.index", _external=True)


@bp.route("/webhooks", methods=["GET", "POST"])
@permission_required(Action.WEBHOOK_MANAGE)
def webhooks():
    """The endpoints, and a form to add one (its secret is shown once, on this page)."""
    form = WebhookForm()
    created = None
    if form.validate_on_submit():
        try:
            created = services.create_webhook(
                current_actor(),
                url=form.url.data,
                events=form.events.data,
                description=form.description.data,
            )
        except ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            form = WebhookForm(formdata=None)
    items = db.session.scalars(loaders.webhooks_query()).all()
    return render_template(
        "integrations/webhooks.html", form=form, webhooks=items, created=created
    ), (422 if form.errors else 200)


@bp.route("/webhooks/<int:webhook_id>")
@permission_required(Action.WEBHOOK_MANAGE)
def webhook_detail(webhook_id):
    """One endpoint: its deliveries, each attempt, redelivery and the secret's rotation."""
    webhook = services.get_webhook(webhook_id)
    page = db.paginate(
        loaders.deliveries_query(webhook.id), per_page=current_app.config["PER_PAGE"]
    )
    return render_template(
        "integrations/webhook.html", webhook=webhook, page=page, form=ConfirmForm()
    )


@bp.route("/webhooks/<int:webhook_id>/secret", methods=["POST"])
@permission_required(Action.WEBHOOK_MANAGE)
def webhook_rotate(webhook_id):
    """Rotate the secret and show the new one, once."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    webhook = services.rotate_secret(current_actor(), webhook_id)
    page = db.paginate(
        loaders.deliveries_query(webhook.id), per_page=current_app.config["PER_PAGE"]
    )
    return render_template(
        "integrations/webhook.html",
        webhook=webhook,
        page=page,
        form=ConfirmForm(),
        new_secret=webhook.secret,
    )


@bp.route("/webhooks/<int:webhook_id>/delete", methods=["POST"])
@permission_required(Action.WEBHOOK_MANAGE)
def webhook_delete(webhook_id):
    """Remove the endpoint with its log."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    services.delete_webhook(current_actor(), webhook_id)
    flash("Webhook removed.", "success")
    return redirect(url_for("integrations.webhooks"))


@bp.route("/webhooks/<int:webhook_id>/deliveries/<int:delivery_id>/redeliver", methods=["POST"])
@permission_required(Action.WEBHOOK_MANAGE)
def webhook_redeliver(webhook_id, delivery_id):
    """Queue a delivery again; the scheduler posts it within a tick."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    services.redeliver(current_actor(), webhook_id, delivery_id)
    flash("Queued again: the scheduler posts it within a minute.", "success")
    return redirect(url_for("integrations.webhook_detail", webhook_id=webhook_id))


@bp.route("/account/calendar", methods=["GET", "POST"])
@permission_required(Action.TOKEN_OWN)
def calendar_settings():
    """Your private calendar address; POST makes a new one (the old one stops working)."""
    form = ConfirmForm()
    if form.validate_on_submit():
        services.rotate_calendar_token(current_actor())
        flash("Your calendar has a new address; the old one no longer works.", "success")
        return redirect(url_for("integrations.calendar_settings"))
    feed = services.feed_of(current_actor())
    return render_template("integrations/calendar.html", feed=feed, form=form)


@bp.route("/account/calendar/revoke", methods=["POST"])
@permission_required(Action.TOKEN_OWN)
def calendar_revoke():
    """End your calendar address."""
    if ConfirmForm().validate_on_submit():
        services.revoke_calendar_token(current_actor())
        flash("Your calendar address no longer works.", "success")
    return redirect(url_for("integrations.calendar_settings"))


@bp.route("/calendar/<string:token>.ics")
@public
def calendar_feed(token):
    """The ICS feed of the user whose address carries ``token`` (404 once revoked)."""
    feed = loaders.feed_by_token(token)
    if feed is None or not feed.user.active:
        abort(404)
    user = feed.user
    entries = calendar_entries(
        clock.today(),
        loaders.owned_kpis(user),
        loaders.managed_reviews(user),
        loaders.waiting_reviews(user),
    )
    body = feed_document(
        entries,
        stamp=clock.now(),
        base_url=_base_url(),
        timezone_name=config.timezone_name(),
    )
    response = Response(body, mimetype="text/calendar")
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


add_nav(NavEntry("Webhooks", "integrations.webhooks", order=85, action=Action.WEBHOOK_MANAGE))
add_nav(NavEntry("Calendar feed", "integrations.calendar_settings", order=92))
