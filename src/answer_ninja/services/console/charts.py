"""Charts as inline SVG, drawn on the server: no chart library, no script, nothing the CSP must allow.

Colours come from CSS classes (the stylesheet), so contrast is set in one place; every chart has a text
alternative (``role="img"`` and a label) and the pages show the same numbers in a table beside it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape


def _number(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def sparkline(values: Sequence[float | None], *, width: int = 120, height: int = 28, label: str = "") -> str:
    """A line over the last samples (None = no sample: a gap); empty when there is nothing to draw."""
    points = [(index, value) for index, value in enumerate(values) if value is not None]
    if len(points) < 2:
        return (
            f'<svg class="sparkline" width="{width}" height="{height}" role="img" aria-label="{escape(label)}"></svg>'
        )
    low = min(value for _, value in points)
    high = max(value for _, value in points)
    span = (high - low) or 1.0
    step = (width - 4) / max(1, len(values) - 1)
    coordinates = " ".join(
        f"{_number(2 + index * step)},{_number(height - 2 - (value - low) / span * (height - 4))}"
        for index, value in points
    )
    last_x, last_value = points[-1]
    last_y = height - 2 - (last_value - low) / span * (height - 4)
    return (
        f'<svg class="sparkline" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(label)}"><polyline class="spark-line" fill="none" points="{coordinates}"/>'
        f'<circle class="spark-dot" r="2" cx="{_number(2 + last_x * step)}" cy="{_number(last_y)}"/></svg>'
    )


def stacked_bars(
    rows: Sequence[tuple[str, Mapping[str, int]]],
    series: Sequence[str],
    *,
    label: str,
    height: int = 160,
    bar_width: int = 18,
    gap: int = 6,
) -> str:
    """One stacked bar per row (e.g. a day), one colour class per series (``bar-<series>``)."""
    top = max((sum(values.get(name, 0) for name in series) for _, values in rows), default=0) or 1
    width = max(1, len(rows)) * (bar_width + gap) + gap
    parts = [
        f'<svg class="chart" width="100%" height="{height + 20}" viewBox="0 0 {width} {height + 20}" '
        f'preserveAspectRatio="none" role="img" aria-label="{escape(label)}">'
    ]
    for index, (name, values) in enumerate(rows):
        x = gap + index * (bar_width + gap)
        y = float(height)
        for serie in series:
            count = values.get(serie, 0)
            if not count:
                continue
            bar = count / top * (height - 4)
            y -= bar
            parts.append(
                f'<rect class="bar-{escape(serie)}" x="{x}" y="{_number(y)}" width="{bar_width}" '
                f'height="{_number(bar)}"><title>{escape(name)} {escape(serie)}: {count}</title></rect>'
            )
        if len(rows) <= 14 or index % 5 == 0:
            parts.append(
                f'<text class="chart-axis" x="{x + bar_width / 2}" y="{height + 14}" '
                f'text-anchor="middle">{escape(name[-5:])}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def horizontal_bars(values: Mapping[str, float], *, label: str, unit: str = "") -> str:
    """A bar per key, longest first (intents, counts)."""
    items = sorted(values.items(), key=lambda item: -item[1])
    top = max((value for _, value in items), default=0) or 1
    row = 26
    height = max(1, len(items)) * row
    parts = [
        f'<svg class="chart chart-h" width="600" height="{height * 2}" viewBox="0 0 300 {height}" '
        f'preserveAspectRatio="xMinYMin meet" role="img" aria-label="{escape(label)}">'
    ]
    for index, (name, value) in enumerate(items):
        y = index * row
        length = value / top * 170
        parts.append(
            f'<text class="chart-label" x="0" y="{y + 17}">{escape(name)}</text>'
            f'<rect class="bar-intent" x="110" y="{y + 5}" width="{_number(max(length, 1))}" height="16"/>'
            f'<text class="chart-value" x="{_number(114 + length)}" y="{y + 17}">{_number(value)}{escape(unit)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
