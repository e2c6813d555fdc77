"""The pure rules: signing (checked with the independent ``standardwebhooks`` package),
receiver URLs, the retry schedule and the chat bodies."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook as Verifier
from standardwebhooks.webhooks import WebhookVerificationError

from crmphase.integrations import rules


@given(body=st.binary(max_size=500))
def test_signatures_verify_with_the_standardwebhooks_package(body):
    secret = rules.new_secret()
    message_id = rules.new_message_id()
    stamp = int(datetime.now(UTC).timestamp())
    headers = rules.signed_headers(secret, message_id, stamp, body)
    Verifier(secret).verify(body, headers, json_parse=False)  # raises unless it verifies


def test_a_changed_body_or_other_secret_does_not_verify():
    secret, body = rules.new_secret(), b'{"type":"gate.decided"}'
    stamp = int(datetime.now(UTC).timestamp())
    headers = rules.signed_headers(secret, "msg_1", stamp, body)
    with pytest.raises(WebhookVerificationError):
        Verifier(secret).verify(body + b" ", headers)
    with pytest.raises(WebhookVerificationError):
        Verifier(rules.new_secret()).verify(body, headers)


def test_secrets_are_written_whsec_base64():
    secret = rules.new_secret()
    assert secret.startswith("whsec_")
    assert len(rules.secret_key(secret)) == rules.SECRET_BYTES


def test_event_body_is_type_timestamp_data():
    at = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    assert rules.event_body("gate.decided", at, {"project_id": 3}) == (
        b'{"data":{"project_id":3},"timestamp":"2026-03-01T09:30:00+00:00","type":"gate.decided"}'
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/hook", "https://"),
        ("javascript:alert(1)", "https://"),
        ("https://", "https://"),
        ("http://example.com/hook", "plain http"),
        ("https://user:pw@example.com/", "user name"),
        ("https://example.com:99999/", "not a URL"),
    ],
)
def test_urls_that_are_refused(url, message):
    with pytest.raises(rules.UrlRefused, match=message):
        rules.parse_target(url, allow_private=False)


def test_http_only_when_allowed():
    target = rules.parse_target("http://127.0.0.1:8080/in?x=1", allow_private=True)
    assert target == rules.Target("http", "127.0.0.1", 8080, "/in?x=1")


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "192.168.0.10",
        "172.16.5.4",
        "169.254.169.254",
        "::1",
        "fe80::1",
        "fc00::1",
        "0.0.0.0",  # noqa: S104 (an address refused, not bound)
        "100.64.0.1",
        "224.0.0.1",
    ],
)
def test_private_loopback_link_local_addresses_are_refused(address):
    assert "only public addresses" in rules.address_refusal([address], allow_private=False)
    assert rules.address_refusal([address], allow_private=True) is None


def test_one_private_address_among_public_ones_is_refused():
    assert rules.address_refusal(["93.184.216.34", "10.0.0.1"], allow_private=False)
    assert rules.address_refusal(["93.184.216.34"], allow_private=False) is None
    assert "does not resolve" in rules.address_refusal([], allow_private=True)


def test_unknown_events():
    assert rules.unknown_events(["gate.decided", "gate.exploded"]) == ["gate.exploded"]


def test_back_off_grows_and_spans_about_a_day():
    delays = [rules.next_attempt_delay(n) for n in range(1, rules.MAX_ATTEMPTS)]
    assert all(later >= earlier for earlier, later in itertools.pairwise(delays))
    assert timedelta(hours=20) <= sum(delays, timedelta()) <= timedelta(hours=36)
    assert rules.next_attempt_delay(rules.MAX_ATTEMPTS) is None


def test_chat_bodies():
    slack = rules.chat_body("slack", "Gate decided: go", "https://crm.example/projects/3")
    assert slack == {"text": "Gate decided: go <https://crm.example/projects/3|Open in crmphase>"}
    teams = rules.chat_body("teams", "Gate decided: go", "https://crm.example/projects/3")
    card = teams["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert card["content"]["actions"][0]["url"] == "https://crm.example/projects/3"
