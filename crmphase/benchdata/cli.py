"""``flask bench-data``: fill the database with a generated portfolio."""

from __future__ import annotations

import click
from flask import Flask

from crmphase.benchdata.generator import SIZES, PortfolioExists, generate_portfolio

_S, _L = SIZES["S"], SIZES["L"]


@click.command(
    "bench-data",
    help=(
        "Fill the database with a generated, realistic portfolio for benchmarks: programs, "
        "projects in every phase and state, gate decisions, KPIs, monthly measurements with "
        "gaps, plan and actual costs and benefits. Deterministic for a seed and a clock "
        f"(CRMPHASE_NOW). Size S is --programs {_S.programs} --projects {_S.projects} "
        f"--months {_S.months}; size L is --programs {_L.programs} --projects {_L.projects} "
        f"--months {_L.months}. Refuses a database that already has programs unless --append."
    ),
)
@click.option(
    "--size",
    type=click.Choice(sorted(SIZES)),
    help="A named size; --programs, --projects and --months override it.",
)
@click.option("--programs", type=click.IntRange(min=1), help="How many programs.")
@click.option("--projects", type=click.IntRange(min=1), help="How many projects in all.")
@click.option(
    "--months",
    type=click.IntRange(min=1, max=240),
    help="How many months of history, ending with the last complete month.",
)
@click.option(
    "--history-months",
    type=click.IntRange(min=1, max=240),
    help=(
        "Keep the measurements, money and gate decisions of only the last N months: the "
        "same portfolio with a shorter past (default: all of --months)."
    ),
)
@click.option("--seed", type=int, default=1, show_default=True, help="The random seed.")
@click.option(
    "--append",
    is_flag=True,
    help="Add the generated portfolio next to the programs already in the database.",
)
def bench_data_command(size, programs, projects, months, history_months, seed, append):
    base = SIZES[size or "S"]
    programs = programs or base.programs
    projects = projects or base.projects
    months = months or base.months
    if projects < programs:
        raise click.BadParameter(
            "give at least as many projects as programs", param_hint="--projects"
        )
    if history_months is not None and history_months > months:
        raise click.BadParameter(f"at most --months ({months})", param_hint="--history-months")
    with click.progressbar(length=projects, label=f"Generating {projects} projects") as bar:
        try:
            result = generate_portfolio(
                programs=programs,
                projects=projects,
                months=months,
                seed=seed,
                append=append,
                progress=bar.update,
                history_months=history_months,
            )
        except PortfolioExists as exc:
            raise click.UsageError(str(exc)) from None
    for line in result.summary_lines():
        click.echo(line)


def init_app(app: Flask) -> None:
    app.cli.add_command(bench_data_command)
