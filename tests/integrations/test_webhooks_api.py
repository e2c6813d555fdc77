"""``/api/v1/webhooks``: creation with the secret shown once, bad input, SSRF refusals."""

from __future__ import annotations

import pytest

from crmphase.integrations.rules import EVENT_TYPES, address_refusal, parse_target


def test_create_shows_the_secret_once(api, allow_private):
    crmo = api("crmo")
    created = crmo.post(
        "/api/v1/webhooks",
        json={"url": "http://127.0.0.1:9/hook", "events": ["gate.decided"], "description": "BI"},
    )
    assert created.status_code == 201, created.json
    assert created.json["secret"].startswith("whsec_")
    assert created.json["events"] == ["gate.decided"] and created.json["state"] == "active"
    one = crmo.get(f"/api/v1/webhooks/{created.json['id']}")
    assert one.status_code == 200 and "secret" not in one.json
    assert all("secret" not in w for w in crmo.get("/api/v1/webhooks").json)

    rotated = crmo.post(f"/api/v1/webhooks/{created.json['id']}/secret")
    assert rotated.status_code == 200
    assert rotated.json["secret"].startswith("whsec_")
    assert rotated.json["secret"] != created.json["secret"]


def test_update_with_version(api, allow_private):
    crmo = api("crmo")
    created = crmo.post(
        "/api/v1/webhooks", json={"url": "http://127.0.0.1:9/a", "events": ["alert.opened"]}
    ).json
    path = f"/api/v1/webhooks/{created['id']}"
    changed = crmo.patch(path, json={"version": created["version"], "events": ["alert.resolved"]})
    assert changed.status_code == 200 and changed.json["events"] == ["alert.resolved"]
    stale = crmo.patch(path, json={"version": created["version"], "description": "x"})
    assert stale.status_code == 409


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://example.com/x", "events": ["gate.decided"]}, "url"),
        ({"url": "http://example.com/x", "events": ["gate.decided"]}, "url"),
        ({"url": "https://127.0.0.1/x", "events": ["gate.decided"]}, "url"),
        ({"url": "https://169.254.169.254/latest", "events": ["gate.decided"]}, "url"),
        ({"url": "https://10.0.0.8/x", "events": ["gate.decided"]}, "url"),
        ({"url": "https://localhost/x", "events": ["gate.decided"]}, "url"),
        ({"url": "https://[::1]/x", "events": ["gate.decided"]}, "url"),
        ({"url": "https://example.invalid/x", "events": ["gate.decided"]}, "url"),
        ({"url": "https://93.184.216.34/x", "events": ["gate.exploded"]}, "events"),
        ({"url": "https://93.184.216.34/x", "events": []}, "events"),
    ],
)
def test_bad_input_is_a_clear_422(api, body, field):
    answer = api("crmo").post("/api/v1/webhooks", json=body)
    assert answer.status_code == 422, answer.json
    assert answer.json["type"] and answer.json["title"]
    assert field in {e["field"].split(".")[0] for e in answer.json["errors"]}


def test_a_public_address_is_accepted():
    # by the rules alone: the test machine may have no route to the internet

    parse_target("https://93.184.216.34/hook", allow_private=False)
    assert address_refusal(["93.184.216.34"], allow_private=False) is None


@pytest.mark.parametrize("role", ["manager", "steering", "viewer"])
def test_only_the_crmo_manages_webhooks(api, role):
    assert api(role).get("/api/v1/webhooks").status_code == 403


def test_the_openapi_document_describes_every_event(client):
    document = client.get("/api/v1/openapi.json").json
    schemas = document["components"]["schemas"]
    for name in ("GateDecidedEvent", "AlertEscalatedEvent", "SnapshotWrittenEvent"):
        assert set(schemas[name]["properties"]) == {"type", "timestamp", "data"}
    assert "/api/v1/webhooks/{webhook_id}/deliveries" in document["paths"]


def test_event_types_listed(api):
    listed = api("crmo").get("/api/v1/webhooks/events").json
    assert [e["name"] for e in listed] == list(EVENT_TYPES)


def test_webhook_pages(page_client, make_user, allow_private):
    client = page_client(make_user("crmo"))
    assert client.get("/webhooks").status_code == 200
    made = client.post(
        "/webhooks", data={"url": "http://127.0.0.1:9/p", "events": ["gate.decided"]}
    )
    assert made.status_code == 200 and b"whsec_" in made.data
    refused = client.post("/webhooks", data={"url": "gopher://x", "events": ["gate.decided"]})
    assert refused.status_code == 422 and b"https://" in refused.data
