"""``/api/v1/webhooks``: endpoints, their deliveries and redelivery (CRMO only)."""

from flask.views import MethodView
from flask_smorest import Blueprint

from crmphase.api.fields import page_body
from crmphase.auth.policy import Action, current_actor, permission_required
from crmphase.extensions import db
from crmphase.integrations import loaders, services
from crmphase.integrations.rules import EVENT_TYPES
from crmphase.integrations.schemas import (
    DeliveryPage,
    DeliveryQuery,
    DeliverySchema,
    EventTypeSchema,
    WebhookCreated,
    WebhookSchema,
    WebhookUpdate,
    event_schema,
    event_schema_name,
)

blp = Blueprint("webhooks_api", __name__, description="Webhooks (SPEC §7)")


def register_event_schemas(spec) -> None:
    """Put each event type's body schema in the OpenAPI document's components."""
    for event_type in EVENT_TYPES:
        spec.components.schema(event_schema_name(event_type), schema=event_schema(event_type))


@blp.route("/webhooks")
class Webhooks(MethodView):
    decorators = [permission_required(Action.WEBHOOK_MANAGE)]

    @blp.response(200, WebhookSchema(many=True))
    def get(self):
        """The webhook endpoints (CRMO)."""
        return db.session.scalars(loaders.webhooks_query()).all()

    @blp.arguments(WebhookSchema)
    @blp.response(201, WebhookCreated)
    def post(self, data):
        """Register an endpoint. The answer holds its ``secret``, shown this once."""
        return services.create_webhook(
            current_actor(),
            url=data["url"],
            events=data["event_types"],
            description=data.get("description", ""),
        )


@blp.route("/webhooks/events")
class WebhookEventTypes(MethodView):
    decorators = [permission_required(Action.WEBHOOK_MANAGE)]

    @blp.response(200, EventTypeSchema(many=True))
    def get(self):
        """The event types an endpoint may want, with the component describing each body."""
        return [{"name": e, "schema": event_schema_name(e)} for e in EVENT_TYPES]


@blp.route("/webhooks/<int:webhook_id>")
class WebhookItem(MethodView):
    decorators = [permission_required(Action.WEBHOOK_MANAGE)]

    @blp.response(200, WebhookSchema)
    def get(self, webhook_id):
        """One endpoint (without its secret)."""
        return services.get_webhook(webhook_id)

    @blp.arguments(WebhookUpdate)
    @blp.response(200, WebhookSchema)
    def patch(self, data, webhook_id):
        """Change the URL, events or description; send the ``version`` you read."""
        return services.update_webhook(
            current_actor(),
            webhook_id,
            data["version"],
            url=data.get("url"),
            events=data.get("events"),
            description=data.get("description"),
        )

    @blp.response(204)
    def delete(self, webhook_id):
        """Remove the endpoint, its queue and its log."""
        services.delete_webhook(current_actor(), webhook_id)


@blp.route("/webhooks/<int:webhook_id>/secret")
class WebhookSecret(MethodView):
    decorators = [permission_required(Action.WEBHOOK_MANAGE)]

    @blp.response(200, WebhookCreated)
    def post(self, webhook_id):
        """Rotate the secret; the answer shows the new one, this once."""
        return services.rotate_secret(current_actor(), webhook_id)


@blp.route("/webhooks/<int:webhook_id>/deliveries")
class WebhookDeliveries(MethodView):
    decorators = [permission_required(Action.WEBHOOK_MANAGE)]

    @blp.arguments(DeliveryQuery, location="query")
    @blp.response(200, DeliveryPage)
    def get(self, args, webhook_id):
        """The endpoint's deliveries, newest first, each with every attempt (status code,
        duration, response excerpt)."""
        services.get_webhook(webhook_id)
        query = loaders.deliveries_query(webhook_id)
        return page_body(
            db.paginate(query, page=args["page"], per_page=args["per_page"], error_out=False)
        )


@blp.route("/webhooks/<int:webhook_id>/deliveries/<int:delivery_id>/redeliver")
class WebhookRedeliver(MethodView):
    decorators = [permission_required(Action.WEBHOOK_MANAGE)]

    @blp.response(202, DeliverySchema)
    def post(self, webhook_id, delivery_id):
        """Queue a delivery again now (same ``webhook-id``); the scheduler posts it."""
        return services.redeliver(current_actor(), webhook_id, delivery_id)
