"""A target's score trend as the points of an SVG polyline, drawn by the dashboard's template."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from middlebrick.store.records import HistoryPoint

__all__ = ["HEIGHT", "WIDTH", "Point", "trend_points"]

WIDTH, HEIGHT, _PAD = 640, 180, 12


@dataclass(frozen=True)
class Point:
    """One scored scan on the chart."""

    x: float
    y: float
    score: int
    grade: str | None
    scan_id: str
    label: str


def trend_points(history: Sequence[HistoryPoint]) -> list[Point]:
    """The scored scans of ``history`` placed on a WIDTH x HEIGHT chart (score 100 at the top)."""
    scored = [h for h in history if h.score is not None]
    step = (WIDTH - 2 * _PAD) / max(1, len(scored) - 1)
    return [
        Point(
            x=round(_PAD + i * step, 1),
            y=round(_PAD + (100 - (h.score or 0)) * (HEIGHT - 2 * _PAD) / 100, 1),
            score=h.score or 0,
            grade=h.grade,
            scan_id=h.scan_id,
            label=h.finished_at.strftime("%Y-%m-%d %H:%M"),
        )
        for i, h in enumerate(scored)
    ]
