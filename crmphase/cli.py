"""Every domain's CLI commands."""

from flask import Flask

from crmphase import demo
from crmphase.auth import cli as auth_cli
from crmphase.benchdata import cli as bench_data_cli
from crmphase.exports import cli as exports_cli
from crmphase.jobs import cli as jobs_cli
from crmphase.ops import cli as ops_cli


def register_cli(app: Flask) -> None:
    """Register every domain's commands on ``app`` (``flask --app crmphase ...``)."""
    auth_cli.init_app(app)
    demo.init_app(app)
    ops_cli.init_app(app)
    jobs_cli.init_app(app)
    exports_cli.init_app(app)
    bench_data_cli.init_app(app)
