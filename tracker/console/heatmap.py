"""The density picture of the heat map as inline SVG, drawn on the server from the binned coordinates.

No map library and no script (the console's CSP allows only its own): cells are squares coloured by their
count and softened by an SVG blur, in Web Mercator so that an optional tile layer (a deployment's tile URL,
e.g. https://tiles.example.org/{z}/{x}/{y}.png) lies exactly under them. Without a tile URL nothing is fetched.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from urllib.parse import urlsplit

from tracker.domain.heat import Cell

TILE = 256
# Light yellow to dark red: the colour a reader expects of "more here"; index by the cell's share of the maximum.
PALETTE = ("#fff5b1", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#b10026")


@dataclass(frozen=True)
class Label:
    text: str
    lat: float
    lon: float


def _world(lat: float, lon: float) -> tuple[float, float]:
    """Web Mercator at zoom 0: x, y in 0..256."""
    lat = max(min(lat, 85.0511), -85.0511)
    siny = math.sin(math.radians(lat))
    return (lon + 180) / 360 * TILE, (0.5 - math.log((1 + siny) / (1 - siny)) / (4 * math.pi)) * TILE


def tile_origin(url: str | None) -> str | None:
    """scheme://host[:port] of a tile URL template, for the page's img-src; None when no tiles are drawn."""
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else None


def colour(count: int, most: int) -> str:
    """The palette colour of a cell; square-root scaled, so a few dense cells do not wash the rest out."""
    share = math.sqrt(count / most) if most else 0.0
    return PALETTE[min(len(PALETTE) - 1, int(share * len(PALETTE)))]


def density_svg(cells: Sequence[Cell], size: float, labels: Sequence[Label] = (), *, width: int = 720,
                max_height: int = 560, tile_url: str | None = None) -> str:
    """The cells (south-west corners, `size` degrees) over their bounds with a margin of one cell."""
    if not cells:
        return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="120" class="heatmap" role="img">'
                '<text x="12" y="60" font-size="14" fill="#78909c">窗口内没有带坐标的报告</text></svg>')
    south = min(c.lat for c in cells) - size
    north = max(c.lat for c in cells) + 2 * size
    west = min(c.lon for c in cells) - size
    east = max(c.lon for c in cells) + 2 * size
    x0, y0 = _world(north, west)
    x1, y1 = _world(south, east)
    scale = min(width / (x1 - x0), max_height / (y1 - y0))
    height = round((y1 - y0) * scale)
    map_w = round((x1 - x0) * scale)

    def at(lat: float, lon: float) -> tuple[float, float]:
        x, y = _world(lat, lon)
        return (x - x0) * scale, (y - y0) * scale

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{map_w}" height="{height}" viewBox="0 0 {map_w} '
           f'{height}" class="heatmap" role="img" aria-label="报告密度">',
           f'<defs><filter id="soften" x="-20%" y="-20%" width="140%" height="140%">'
           f'<feGaussianBlur stdDeviation="{max(1.0, size / 360 * TILE * scale * 0.4):.1f}"/></filter></defs>',
           f'<rect width="{map_w}" height="{height}" fill="#eceff1"/>']
    if tile_url:
        out.extend(_tiles(tile_url, x0, y0, x1, y1, scale))
    most = max(c.count for c in cells)
    out.append('<g filter="url(#soften)" opacity="0.85">')
    for c in cells:
        left, top = at(c.lat + size, c.lon)
        right, bottom = at(c.lat, c.lon + size)
        out.append(f'<rect x="{left:.1f}" y="{top:.1f}" width="{right - left + 0.6:.1f}" '
                   f'height="{bottom - top + 0.6:.1f}" fill="{colour(c.count, most)}"><title>{c.count} 件</title>'
                   f'</rect>')
    out.append("</g>")
    for label in labels:
        x, y = at(label.lat, label.lon)
        # Near the right edge the name goes to the left of its dot, so it is not cut off.
        left_side = x > map_w - 14 * len(label.text) - 8
        out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#263238"/>'
                   f'<text x="{x - 5 if left_side else x + 5:.1f}" y="{y - 4:.1f}" font-size="12" fill="#263238" '
                   f'text-anchor="{"end" if left_side else "start"}" stroke="#fff" stroke-width="3" '
                   f'paint-order="stroke">{escape(label.text)}</text>')
    # Scale bar: how far one cell reaches north-south (1° of latitude ≈ 111 km everywhere).
    out.append(f'<text x="8" y="{height - 8}" font-size="11" fill="#455a64">每格约 {size * 111_000:.0f} 米 · '
               f'最密一格 {most} 件</text>')
    out.append("</svg>")
    return "".join(out)


def _tiles(url: str, x0: float, y0: float, x1: float, y1: float, scale: float) -> list[str]:
    """<image>s of the tiles under the picture, at the zoom closest to its scale."""
    zoom = max(0, min(19, round(math.log2(scale))))
    n = 2 ** zoom
    size = TILE * scale / n  # one tile on the picture, in pixels
    out = []
    for tx in range(math.floor(x0 * n / TILE), math.floor(x1 * n / TILE) + 1):
        for ty in range(math.floor(y0 * n / TILE), math.floor(y1 * n / TILE) + 1):
            if 0 <= tx < n and 0 <= ty < n:
                href = url.replace("{z}", str(zoom)).replace("{x}", str(tx)).replace("{y}", str(ty))
                out.append(f'<image href="{escape(href)}" x="{(tx * TILE / n - x0) * scale:.1f}" '
                           f'y="{(ty * TILE / n - y0) * scale:.1f}" width="{size:.1f}" height="{size:.1f}"/>')
    return out
