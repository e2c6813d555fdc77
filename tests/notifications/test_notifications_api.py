"""The notifications API: private to their recipient, marked read one by one."""

import pytest

from crmphase import clock


@pytest.fixture
def frozen():
    with clock.frozen("2026-03-10T12:00:00"):
        yield


def test_notifications_are_private_and_can_be_marked_read(
    api, frozen, make_user, make_notification
):
    me, other = make_user("manager"), make_user("manager")
    mine = make_notification(me, "Measurement due", body="...", dedupe_key="t:1")
    theirs = make_notification(other, "Not yours", body="...", dedupe_key="t:2")
    client = api(me)
    listed = client.get("/api/v1/notifications").json
    assert [n["subject"] for n in listed["items"]] == ["Measurement due"]
    assert client.post(f"/api/v1/notifications/{theirs.id}/read").status_code == 404
    read = client.post(f"/api/v1/notifications/{mine.id}/read")
    assert read.status_code == 200 and read.json["read_at"] is not None
    assert client.get("/api/v1/notifications?unread=true").json["total"] == 0
