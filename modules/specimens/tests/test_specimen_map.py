"""The landing page's SVG map of the collecting point."""

from xml.etree import ElementTree

from specimen_rdm_specimens.specimen_map import HEIGHT, WIDTH, map_svg

SVG = "{http://www.w3.org/2000/svg}"


def _berlin(**extra) -> dict:
    return {
        "hasCoordinates": True,
        "decimalLatitude": 52.4555,
        "decimalLongitude": 13.3047,
        "countryCode": "DE",
        **extra,
    }


def test_point_is_drawn_inside_the_country_outline():
    svg = ElementTree.fromstring(map_svg(_berlin()))
    assert svg.get("viewBox") == f"0 0 {WIDTH} {HEIGHT}"
    outline = svg.find(f"{SVG}path")
    assert outline is not None and outline.get("d").startswith("M")
    point = svg.find(f"{SVG}circle[@class='specimen-point']")
    x, y = float(point.get("cx")), float(point.get("cy"))
    assert 0 < x < WIDTH and 0 < y < HEIGHT
    # Berlin lies in the north-east of Germany: right half, upper half of the frame.
    assert x > WIDTH / 2 and y < HEIGHT / 2


def test_uncertainty_is_drawn_as_a_circle():
    svg = ElementTree.fromstring(map_svg(_berlin(coordinateUncertaintyInMeters=20000)))
    assert len(svg.findall(f"{SVG}circle")) == 2


def test_no_map_without_coordinates():
    assert map_svg({"hasCoordinates": False}) == ""
    assert map_svg({}) == ""


def test_unknown_country_still_places_the_point():
    svg = ElementTree.fromstring(map_svg(_berlin(countryCode=None)))
    assert svg.find(f"{SVG}path") is None
    assert svg.find(f"{SVG}circle[@class='specimen-point']") is not None
