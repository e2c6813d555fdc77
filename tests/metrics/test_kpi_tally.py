"""The KPI tally a snapshot stores next to its details (pure, no Flask)."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from crmphase.metrics.rules import KPI_STATUSES, KpiTally, kpi_status_counts, tally_kpis


def test_kpi_status_counts_tolerate_malformed_details():
    details = [
        [{"status": "on_track"}, {"status": "off_track"}, {"status": "off_track"}],
        None,
        [{"status": "weird"}, "not a dict", {"name": "no status"}],
        {"status": "on_track"},  # not a list: ignored
        [{"status": "at_risk"}, {"status": "no_data"}],
    ]
    assert kpi_status_counts(details) == {
        "on_track": 1,
        "at_risk": 1,
        "off_track": 2,
        "no_data": 3,
    }


def test_tally_counts_statuses_and_finds_the_least_attained_off_track_kpi():
    details = [
        {"status": "off_track", "attainment": "12.50"},
        {"status": "off_track", "attainment": "-3.25"},
        {"status": "on_track", "attainment": "-50.00"},  # not off track: not the least
        {"status": "at_risk", "attainment": "40"},
        {"status": "no_data", "attainment": None},
    ]
    assert tally_kpis(details) == KpiTally(
        on_track=1,
        at_risk=1,
        off_track=2,
        no_data=1,
        least_off_track_attainment=Decimal("-3.25"),
    )


def test_tally_without_off_track_attainment_has_no_least():
    assert tally_kpis(None) == KpiTally()
    assert tally_kpis([{"status": "off_track"}, {"status": "off_track", "attainment": "x"}]) == (
        KpiTally(off_track=2, least_off_track_attainment=None)
    )


entries = st.fixed_dictionaries(
    {
        "status": st.sampled_from((*KPI_STATUSES, "weird")),
        "attainment": st.none()
        | st.decimals(min_value=-(10**6), max_value=10**6, places=2).map(str),
    }
)


@given(st.lists(st.lists(entries, max_size=8) | st.none(), max_size=6))
def test_tallies_add_up_to_the_counts_over_all_details(details_lists):
    tallies = [tally_kpis(details) for details in details_lists]
    summed = {s: sum(getattr(t, s) for t in tallies) for s in KPI_STATUSES}
    assert summed == kpi_status_counts(details_lists)
    off_track = [
        Decimal(kpi["attainment"])
        for details in details_lists
        for kpi in details or []
        if kpi["status"] == "off_track" and kpi["attainment"] is not None
    ]
    leasts = [
        t.least_off_track_attainment for t in tallies if t.least_off_track_attainment is not None
    ]
    assert (min(leasts) if leasts else None) == (min(off_track) if off_track else None)
