"""``flask users ...``: create users and print API tokens."""

import sys

import click
from flask import Flask

from crmphase.auth import loaders, services
from crmphase.auth.roles import Role
from crmphase.errors import ValidationFailed
from crmphase.extensions import db


@click.group("users", help="Create users and issue their API tokens.")
def users_cli():
    pass


@users_cli.command("create", help="Create a user. The password is read from standard input.")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--name", default="", help="Display name (defaults to the part before @).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_user(email, role, name, password_stdin):
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    try:
        user = services.create_user(email, role, password, name=name)
    except ValidationFailed as exc:
        raise click.ClickException(exc.detail) from None
    click.echo(f"created {user.email} ({user.role})")


@users_cli.command("token", help="Issue and print a new API token for EMAIL.")
@click.argument("email")
@click.option("--name", default="cli", help="A label to recognise the token by.")
def issue_token(email, name):
    user = loaders.user_by_email(email)
    if user is None:
        raise click.ClickException(f"no user with email {email}")
    click.echo(services.issue_token(user, name))


@users_cli.command("list", help="List users and their roles.")
def list_users():
    for user in db.session.scalars(loaders.users_query()):
        click.echo(f"{user.email}\t{user.role}\t{'active' if user.active else 'inactive'}")


def init_app(app: Flask) -> None:
    app.cli.add_command(users_cli)
