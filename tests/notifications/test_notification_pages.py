"""The notifications page: mine only, the unread count, marking read."""

import sqlalchemy as sa

from crmphase.notifications.models import Notification


def test_notifications_page_shows_mine_with_an_unread_count(
    page_client, make_user, make_notification, db
):
    me, other = make_user("manager"), make_user("manager")
    make_notification(me, "Due: A", dedupe_key="n:1", delivery="not_configured")
    make_notification(me, "Due: B", dedupe_key="n:2", delivery="not_configured")
    make_notification(other, "Secret", dedupe_key="n:3", delivery="not_configured")
    client = page_client(me)
    html = client.get("/notifications").get_data(as_text=True)
    assert "Due: A" in html and "Due: B" in html and "Secret" not in html
    assert 'Notifications <span class="count">2</span>' in html
    assert "in the app only" in html
    mine = db.session.scalar(sa.select(Notification).where(Notification.dedupe_key == "n:1"))
    theirs = db.session.scalar(sa.select(Notification).where(Notification.dedupe_key == "n:3"))
    assert client.post(f"/notifications/{theirs.id}/read").status_code == 404
    assert client.post(f"/notifications/{mine.id}/read").status_code == 302
    html = client.get("/notifications?unread=1").get_data(as_text=True)
    assert "Due: A" not in html and "Due: B" in html
    client.post("/notifications/read")
    html = client.get("/notifications?unread=1").get_data(as_text=True)
    assert "Nothing unread" in html and 'class="count"' not in html


def test_empty_notifications_say_what_will_arrive(page_client, make_user):
    html = page_client(make_user("viewer")).get("/notifications").get_data(as_text=True)
    assert "No notifications yet" in html
