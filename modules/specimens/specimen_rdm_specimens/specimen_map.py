"""A small SVG map of a specimen's collecting point, drawn on the server.

The landing page shows where a specimen was collected without loading map tiles from another
site (our CSP and many harvesting mirrors forbid that, and tiles need a network): the outline of
the country it was collected in, from the same Natural Earth polygons the validator uses, in a
plain equirectangular projection, with the point (and its uncertainty radius when given).
"""

import math
from html import escape

import shapely

from .country_shapes import country_shapes

WIDTH, HEIGHT = 320, 220
MARGIN_DEGREES = 1.0
KM_PER_DEGREE = 111.195


def _frame(bounds: tuple[float, float, float, float]):
    west, south, east, north = bounds
    west, east = west - MARGIN_DEGREES, east + MARGIN_DEGREES
    south, north = max(south - MARGIN_DEGREES, -90), min(north + MARGIN_DEGREES, 90)
    mid_lat = math.radians((south + north) / 2)
    x_scale = math.cos(mid_lat)
    span_x, span_y = (east - west) * x_scale, north - south
    scale = min(WIDTH / span_x, HEIGHT / span_y)
    offset_x = (WIDTH - span_x * scale) / 2
    offset_y = (HEIGHT - span_y * scale) / 2

    def project(lon: float, lat: float) -> tuple[float, float]:
        return (
            offset_x + (lon - west) * x_scale * scale,
            offset_y + (north - lat) * scale,
        )

    return project, scale


def _path(geometry, project) -> str:
    commands = []
    for polygon in getattr(geometry, "geoms", [geometry]):
        for ring in [polygon.exterior, *polygon.interiors]:
            points = [project(x, y) for x, y in ring.coords]
            commands.append("M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in points) + " Z")
    return " ".join(commands)


def map_svg(interpreted: dict) -> str:
    """An inline SVG for the interpreted values of a record; '' without coordinates."""
    if not interpreted or not interpreted.get("hasCoordinates"):
        return ""
    lat, lon = interpreted["decimalLatitude"], interpreted["decimalLongitude"]
    code = interpreted.get("countryCode")
    geometry = country_shapes().geometry(code) if code else None
    point = shapely.Point(lon, lat)
    if geometry is not None:
        geometry = geometry.simplify(0.02)
        bounds = shapely.union(shapely.envelope(geometry), point).bounds
    else:
        bounds = (lon - 5, lat - 5, lon + 5, lat + 5)
    project, scale = _frame(bounds)
    x, y = project(lon, lat)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" '
        f'aria-label="{escape(f"Collecting point {lat:.4f}, {lon:.4f}")}">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#eef5fb"/>',
    ]
    if geometry is not None:
        parts.append(
            f'<path d="{_path(geometry, project)}" fill="#f4f1e6" stroke="#8a8170" '
            'stroke-width="0.8" fill-rule="evenodd"/>'
        )
    uncertainty = interpreted.get("coordinateUncertaintyInMeters")
    if uncertainty:
        radius = max(uncertainty / 1000 / KM_PER_DEGREE * scale, 4)
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius:.1f}" fill="#c0392b" '
            'fill-opacity="0.15" stroke="#c0392b" stroke-width="0.5"/>'
        )
    parts.append(
        f'<circle class="specimen-point" cx="{x:.1f}" cy="{y:.1f}" r="4" fill="#c0392b" '
        'stroke="#fff" stroke-width="1.5"/>'
    )
    parts.append("</svg>")
    return "".join(parts)
