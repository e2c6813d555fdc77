"""Test factories: one per model, and the scenarios built on them.

Each module holds the factories of one domain (``auth``, ``programs``, ``phases``,
``metrics``, ``notifications``, ``jobs``, ``exports``). A factory is a plain function that
builds one row with sensible defaults, takes keyword overrides, commits and returns it; it
works in any app context (the rolled-back ``db`` of a test, ``committed_db``, an app built
by ``build_app``). A fixture of the same name hands it to tests, so
``make_project(phase="execute")`` is all a test writes. Each docstring says whether the
factory goes through the product's service (where the real write path matters) or writes
the row directly (where a test needs a state the services cannot produce quickly).

``scenarios`` holds the situations several test folders share; a scenario only one folder
uses lives in that folder's ``conftest.py``. ``apps`` builds fresh databases and apps.
"""
