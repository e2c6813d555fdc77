"""``/api/v1/notifications``: your notifications, and marking them read."""

from flask.views import MethodView
from flask_smorest import Blueprint

from crmphase.api.fields import page_body
from crmphase.auth.policy import Action, current_actor, permission_required
from crmphase.extensions import db
from crmphase.notifications import loaders, services
from crmphase.notifications.schemas import NotificationPage, NotificationQuery, NotificationSchema

blp = Blueprint("notifications_api", __name__, description="Notifications")


@blp.route("/notifications")
class Notifications(MethodView):
    decorators = [permission_required(Action.READ)]

    @blp.arguments(NotificationQuery, location="query")
    @blp.response(200, NotificationPage)
    def get(self, args):
        """Your notifications, newest first (``unread=true`` for the unread ones)."""
        query = loaders.notifications_query(current_actor(), unread_only=args["unread"])
        return page_body(
            db.paginate(query, page=args["page"], per_page=args["per_page"], error_out=False)
        )


@blp.route("/notifications/<int:notification_id>/read")
class NotificationRead(MethodView):
    decorators = [permission_required(Action.READ)]

    @blp.response(200, NotificationSchema)
    def post(self, notification_id):
        """Mark one of your notifications read."""
        services.mark_read(current_actor(), notification_id)
        return loaders.get_own(current_actor(), notification_id)
