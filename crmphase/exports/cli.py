"""``flask export monthly-review``: build the monthly review into a file."""

from __future__ import annotations

import os
from pathlib import Path

import click
from flask import Flask

from crmphase import clock
from crmphase.errors import ValidationFailed
from crmphase.exports import loaders, services
from crmphase.exports.models import EXPORT_FORMATS


@click.group("export", help="Build exports.")
def export_cli():
    pass


@export_cli.command("monthly-review", help="Build the monthly ROI review of a past period.")
@click.option("--period", default=None, help="YYYY-MM, a month that is over (default: last).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(EXPORT_FORMATS),
    default="xlsx",
    show_default=True,
    help="xlsx (a workbook with charts), csv (a zip of CSV files) or html (printable).",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="The file to write.",
)
def monthly_review(period, fmt, out: Path):
    try:
        reviewed = services.check_reviewable(
            services.parse_period(period) if period else clock.last_complete_period()
        )
    except ValidationFailed as exc:
        raise click.BadParameter(exc.errors[0].message, param_hint="--period") from None
    folder = out.resolve().parent
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        raise click.BadParameter(
            f"the folder {folder} does not exist or is not writable", param_hint="--out"
        )
    temporary = out.with_name(f".{out.name}.part")
    try:
        with (
            click.progressbar(
                length=loaders.review_steps(reviewed, fmt),
                label=f"Monthly review {reviewed} ({fmt})",
            ) as bar,
            open(temporary, "wb") as handle,
        ):
            services.build_monthly_review(reviewed, fmt, handle, progress=bar.update)
        os.replace(temporary, out)
    except OSError as exc:
        raise click.ClickException(f"cannot write {out}: {exc.strerror}") from None
    finally:
        temporary.unlink(missing_ok=True)
    click.echo(f"wrote {out} ({out.stat().st_size:,} bytes)")


def init_app(app: Flask) -> None:
    app.cli.add_command(export_cli)
