"""Server-side SVG charts of the printable report, on plain values."""

import itertools
from decimal import Decimal
from xml.etree import ElementTree

import pytest

from crmphase.exports.svg import Series, bar_chart, line_chart, nice_ticks, short_number

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg) -> ElementTree.Element:
    """Parse our own chart markup (it must be well-formed XML)."""
    return ElementTree.fromstring(str(svg))  # noqa: S314 - our output, not untrusted input


@pytest.mark.parametrize(
    ("low", "high", "first", "last"),
    [(0, 100, 0, 100), (-33.3, 12.4, -40, 20), (5, 7, 0, 8), (0, 0, 0, 1), (-10, -2, -10, 0)],
)
def test_ticks_cover_the_range_and_zero(low, high, first, last):
    ticks = nice_ticks(low, high)
    assert ticks[0] == first and ticks[-1] == last
    assert 0 in ticks
    steps = {round(b - a, 9) for a, b in itertools.pairwise(ticks)}
    assert len(steps) == 1


@pytest.mark.parametrize(
    ("value", "text"),
    [(1234567, "1.2M"), (2500, "2.5k"), (-150000, "-150k"), (12.5, "12.5"), (0, "0")],
)
def test_short_numbers(value, text):
    assert short_number(value) == text


def test_line_chart_is_valid_svg_and_breaks_at_missing_months():
    svg = line_chart(
        ["2026-01", "2026-02", "2026-03", "2026-04"],
        [Series("Actual", [Decimal("-10"), Decimal("5"), None, Decimal("12.4")], "#123456")],
        title="ROI <by> month",
    )
    root = parse(svg)
    assert root.tag == f"{SVG}svg"
    assert root.find(f"{SVG}title").text == "ROI <by> month"
    # two segments of the line: one of two points; the lone last point is only a dot
    lines = root.findall(f"{SVG}polyline")
    assert len(lines) == 1 and len(lines[0].get("points").split()) == 2
    assert len(root.findall(f"{SVG}circle")) == 3
    assert "style=" not in str(svg)


def test_bar_chart_draws_negative_bars_below_zero():
    svg = bar_chart(
        ["A", "B"],
        [Series("Net", [Decimal("100"), Decimal("-50")], "#00ff00")],
        title="Net",
    )
    root = parse(svg)
    rects = root.findall(f"{SVG}rect")
    assert len(rects) == 2
    positive, negative = rects
    assert float(positive.get("height")) == pytest.approx(2 * float(negative.get("height")))
    assert float(negative.get("y")) > float(positive.get("y"))


def test_labels_are_escaped():
    svg = bar_chart(["<script>"], [Series("<b>", [Decimal(1)], "#000")], title="t")
    assert "<script>" not in str(svg) and "&lt;script&gt;" in str(svg)
    parse(svg)


def test_empty_chart_still_renders():
    parse(line_chart([], [Series("x", [], "#000")], title="empty"))
