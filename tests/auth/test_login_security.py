"""Item 1 of the trust issue: CSRF, cookie flags, login rate limiting, no user enumeration,
and an audit event for a burst of failed logins."""

from __future__ import annotations

import re
import secrets

import pytest
import sqlalchemy as sa

from crmphase.config import settings
from tests.factories.apps import build_path

PASSWORD = "correct horse battery staple"


def _csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match, "the page has no CSRF token"
    return match.group(1)


def _sign_in_with_csrf(client, email: str) -> None:
    token = _csrf_token(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302, response.get_data(as_text=True)


# --- cookies -------------------------------------------------------------------------


def test_production_settings_make_cookies_secure_httponly_and_lax(monkeypatch, tmp_path):
    monkeypatch.delenv("CRMPHASE_SECURE_COOKIES", raising=False)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    config = settings(tmp_path)
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["SESSION_COOKIE_HTTPONLY"] is True
    assert config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert config["REMEMBER_COOKIE_SECURE"] is True
    assert config["REMEMBER_COOKIE_HTTPONLY"] is True


def test_cookies_are_secure_outside_debug_unless_switched_off(monkeypatch, tmp_path):
    monkeypatch.delenv("CRMPHASE_SECURE_COOKIES", raising=False)
    monkeypatch.setenv("FLASK_DEBUG", "1")
    assert settings(tmp_path)["SESSION_COOKIE_SECURE"] is False  # flask run --debug on http
    monkeypatch.setenv("FLASK_DEBUG", "0")
    assert settings(tmp_path)["SESSION_COOKIE_SECURE"] is True
    monkeypatch.setenv("CRMPHASE_SECURE_COOKIES", "0")
    assert settings(tmp_path)["SESSION_COOKIE_SECURE"] is False


def test_the_session_cookie_is_sent_with_all_three_flags(
    fresh_database_url, build_app, seed_user, monkeypatch
):
    monkeypatch.delenv("CRMPHASE_SECURE_COOKIES", raising=False)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    app = build_app(fresh_database_url, RATELIMIT_ENABLED=False)
    _, email, _ = seed_user(app, "viewer")
    client = app.test_client()
    token = _csrf_token(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": token}
    )
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "Secure" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


# --- CSRF ----------------------------------------------------------------------------


def test_a_login_post_without_csrf_token_is_refused(fresh_database_url, build_app, seed_user):
    app = build_app(fresh_database_url, RATELIMIT_ENABLED=False, SESSION_COOKIE_SECURE=False)
    _, email, _ = seed_user(app, "viewer")
    response = app.test_client().post("/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 400
    assert b"CSRF" in response.data


def test_every_page_form_refuses_a_post_without_csrf_token(
    fresh_database_url, build_app, seed_user
):
    """Walks every page route that accepts POST (whatever the branches add): a signed-in
    CRMO's POST without the token is refused before the view runs."""
    app = build_app(fresh_database_url, RATELIMIT_ENABLED=False, SESSION_COOKIE_SECURE=False)
    _, email, _ = seed_user(app, "crmo")
    client = app.test_client()
    _sign_in_with_csrf(client, email)
    checked = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") or "POST" not in rule.methods:
            continue
        path = build_path(rule)
        response = client.post(path, data={"name": "x"})
        assert response.status_code == 400, f"POST {path} without CSRF token: {response.status}"
        checked.append(path)
    assert "/login" in checked and "/logout" in checked
    # ... and the same form with its token is accepted (the refusal was the token's).
    token = _csrf_token(client.get("/account/tokens").get_data(as_text=True))
    response = client.post("/account/tokens", data={"name": "with token", "csrf_token": token})
    assert response.status_code == 200
    assert b"Your new token" in response.data


def test_the_api_needs_no_csrf_token_because_it_never_reads_the_cookie(
    fresh_database_url, build_app, seed_user
):
    app = build_app(fresh_database_url, RATELIMIT_ENABLED=False, SESSION_COOKIE_SECURE=False)
    _, email, token = seed_user(app, "crmo")
    client = app.test_client()
    _sign_in_with_csrf(client, email)
    # a signed-in browser session alone does not authenticate an API call
    assert client.post("/api/v1/programs", json={"name": "Via cookie"}).status_code == 401
    response = client.post(
        "/api/v1/programs",
        json={"name": "Via token"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201


# --- rate limiting -------------------------------------------------------------------


def _post_login(client, email, password="wrong password!"):
    return client.post("/login", data={"email": email, "password": password})


def test_the_login_limit_trips_with_429(fresh_database_url, build_app, seed_user):
    app = build_app(
        fresh_database_url,
        WTF_CSRF_ENABLED=False,
        RATELIMIT_ENABLED=True,
        CRMPHASE_LOGIN_LIMIT="3 per minute",
    )
    _, email, _ = seed_user(app, "viewer")
    client = app.test_client()
    statuses = [_post_login(client, email).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    # even the right password is refused while limited
    assert _post_login(client, email, PASSWORD).status_code == 429
    # reading the page is not limited
    assert client.get("/login").status_code == 200


def _redis_available(url: str) -> bool:
    try:
        import redis
    except ImportError:
        return False
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.exceptions.RedisError:
        return False


REDIS_URL = "redis://127.0.0.1:6379"


def test_a_redis_login_limit_holds_across_two_workers(
    fresh_database_url, build_app, seed_user, monkeypatch
):
    if not _redis_available(REDIS_URL):
        if __import__("os").environ.get("CI"):
            pytest.fail(f"Redis is not reachable at {REDIS_URL} (pip install redis, start it)")
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    prefix = f"crmphase-test-{secrets.token_hex(4)}"
    config = {
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": REDIS_URL,
        "RATELIMIT_KEY_PREFIX": prefix,
        "CRMPHASE_LOGIN_LIMIT": "3 per minute",
    }
    worker_a = build_app(fresh_database_url, **config)
    worker_b = build_app(fresh_database_url, migrate=False, **config)
    _, email, _ = seed_user(worker_a, "viewer")
    a, b = worker_a.test_client(), worker_b.test_client()
    assert _post_login(a, email).status_code == 200
    assert _post_login(b, email).status_code == 200
    assert _post_login(a, email).status_code == 200
    assert _post_login(b, email).status_code == 429  # B counts A's attempts
    assert _post_login(a, email).status_code == 429


# --- no user enumeration -------------------------------------------------------------


def _login_message(client, email, password):
    response = client.post("/login", data={"email": email, "password": password})
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    return re.findall(r'class="flash flash-error"[^>]*>([^<]+)<', text)


def test_unknown_email_and_wrong_password_get_the_same_message(client, make_user):
    user = make_user("viewer")
    inactive = make_user("viewer", active=False)
    wrong_password = _login_message(client, user.email, "not the password")
    unknown = _login_message(client, "nobody-" + secrets.token_hex(3) + "@example.com", "x" * 12)
    deactivated = _login_message(client, inactive.email, PASSWORD)
    assert wrong_password == unknown == deactivated == ["Email or password is not right."]


def test_an_unknown_email_still_costs_a_password_verification(client, make_user, monkeypatch):
    """Timing: the dummy hash is verified for unknown emails, so they take as long."""
    from crmphase.auth import passwords

    verified: list[str] = []
    real_hasher = passwords._hasher

    class CountingHasher:
        def verify(self, password_hash, password):
            verified.append(password_hash)
            return real_hasher.verify(password_hash, password)

    monkeypatch.setattr(passwords, "_hasher", CountingHasher())
    user = make_user("viewer")
    client.post("/login", data={"email": "ghost@example.com", "password": "whatever-12"})
    client.post("/login", data={"email": user.email, "password": "whatever-12"})
    assert verified == [passwords._DUMMY_HASH, user.password_hash]


# --- the audit event of a burst of failures --------------------------------------------


def _failure_events(db):
    from crmphase.audit.models import Event

    return list(db.session.scalars(sa.select(Event).where(Event.action == "auth.login_failures")))


@pytest.mark.parametrize("known", [True, False], ids=["known email", "unknown email"])
def test_the_fifth_failed_login_within_15_minutes_writes_one_event(client, db, make_user, known):
    email = make_user("viewer").email if known else f"ghost-{secrets.token_hex(4)}@example.com"
    messages = set()
    for attempt in range(1, 8):
        messages.update(_login_message(client, email, f"wrong password {attempt}"))
        assert len(_failure_events(db)) == (1 if attempt >= 5 else 0), attempt
    assert messages == {"Email or password is not right."}
    (event,) = _failure_events(db)
    assert event.after["email"] == email
    assert event.after["failures"] == 5
    assert event.after["known_user"] is known
    assert event.actor_id is None


def test_a_successful_login_writes_no_failure_event(client, db, make_user):
    user = make_user("viewer")
    for _ in range(6):
        assert (
            client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code
            == 302
        )
    assert _failure_events(db) == []


# --- behind a reverse proxy ----------------------------------------------------------------


def _login_from(client, address, email):
    return client.post(
        "/login",
        data={"email": email, "password": "wrong password!"},
        headers={"X-Forwarded-For": address, "X-Forwarded-Proto": "https"},
    )


def test_behind_a_trusted_proxy_each_client_has_its_own_login_limit(
    fresh_database_url, build_app, seed_user
):
    app = build_app(
        fresh_database_url,
        WTF_CSRF_ENABLED=False,
        RATELIMIT_ENABLED=True,
        CRMPHASE_LOGIN_LIMIT="2 per minute",
        CRMPHASE_TRUSTED_PROXIES=1,
    )
    _, email, _ = seed_user(app, "viewer")
    client = app.test_client()
    assert [_login_from(client, "203.0.113.7", email).status_code for _ in range(3)] == [
        200,
        200,
        429,
    ]
    # another client behind the same proxy is not locked out by the first one
    response = _login_from(client, "198.51.100.9", email)
    assert response.status_code == 200
    assert "max-age=" in response.headers["Strict-Transport-Security"]  # https via the proxy


def test_without_trusted_proxies_forwarded_headers_are_ignored(
    fresh_database_url, build_app, seed_user
):
    app = build_app(
        fresh_database_url,
        WTF_CSRF_ENABLED=False,
        RATELIMIT_ENABLED=True,
        CRMPHASE_LOGIN_LIMIT="2 per minute",
    )
    _, email, _ = seed_user(app, "viewer")
    client = app.test_client()
    statuses = [_login_from(client, f"203.0.113.{n}", email).status_code for n in range(3)]
    assert statuses == [200, 200, 429]  # a forged X-Forwarded-For does not reset the limit


# --- after signing in -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/projects?phase=execute", "/projects?phase=execute"),
        ("https://evil.example/phish", "/"),
        ("//evil.example/phish", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
    ],
)
def test_sign_in_only_returns_to_local_pages(client, make_user, target, expected):
    from urllib.parse import urlsplit

    user = make_user("viewer")
    response = client.post(
        "/login", query_string={"next": target}, data={"email": user.email, "password": PASSWORD}
    )
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert not location.netloc or location.netloc == "localhost"
    path = location.path + (f"?{location.query}" if location.query else "")
    assert path == expected


def test_a_deactivated_user_is_signed_out_of_pages_and_the_api(page_client, api, db, make_user):
    user = make_user("manager")
    pages = page_client(user)
    client = api(user)
    assert pages.get("/projects").status_code == 200
    assert client.get("/api/v1/projects").status_code == 200
    user.active = False
    db.session.commit()
    from flask import g

    g.pop("_login_user", None)  # the db fixture's app context outlives requests
    response = pages.get("/projects")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    assert client.get("/api/v1/projects").status_code == 401
