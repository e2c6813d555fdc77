"""The ``/api/v1`` JSON API: bearer-token auth, problem JSON, the OpenAPI document.

:mod:`crmphase.api.app` wires it into the application; :mod:`crmphase.api.fields` and
:mod:`crmphase.api.problems` are what every domain's ``api.py`` and ``schemas.py`` use.
"""

from __future__ import annotations

from flask import request

API_PREFIX = "/api/v1"


def is_api_request() -> bool:
    """Whether the current request is for the JSON API (answered in problem JSON, and
    authenticated by bearer token, never by the session cookie)."""
    return request.path.startswith("/api/")
