"""Write ``docs/screenshot-dashboard.png``: the dashboard with the demo data, in Chromium.

    .venv/bin/python docs/screenshot.py [--out docs/screenshot-dashboard.png]

It builds a throw-away SQLite database, loads the demo (``flask demo``), runs the
``roi_snapshot`` job for the last twelve months when the jobs domain provides
``flask jobs run`` (so the money, coverage and KPI figures are filled in), serves the app
on 127.0.0.1 and photographs ``/`` signed in as the demo CRMO. Debian's ``chromium``
is driven by Playwright through ``executable_path``; nothing is downloaded.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SECRET_KEY", secrets.token_hex(16))

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def build_app(workdir: Path):
    from flask_migrate import upgrade

    from crmphase import clock, create_app
    from crmphase.demo import load_demo

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'demo.sqlite3'}",
            "SESSION_COOKIE_SECURE": False,
            "REMEMBER_COOKIE_SECURE": False,
            "RATELIMIT_ENABLED": False,
            "CRMPHASE_EXPORT_DIR": str(workdir / "exports"),
        }
    )
    with app.app_context():
        upgrade()
        load_demo()
    if "jobs" in app.cli.commands:
        runner = app.test_cli_runner()
        last = clock.last_complete_period()
        for back in range(11, -1, -1):
            period = str(last.shift(-back))
            result = runner.invoke(args=["jobs", "run", "roi_snapshot", "--period", period])
            if result.exit_code != 0:
                print(f"roi_snapshot {period}: {result.output.strip()}", file=sys.stderr)
    else:
        print("no `flask jobs` command: the screenshot shows no snapshots", file=sys.stderr)
    return app


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshot-dashboard.png"))
    parser.add_argument(
        "--chromium", default=os.environ.get("CRMPHASE_CHROMIUM", "/usr/bin/chromium")
    )
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    from crmphase.demo.portfolio import DEMO_PASSWORD, USERS

    crmo = next(email for email, _name, role in USERS if role == "crmo")
    with tempfile.TemporaryDirectory() as tmp:
        app = build_app(Path(tmp))
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        base = f"http://127.0.0.1:{server.server_port}"
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=args.chromium, headless=True, args=CHROMIUM_ARGS
                )
                page = browser.new_page(viewport={"width": 1366, "height": 1500}, base_url=base)
                page.goto("/login")
                page.get_by_label("Email").fill(crmo)
                page.get_by_label("Password").fill(DEMO_PASSWORD)
                page.get_by_role("button", name="Sign in").click()
                page.wait_for_url(lambda url: "/login" not in url)
                for chart in page.locator("[data-plotly]").all():
                    chart.evaluate("el => el.scrollIntoView()")
                page.wait_for_function(
                    "[...document.querySelectorAll('[data-plotly]')]"
                    ".every(el => el.dataset.rendered === 'true')"
                )
                page.evaluate("window.scrollTo(0, 0)")
                page.screenshot(path=args.out, full_page=False)
                browser.close()
        finally:
            server.shutdown()
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
