"""Small server-side SVG charts for the printable report.

Pure: plain values in, SVG markup out. The report must work offline and print without
scripts, so its charts are drawn here rather than by plotly.js in the browser. Colours are
SVG presentation attributes (not ``style``), so the strict Content-Security-Policy holds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from html import escape

from markupsafe import Markup

ACTUAL = "#1f5fbf"
PLAN = "#8a94a3"
COST = "#b3261e"
BENEFIT = "#1c7c45"


@dataclass(frozen=True)
class Series:
    name: str
    values: list[Decimal | None]
    colour: str
    dashed: bool = False


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values that cover ``low``..``high`` (always including 0)."""
    low, high = min(low, 0.0), max(high, 0.0)
    if high == low:
        high = low + 1
    raw = (high - low) / max(count - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step) * step
    ticks = []
    value = first
    while value < high + step * 0.999:
        ticks.append(round(value, 10))
        value += step
    return ticks


def short_number(value: float, suffix: str = "") -> str:
    """1234567 → '1.2M'; 2500 → '2.5k'; 12.5 → '12.5'."""
    sign = "-" if value < 0 else ""
    value = abs(value)
    for limit, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= limit:
            text = f"{value / limit:.1f}".rstrip("0").rstrip(".")
            return f"{sign}{text}{unit}{suffix}"
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return f"{sign}{text}{suffix}"


class _Frame:
    """The plot area and the value-to-pixel scale shared by both chart kinds."""

    def __init__(self, series: list[Series], width: int, height: int):
        self.width, self.height = width, height
        self.left, self.right, self.top, self.bottom = 50, 10, 30, 36
        values = [float(v) for s in series for v in s.values if v is not None]
        self.ticks = nice_ticks(min(values, default=0.0), max(values, default=0.0))
        self.low, self.high = self.ticks[0], self.ticks[-1]

    @property
    def plot_width(self) -> float:
        return self.width - self.left - self.right

    @property
    def plot_height(self) -> float:
        return self.height - self.top - self.bottom

    def y(self, value: float) -> float:
        span = self.high - self.low or 1
        return self.top + self.plot_height * (1 - (value - self.low) / span)

    def grid(self, suffix: str) -> list[str]:
        parts = []
        for tick in self.ticks:
            y = self.y(tick)
            colour = "#5b6676" if tick == 0 else "#dde2ea"
            parts.append(
                f'<line x1="{self.left}" x2="{self.width - self.right}" y1="{y:.1f}" '
                f'y2="{y:.1f}" stroke="{colour}" stroke-width="1"/>'
            )
            parts.append(
                f'<text x="{self.left - 6}" y="{y + 4:.1f}" text-anchor="end" '
                f'font-size="12" fill="#5b6676">{escape(short_number(tick, suffix))}</text>'
            )
        return parts

    def labels(self, labels: list[str], x_of) -> list[str]:
        every = max(1, math.ceil(len(labels) / 6))
        parts = []
        for index, label in enumerate(labels):
            if index % every:
                continue
            parts.append(
                f'<text x="{x_of(index):.1f}" y="{self.height - self.bottom + 16}" '
                f'text-anchor="middle" font-size="12" fill="#5b6676">{escape(label)}</text>'
            )
        return parts


def _legend(series: list[Series], width: int) -> list[str]:
    parts, x = [], 50
    for s in series:
        dash = ' stroke-dasharray="5 3"' if s.dashed else ""
        parts.append(
            f'<line x1="{x}" x2="{x + 18}" y1="12" y2="12" stroke="{s.colour}" '
            f'stroke-width="3"{dash}/>'
        )
        parts.append(
            f'<text x="{x + 23}" y="16" font-size="13" fill="#1d2430">{escape(s.name)}</text>'
        )
        x += 32 + 7 * len(s.name)
    return parts


def _svg(parts: list[str], width: int, height: int, title: str) -> Markup:
    body = "".join(parts)
    return Markup(  # noqa: S704 - every text inside was escaped above
        f'<svg class="svgchart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} '
        f'{height}" role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>'
        f"{body}</svg>"
    )


def line_chart(
    labels: list[str],
    series: list[Series],
    *,
    title: str,
    suffix: str = "",
    width: int = 440,
    height: int = 240,
) -> Markup:
    """Lines over ``labels``; a ``None`` value breaks the line (no data that month)."""
    frame = _Frame(series, width, height)
    count = max(len(labels), 1)

    inset = 20  # keeps the first and last month's labels inside the frame

    def x_of(index: int) -> float:
        if count == 1:
            return frame.left + frame.plot_width / 2
        return frame.left + inset + (frame.plot_width - 2 * inset) * index / (count - 1)

    parts = [*frame.grid(suffix), *frame.labels(labels, x_of)]
    for s in series:
        dash = ' stroke-dasharray="5 3"' if s.dashed else ""
        segment: list[str] = []
        segments = [segment]
        for index, value in enumerate(s.values):
            if value is None:
                segment = []
                segments.append(segment)
                continue
            segment.append(f"{x_of(index):.1f},{frame.y(float(value)):.1f}")
            parts.append(
                f'<circle cx="{x_of(index):.1f}" cy="{frame.y(float(value)):.1f}" r="2.5" '
                f'fill="{s.colour}"/>'
            )
        for points in segments:
            if len(points) > 1:
                parts.append(
                    f'<polyline points="{" ".join(points)}" fill="none" stroke="{s.colour}" '
                    f'stroke-width="2"{dash}/>'
                )
    parts.extend(_legend(series, width))
    return _svg(parts, width, height, title)


def bar_chart(
    labels: list[str],
    series: list[Series],
    *,
    title: str,
    suffix: str = "",
    width: int = 440,
    height: int = 240,
) -> Markup:
    """Grouped columns, one group per label."""
    frame = _Frame(series, width, height)
    groups = max(len(labels), 1)
    group_width = frame.plot_width / groups
    bar_width = min(group_width * 0.8 / max(len(series), 1), 36)

    def x_of(index: int) -> float:
        return frame.left + group_width * (index + 0.5)

    parts = [*frame.grid(suffix), *frame.labels(labels, x_of)]
    zero = frame.y(0)
    for number, s in enumerate(series):
        offset = (number - len(series) / 2) * bar_width
        for index, value in enumerate(s.values):
            if value is None:
                continue
            y = frame.y(float(value))
            top, bar_height = min(y, zero), abs(zero - y)
            parts.append(
                f'<rect x="{x_of(index) + offset:.1f}" y="{top:.1f}" width="{bar_width:.1f}" '
                f'height="{bar_height:.1f}" fill="{s.colour}"/>'
            )
    parts.extend(_legend(series, width))
    return _svg(parts, width, height, title)
