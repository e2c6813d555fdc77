"""Every domain's CLI commands."""

from flask import Flask


def register_cli(app: Flask) -> None:
    from crmphase import demo
    from crmphase.auth import cli as auth_cli
    from crmphase.ops import cli as ops_cli

    auth_cli.init_app(app)
    demo.init_app(app)
    ops_cli.init_app(app)

    from crmphase.jobs import cli as jobs_cli

    jobs_cli.init_app(app)

    from crmphase.exports import cli as exports_cli

    exports_cli.init_app(app)

    from crmphase.benchdata import cli as bench_data_cli

    bench_data_cli.init_app(app)
