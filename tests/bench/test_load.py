"""Item 6 of the trust issue: ``bench/load.py`` runs briefly against gunicorn in CI, with
zero errors and zero lost writes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_a_short_load_run_has_no_errors_and_loses_no_writes(fresh_database_url, tmp_path):
    out = tmp_path / "load.json"
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "load.py"),
            "--users",
            "4",
            "--duration",
            "4",
            "--workers",
            "2",
            "--threads",
            "2",
            "--database-url",
            fresh_database_url,
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["errors"] == 0
    assert report["lost_writes"] == 0
    assert report["requests"] > 20
    assert {"save own project", "list projects"} <= report["by_kind"].keys()
