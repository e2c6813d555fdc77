"""Pages: everybody's notifications, and marking them read."""

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from crmphase.auth.policy import Action, current_actor, permission_required
from crmphase.extensions import db
from crmphase.navigation import NavEntry, add_nav
from crmphase.notifications import loaders, services

bp = Blueprint("notifications", __name__)


@bp.route("/notifications")
@permission_required(Action.READ)
def index():
    """Your notifications, newest first (``?unread=1``: the unread ones)."""
    unread = request.args.get("unread") == "1"
    page = db.paginate(
        loaders.notifications_query(current_actor(), unread_only=unread),
        per_page=current_app.config["PER_PAGE"],
    )
    return render_template("notifications/index.html", page=page, unread=unread)


@bp.route("/notifications/<int:notification_id>/read", methods=["POST"])
@permission_required(Action.READ)
def mark_read(notification_id):
    """Mark one of your notifications read and go back where you came from."""
    services.mark_read(current_actor(), notification_id)
    return redirect(request.referrer or url_for("notifications.index"))


@bp.route("/notifications/read", methods=["POST"])
@permission_required(Action.READ)
def mark_all_read():
    """Mark all your notifications read."""
    count = services.mark_read(current_actor())
    flash(f"{count} notification{'s' if count != 1 else ''} marked read.", "success")
    return redirect(url_for("notifications.index"))


add_nav(
    NavEntry("Notifications", "notifications.index", order=70, count=loaders.unread_count_statement)
)
