"""Natural Earth country polygons answer point-in-country questions for real places."""

import pytest

from specimen_rdm_specimens.country_shapes import (
    COAST_TOLERANCE_KM,
    country_shapes,
    haversine_km,
    territory_parent,
)


@pytest.fixture(scope="module")
def shapes():
    return country_shapes()


def test_loaded_once_per_process(shapes):
    assert country_shapes() is shapes


@pytest.mark.parametrize(
    ("place", "lat", "lon", "code"),
    [
        ("Berlin-Dahlem", 52.4555, 13.3047, "DE"),
        ("Bolkar Daglari, Nigde", 37.42, 34.568, "TR"),
        ("Doganbey, Seferihisar", 38.10695, 26.85083, "TR"),
        ("Pristina (Kosovo as Germany recognises it)", 42.66, 21.16, "XK"),
        ("Simferopol (Crimea as part of Ukraine)", 44.95, 34.1, "UA"),
        ("Cape Town", -33.93, 18.42, "ZA"),
    ],
)
def test_points_lie_in_their_country(shapes, place, lat, lon, code):
    assert shapes.codes_at(lat, lon) == {code}, place
    assert shapes.country_at(lat, lon) == code
    assert shapes.contains(code, lat, lon)


def test_open_sea_is_in_no_country(shapes):
    assert shapes.codes_at(0, 0) == set()
    assert shapes.country_at(0, 0) is None


def test_tolerance_is_about_five_kilometres():
    assert COAST_TOLERANCE_KM == 5


def test_a_point_just_offshore_belongs_to_the_coast_within_the_tolerance(shapes):
    # 1.5 km off Doganbey beach: outside the 1:10m coastline, inside the tolerance
    assert shapes.codes_at(38.10, 26.83) == set()
    assert 1.0 < shapes.distance_km("TR", 38.10, 26.83, COAST_TOLERANCE_KM) < 2.0
    assert shapes.contains("TR", 38.10, 26.83)
    assert shapes.country_at(38.10, 26.83) == "TR"
    assert shapes.country_at(38.10, 26.83, tolerance_km=0) is None


def test_a_point_far_offshore_belongs_to_nobody(shapes):
    assert shapes.distance_km("TR", 38.0, 26.5, COAST_TOLERANCE_KM) is None
    assert not shapes.contains("TR", 38.0, 26.5)
    assert shapes.country_at(38.0, 26.5) is None


def test_a_point_near_a_border_counts_for_both_countries(shapes):
    # Frankfurt (Oder), on the German bank of the Oder, which is the border
    assert shapes.codes_at(52.3476, 14.5506) == {"DE"}
    assert shapes.contains("PL", 52.3476, 14.5506)
    assert not shapes.contains("PL", 52.4555, 13.3047)


def test_territories_drawn_inside_another_country(shapes):
    # Cayenne: Natural Earth's France feature includes French Guiana
    assert territory_parent("GF") == "FR"
    assert territory_parent("DE") is None
    assert shapes.codes_at(4.93, -52.33) == {"FR"}
    assert shapes.country_at(4.93, -52.33) == "GF"
    assert shapes.has_shape("GF")
    assert shapes.contains("GF", 4.93, -52.33)
    assert shapes.contains("FR", 4.93, -52.33)
    assert not shapes.contains("GF", 48.85, 2.35)  # Paris is France, not French Guiana


def test_unknown_codes_have_no_shape(shapes):
    assert not shapes.has_shape("XY")
    assert shapes.distance_km("XY", 52.45, 13.30, 5) is None


def test_haversine_one_degree_of_latitude():
    assert haversine_km(52.0, 13.0, 53.0, 13.0) == pytest.approx(111.2, abs=0.1)


def test_geometry_of_a_country_contains_its_capital():
    import shapely

    from specimen_rdm_specimens.country_shapes import country_shapes

    germany = country_shapes().geometry("DE")
    assert germany.contains(shapely.Point(13.40, 52.52))
    assert not germany.contains(shapely.Point(2.35, 48.86))
    assert country_shapes().geometry("XX") is None
