"""Charts are SVG drawn from the numbers: scaled to the largest value, labelled, and text stays text."""

from __future__ import annotations

import re

from answer_ninja.services.console import charts


def test_sparkline_scales_to_the_range_and_skips_gaps() -> None:
    svg = charts.sparkline([1.0, None, 3.0, 2.0], width=100, height=20, label="rps")
    points = re.search(r'points="([^"]+)"', svg)
    assert points is not None
    ys = [float(pair.split(",")[1]) for pair in points.group(1).split()]
    assert len(ys) == 3  # the gap is left out
    assert min(ys) == 2
    assert max(ys) == 18
    assert 'aria-label="rps"' in svg


def test_sparkline_with_too_little_data_draws_nothing() -> None:
    assert "polyline" not in charts.sparkline([None, 5.0], label="x")


def test_stacked_bars_are_proportional_and_escape_names() -> None:
    svg = charts.stacked_bars([("2026-01-01", {"ai": 3, "reject": 1}), ("<b>", {"ai": 4})], ("ai", "reject"), label="x")
    heights = [float(h) for h in re.findall(r'height="([0-9.]+)"><title>', svg)]
    assert heights[0] + heights[1] == heights[2]  # 3 + 1 == 4 calls
    assert "<b>" not in svg
    assert "&lt;b&gt;" in svg


def test_horizontal_bars_longest_first() -> None:
    svg = charts.horizontal_bars({"sales": 1, "loan": 5}, label="intents")
    assert svg.index("loan") < svg.index("sales")
