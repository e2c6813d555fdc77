"""Files shipped inside installed packages, found with :mod:`importlib.resources`.

The repository keeps ``templates/``, ``static/`` and ``migrations/`` at its top; setup.cfg
installs them as the packages ``crmphase.templates``, ``crmphase.static`` and
``crmphase.migrations``, so the wheel and the editable install find them the same way and
nothing depends on where a checkout lies. Front-end libraries come from installed Python
packages too (never a CDN): plotly.js is served from the ``plotly`` package.
"""

from __future__ import annotations

import atexit
from contextlib import ExitStack
from functools import cache
from importlib.resources import as_file, files
from pathlib import Path

from flask import Blueprint, send_file

from crmphase.auth.policy import public

TEMPLATES = "crmphase.templates"
STATIC = "crmphase.static"
MIGRATIONS = "crmphase.migrations"

# Files of a package not installed as plain files (a zip) are extracted once and kept until
# the process ends; for plain files as_file hands back the installed path itself.
_extracted = ExitStack()
atexit.register(_extracted.close)

bp = Blueprint("assets", __name__)


@cache
def installed_path(package: str, *parts: str) -> Path:
    """A folder or file shipped inside ``package``, as a path on the file system."""
    return _extracted.enter_context(as_file(files(package).joinpath(*parts)))


def plotly_js_path() -> Path:
    """plotly.js as shipped inside the ``plotly`` Python package."""
    return installed_path("plotly", "package_data", "plotly.min.js")


@bp.route("/assets/plotly.min.js")
@public
def plotly_js():
    response = send_file(plotly_js_path(), mimetype="text/javascript", max_age=86400)
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response
