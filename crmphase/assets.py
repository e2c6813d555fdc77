"""Front-end libraries served from installed Python packages (never a CDN)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from flask import Blueprint, send_file

from crmphase.auth.policy import public

bp = Blueprint("assets", __name__)


@cache
def plotly_js_path() -> Path:
    """plotly.js as shipped inside the ``plotly`` Python package."""
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


@bp.route("/assets/plotly.min.js")
@public
def plotly_js():
    response = send_file(plotly_js_path(), mimetype="text/javascript", max_age=86400)
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response
