"""API tokens: hashed, listed and revocable by their owner and the CRMO; each change audited."""

from __future__ import annotations

import hashlib

import sqlalchemy as sa

from crmphase.audit.models import Event
from crmphase.auth.models import ApiToken


def _events(db, action):
    return list(db.session.scalars(sa.select(Event).where(Event.action == action)))


def test_a_token_is_stored_only_as_its_hash(api, db, make_user):
    user = make_user("manager")
    response = api(user).post("/api/v1/tokens", json={"name": "BI export"})
    assert response.status_code == 201
    plain = response.json["token"]
    row = db.session.get(ApiToken, response.json["id"])
    assert row.token_hash == hashlib.sha256(plain.encode()).hexdigest()
    assert plain not in {row.token_hash, row.prefix, row.name}
    assert plain.startswith(row.prefix)
    # the new token works, and the list never shows a secret again
    listing = api(None).get("/api/v1/tokens", headers={"Authorization": f"Bearer {plain}"})
    assert listing.status_code == 200
    assert all("token" not in item for item in listing.json["items"])
    assert plain not in listing.get_data(as_text=True)
    assert _events(db, "token.issued")[-1].after == {"user": user.email, "name": "BI export"}


def test_a_token_needs_a_name(api):
    response = api("viewer").post("/api/v1/tokens", json={"name": "   "})
    assert response.status_code == 422
    assert response.json["errors"][0]["field"] == "name"
    assert api("viewer").post("/api/v1/tokens", json={}).status_code == 422


def test_users_list_their_own_tokens_and_the_crmo_lists_everyones(api, make_user):
    alice, bob, crmo = make_user("manager"), make_user("viewer"), make_user("crmo")
    api(alice).post("/api/v1/tokens", json={"name": "alice-extra"})
    api(bob).post("/api/v1/tokens", json={"name": "bob-extra"})
    mine = api(alice).get("/api/v1/tokens").json["items"]
    assert {t["user_id"] for t in mine} == {alice.id}
    # a non-CRMO asking for someone else's tokens still gets only their own
    assert {
        t["user_id"] for t in api(alice).get(f"/api/v1/tokens?user_id={bob.id}").json["items"]
    } == {alice.id}
    everyone = api(crmo).get("/api/v1/tokens?per_page=100").json["items"]
    assert {alice.id, bob.id, crmo.id} <= {t["user_id"] for t in everyone}
    only_bob = api(crmo).get(f"/api/v1/tokens?user_id={bob.id}").json["items"]
    assert {t["user_id"] for t in only_bob} == {bob.id}


def test_the_owner_revokes_a_token_and_it_stops_working(api, db, make_user):
    user = make_user("manager")
    created = api(user).post("/api/v1/tokens", json={"name": "script"}).json
    headers = {"Authorization": f"Bearer {created['token']}"}
    assert api(None).get("/api/v1/programs", headers=headers).status_code == 200
    assert api(user).delete(f"/api/v1/tokens/{created['id']}").status_code == 204
    assert api(None).get("/api/v1/programs", headers=headers).status_code == 401
    # idempotent, nothing deleted, one event
    assert api(user).delete(f"/api/v1/tokens/{created['id']}").status_code == 204
    assert db.session.get(ApiToken, created["id"]).revoked_at is not None
    revoked = [e for e in _events(db, "token.revoked") if e.subject_id == created["id"]]
    assert len(revoked) == 1
    assert revoked[0].actor_id == user.id


def test_only_the_owner_or_the_crmo_revokes_a_token(api, db, make_user):
    owner, other, crmo = make_user("manager"), make_user("steering"), make_user("crmo")
    created = api(owner).post("/api/v1/tokens", json={"name": "owned"}).json
    refused = api(other).delete(f"/api/v1/tokens/{created['id']}")
    assert refused.status_code == 403
    assert db.session.get(ApiToken, created["id"]).revoked_at is None
    assert api(crmo).delete(f"/api/v1/tokens/{created['id']}").status_code == 204
    event = next(e for e in _events(db, "token.revoked") if e.subject_id == created["id"])
    assert event.actor_id == crmo.id
    assert api(crmo).delete("/api/v1/tokens/999999").status_code == 404


def test_anonymous_cannot_use_the_token_api(api):
    assert api(None).get("/api/v1/tokens").status_code == 401
    assert api(None).post("/api/v1/tokens", json={"name": "x"}).status_code == 401


# --- the account page ----------------------------------------------------------------


def test_the_tokens_page_creates_a_token_shown_once(page_client, db, make_user):
    user = make_user("viewer")
    client = page_client(user)
    empty = client.get("/account/tokens")
    assert empty.status_code == 200
    assert b"No tokens yet" in empty.data
    created = client.post("/account/tokens", data={"name": "Nightly import"})
    assert created.status_code == 200
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.user_id == user.id))
    text = created.get_data(as_text=True)
    assert "Your new token" in text and token.prefix in text
    assert "no-store" in created.headers["Cache-Control"]
    again = client.get("/account/tokens").get_data(as_text=True)
    assert "Nightly import" in again and "Your new token" not in again


def test_the_tokens_page_explains_a_missing_name(page_client, make_user):
    response = page_client(make_user("viewer")).post("/account/tokens", data={"name": ""})
    assert response.status_code == 200
    assert b"give the token a name" in response.data


def test_revoking_from_the_page_asks_first(page_client, db, make_user, make_token):
    user = make_user("manager")
    make_token(user, "to revoke")
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.user_id == user.id))
    client = page_client(user)
    confirm = client.get(f"/account/tokens/{token.id}/revoke")
    assert confirm.status_code == 200
    assert b"Revoke token" in confirm.data
    db.session.refresh(token)
    assert token.revoked_at is None  # asking changes nothing
    done = client.post(f"/account/tokens/{token.id}/revoke")
    assert done.status_code == 302
    db.session.refresh(token)
    assert token.revoked_at is not None


def test_the_crmo_page_lists_and_revokes_anyones_token(page_client, db, make_user, make_token):
    owner, crmo, other = make_user("manager"), make_user("crmo"), make_user("viewer")
    make_token(owner, "owner's token")
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.user_id == owner.id))
    listing = page_client(crmo).get("/account/tokens?per_page=100").get_data(as_text=True)
    assert "Everyone&#39;s tokens" in listing or "Everyone's tokens" in listing
    assert owner.email in listing
    other_client = page_client(other)
    assert owner.email not in other_client.get("/account/tokens").get_data(as_text=True)
    assert other_client.post(f"/account/tokens/{token.id}/revoke").status_code == 403
    db.session.refresh(token)
    assert token.revoked_at is None
    assert page_client(crmo).post(f"/account/tokens/{token.id}/revoke").status_code == 302
    db.session.refresh(token)
    assert token.revoked_at is not None


def test_the_crmo_sees_sign_in_and_token_events(page_client, client, make_user, make_token):
    crmo, viewer = make_user("crmo"), make_user("viewer")
    ghost = "ghost-for-events@example.com"
    for n in range(5):
        client.post("/login", data={"email": ghost, "password": f"guess {n}"})
    make_token(viewer, "reporting")
    page = page_client(crmo).get("/account/security-events")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "auth.login_failures" in text and ghost in text
    assert "token.issued" in text and "reporting" in text
    assert page_client(viewer).get("/account/security-events").status_code == 403
