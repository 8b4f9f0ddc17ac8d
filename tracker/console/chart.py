"""A line chart as inline SVG, drawn on the server: no chart library, no JavaScript."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape


@dataclass(frozen=True)
class Series:
    label: str
    colour: str
    points: Sequence[tuple[datetime, float | None]]  # None: nothing to count that day (a gap in the line)


def line_chart(series: Sequence[Series], *, width: int = 760, height: int = 280, target: float | None = None,
               target_label: str = "") -> str:
    """Ratios 0..1 over days; each series a polyline broken where a day had nothing to count."""
    left, right, top, bottom = 48, 16, 16, 40
    days = max((len(s.points) for s in series), default=0)
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(i: int) -> float:
        return left + (plot_w * i / max(days - 1, 1))

    def y(v: float) -> float:
        return top + plot_h * (1 - v)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
           f'viewBox="0 0 {width} {height}" class="chart">']
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" font-size="11">{tick:.0%}</text>')
    if target is not None:
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{y(target):.1f}" y2="{y(target):.1f}" '
                   f'stroke="#c00" stroke-dasharray="4 3"/>')
        out.append(f'<text x="{width - right}" y="{y(target) - 4:.1f}" text-anchor="end" font-size="11" '
                   f'fill="#c00">{escape(target_label)}</text>')
    if series and series[0].points:
        points = series[0].points
        for i in range(0, len(points), max(1, len(points) // 6)):
            out.append(f'<text x="{x(i):.1f}" y="{height - bottom + 16}" text-anchor="middle" font-size="11">'
                       f'{points[i][0]:%m-%d}</text>')
    for n, s in enumerate(series):
        run: list[str] = []
        runs: list[list[str]] = [run]
        for i, (_, value) in enumerate(s.points):
            if value is None:
                run = []
                runs.append(run)
                continue
            run.append(f"{x(i):.1f},{y(value):.1f}")
            out.append(f'<circle cx="{x(i):.1f}" cy="{y(value):.1f}" r="2.5" fill="{s.colour}"/>')
        for r in runs:
            if len(r) > 1:
                out.append(f'<polyline fill="none" stroke="{s.colour}" stroke-width="2" points="{" ".join(r)}"/>')
        lx = left + 8 + n * 200
        out.append(f'<rect x="{lx}" y="{height - 14}" width="12" height="4" fill="{s.colour}"/>')
        out.append(f'<text x="{lx + 16}" y="{height - 9}" font-size="12">{escape(s.label)}</text>')
    out.append("</svg>")
    return "".join(out)
