"""Fixtures of the benchmark domain: a generated portfolio in a committed database."""

from __future__ import annotations

import pytest

# The generator's "now": the data run up to the month before (2026-05).
BENCH_NOW = "2026-06-15T09:00:00+00:00"


@pytest.fixture
def bench_portfolio(committed_db):
    """``bench_portfolio(programs=2, projects=6, months=12, seed=1, append=False)`` writes a
    generated portfolio (committed; every table is emptied after the test)."""
    from crmphase import clock
    from crmphase.benchdata.generator import generate_portfolio

    def make(programs=2, projects=6, months=12, seed=1, append=False):
        with clock.frozen(BENCH_NOW):
            return generate_portfolio(
                programs=programs, projects=projects, months=months, seed=seed, append=append
            )

    return make


@pytest.fixture
def bench_login(committed_db):
    """``bench_login(client, email)`` signs a generated user in through the login page."""
    from crmphase.benchdata.generator import BENCH_PASSWORD

    def sign_in(client, email):
        response = client.post("/login", data={"email": email, "password": BENCH_PASSWORD})
        # Requests share the test's app context (and session): end it as a server would.
        committed_db.session.remove()
        assert response.status_code == 302, response.data
        return client

    return sign_in
