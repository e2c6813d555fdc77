"""``flask demo``: a realistic portfolio drawn from the seeds. Running it twice adds nothing."""

import click
from flask import Flask


@click.command("demo", help="Load the demo portfolio (idempotent) and print the logins.")
def demo_command():
    from crmphase.demo_data import load_demo

    for line in load_demo():
        click.echo(line)


def init_app(app: Flask) -> None:
    app.cli.add_command(demo_command)
