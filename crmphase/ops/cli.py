"""``flask backup OUT``, ``flask restore IN`` and ``flask grant-app-role ROLE``."""

from pathlib import Path

import click
from flask import Flask

from crmphase.extensions import db
from crmphase.ops.backup import BackupError, backup, restore, target_of
from crmphase.ops.roles import RoleError, grant_app_role


@click.command("backup", help="Write a consistent backup of the whole database to OUT.")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
def backup_command(out: Path):
    try:
        path = backup(db.engine, out)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"backed up {target_of(db.engine.url).label} to {path} ({path.stat().st_size} bytes)"
    )


@click.command("restore", help="Replace the whole database with the backup IN.")
@click.argument("source", metavar="IN", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def restore_command(source: Path, yes: bool):
    label = target_of(db.engine.url).label
    if not yes:
        click.confirm(
            f"Every row of {label} will be replaced by the backup {source}. Continue?", abort=True
        )
    try:
        restore(db.engine, source)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"restored {label} from {source}")


@click.command(
    "grant-app-role",
    help="PostgreSQL: let ROLE use every table but never change or delete audit events. "
    "Run it as the schema owner after each upgrade.",
)
@click.argument("role")
def grant_app_role_command(role: str):
    try:
        statements = grant_app_role(db.engine, role)
    except RoleError as exc:
        raise click.ClickException(str(exc)) from None
    for statement in statements:
        click.echo(statement + ";")


def init_app(app: Flask) -> None:
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
    app.cli.add_command(grant_app_role_command)
