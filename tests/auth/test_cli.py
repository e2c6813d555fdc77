"""The operator's CLI: users and tokens."""

import sqlalchemy as sa


def test_users_create_reads_password_from_stdin_and_hashes_it(runner, db):
    from crmphase.auth.models import User

    result = runner.invoke(
        args=["users", "create", "Ceo@Example.com", "--role", "crmo", "--password-stdin"],
        input="a long enough password\n",
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalars(sa.select(User)).one()
    assert user.email == "ceo@example.com" and user.role == "crmo"
    assert user.password_hash.startswith("$argon2id$")
    assert "a long enough password" not in user.password_hash


def test_users_create_refuses_bad_input(runner, db):
    short = runner.invoke(
        args=["users", "create", "a@example.com", "--role", "crmo", "--password-stdin"],
        input="short\n",
    )
    assert short.exit_code != 0 and "at least 10 characters" in short.output
    bad_role = runner.invoke(args=["users", "create", "a@example.com", "--role", "boss"])
    assert bad_role.exit_code != 0


def test_users_token_prints_a_working_token_stored_hashed(runner, app, db, make_user):
    from crmphase.auth.models import ApiToken

    user = make_user("viewer")
    result = runner.invoke(args=["users", "token", user.email])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    stored = db.session.scalars(sa.select(ApiToken)).one()
    assert stored.token_hash != token and token not in stored.token_hash
    response = app.test_client().get(
        "/api/v1/projects", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200


def test_revoked_token_stops_working(app, db, make_user, make_token):
    from crmphase.auth.loaders import user_for_token
    from crmphase.auth.services import revoke_token

    user = make_user("viewer")
    token = make_token(user)
    stored_id = db.session.scalar(sa.text("SELECT id FROM api_tokens"))
    revoke_token(stored_id, user)
    assert user_for_token(token) is None


def test_users_token_for_unknown_email_fails_clearly(runner):
    result = runner.invoke(args=["users", "token", "nobody@example.com"])
    assert result.exit_code != 0 and "no user with email" in result.output


def test_demo_is_idempotent(runner, db):
    from crmphase.programs.models import Project

    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    assert "crmo@demo.crmphase" in first.output
    count = db.session.scalar(sa.select(sa.func.count()).select_from(Project))
    second = runner.invoke(args=["demo"])
    assert second.exit_code == 0, second.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Project)) == count
