"""JSON shapes of notifications."""

import marshmallow as ma

from crmphase.api.fields import PageQuery, page_schema
from crmphase.notifications.models import DELIVERY_OUTCOMES

Str = ma.fields.String
Int = ma.fields.Integer


class NotificationSchema(ma.Schema):
    id = Int()
    subject = Str()
    body = Str()
    reason_type = Str()
    reason_id = Int(allow_none=True)
    created_at = ma.fields.DateTime()
    sent_at = ma.fields.DateTime(allow_none=True)
    delivery = Str(metadata={"enum": list(DELIVERY_OUTCOMES)})
    read_at = ma.fields.DateTime(allow_none=True)


class NotificationQuery(PageQuery):
    unread = ma.fields.Boolean(load_default=False)


NotificationPage = page_schema(NotificationSchema, "NotificationPage")
