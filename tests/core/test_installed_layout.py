"""The app's files come from the installed package, and its instance folder is configurable.

templates/, static/ and migrations/ stay at the top of the repository and are installed as
``crmphase.templates``, ``crmphase.static`` and ``crmphase.migrations``; these tests run on
the editable install (``make test``), tests/test_wheel.py on the built wheel.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from crmphase import create_app
from crmphase.assets import MIGRATIONS, STATIC, TEMPLATES, installed_path, plotly_js_path


def test_templates_static_and_migrations_are_found_through_importlib_resources():
    for package, sample in (
        (TEMPLATES, "base.html"),
        (STATIC, "css/app.css"),
        (MIGRATIONS, "env.py"),
    ):
        assert installed_path(package) == Path(str(files(package)))
        assert (installed_path(package) / sample).is_file(), (package, sample)
    assert plotly_js_path().is_file()


def test_the_app_uses_the_installed_folders_and_the_configured_instance(tmp_path, monkeypatch):
    monkeypatch.setenv("CRMPHASE_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})

    assert app.instance_path == str(tmp_path / "instance")
    assert (tmp_path / "instance").is_dir()
    assert Path(app.template_folder) == installed_path(TEMPLATES)
    assert Path(app.static_folder) == installed_path(STATIC)
    assert Path(app.extensions["migrate"].directory) == installed_path(MIGRATIONS)
    assert app.jinja_env.get_template("base.html") is not None
