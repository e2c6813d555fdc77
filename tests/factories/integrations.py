"""Factories of integrations: webhook endpoints."""

from __future__ import annotations

from crmphase.integrations.models import Webhook
from crmphase.integrations.rules import EVENT_TYPES
from crmphase.integrations.services import create_webhook

from .base import fixture_of


def make_webhook(url: str, events=EVENT_TYPES, *, description: str = "") -> Webhook:
    """``make_webhook(receiver.url)``: an endpoint wanting ``events`` (all by default).

    Through ``integrations.services.create_webhook``: the URL checks and the secret are
    the real ones (a loopback receiver needs CRMPHASE_WEBHOOKS_ALLOW_PRIVATE=1)."""
    return create_webhook(None, url=url, events=list(events), description=description)


make_webhook_fixture = fixture_of(make_webhook)
