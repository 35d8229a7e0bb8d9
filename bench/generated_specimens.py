"""Generated Darwin Core rows and archives for the specimen benchmarks.

Rows are varied the way real collections are: most are clean, some carry the problems GBIF
flags (zero or swapped coordinates, a country that disagrees with the point, misspelt names,
unlikely dates), so the validator's slow paths run as often as they would on real data.
"""

import io
import random
import zipfile

from PIL import Image

NAMES = [
    ("Quercus robur L.", "Fagaceae", "Quercus", "Plantae"),
    ("Abies alba Mill.", "Pinaceae", "Abies", "Plantae"),
    ("Acacia sophorae (Labill.) R.Br.", "Fabaceae", "Acacia", "Plantae"),
    ("Thelypteris minutula C.V.Morton", "Thelypteridaceae", "Thelypteris", "Plantae"),
    ("Blechnum asplenioides Sw.", "Blechnaceae", "Blechnum", "Plantae"),
    ("Quercus robus L.", "Fagaceae", "Quercus", "Plantae"),
    ("Fagus sylvatica L.", "Fagaceae", "Fagus", "Plantae"),
    ("Bellis perennis L.", "Asteraceae", "Bellis", "Plantae"),
]
PLACES = [
    ("DE", "Germany", 52.45, 13.30),
    ("TR", "Türkiye", 39.93, 32.85),
    ("BO", "Bolivia", -16.25, -67.17),
    ("EC", "Ecuador", 0.81, -77.72),
    ("MW", "Malawi", -15.95, 35.60),
    ("AU", "Australia", -37.80, 144.96),
]


def darwin_core_row(n: int, rng: random.Random) -> dict[str, str]:
    """Row `n`: text values as a CSV would hold them, with realistic defects."""
    name, family, genus, kingdom = rng.choice(NAMES)
    code, country, lat, lon = rng.choice(PLACES)
    lat += rng.uniform(-0.5, 0.5)
    lon += rng.uniform(-0.5, 0.5)
    defect = rng.random()
    if defect < 0.03:
        lat, lon = 0.0, 0.0
    elif defect < 0.06:
        lat, lon = lon, lat
    elif defect < 0.08:
        code = "FR"
    year = rng.randint(1750, 2025) if defect > 0.01 else 2999
    return {
        "dwc:occurrenceID": f"urn:catalog:BENCH:herbarium:{n}",
        "dwc:institutionCode": "BENCH",
        "dwc:collectionCode": "herbarium",
        "dwc:catalogNumber": f"BENCH{n:08d}",
        "dwc:basisOfRecord": "PreservedSpecimen",
        "dwc:scientificName": name,
        "dwc:kingdom": kingdom,
        "dwc:family": family,
        "dwc:genus": genus,
        "dwc:recordedBy": "A. Collector",
        "dwc:eventDate": f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        "dwc:country": country,
        "dwc:countryCode": code,
        "dwc:locality": f"Locality {n}",
        "dwc:decimalLatitude": f"{lat:.5f}",
        "dwc:decimalLongitude": f"{lon:.5f}",
        "dwc:typeStatus": "Holotype" if n % 500 == 0 else "",
    }


def rows(count: int, seed: int = 1, start: int = 0) -> list[dict[str, str]]:
    """`count` generated rows numbered from `start`, the same for the same seed."""
    rng = random.Random(seed)
    return [darwin_core_row(n, rng) for n in range(start, start + count)]


def small_jpeg(n: int, size: int = 96) -> bytes:
    """A distinct small JPEG (distinct SHA-256) for row `n`."""
    rng = random.Random(n)
    image = Image.new("RGB", (size, size), tuple(rng.randrange(256) for _ in range(3)))
    image.putpixel((n % size, (n // size) % size), (255 - n % 256, n % 256, 7))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def write_archive_with_images(path, count: int, seed: int = 1, start: int = 0) -> None:
    """A Darwin Core Archive: occurrence core + Audubon Core rows pointing at images inside."""
    data = rows(count, seed, start)
    terms = list(data[0])
    uri = {"dwc": "http://rs.tdwg.org/dwc/terms/"}
    fields = "".join(
        f'<field index="{i + 1}" term="{uri["dwc"]}{t.split(":")[1]}"/>'
        for i, t in enumerate(terms)
    )
    meta = (
        '<archive xmlns="http://rs.tdwg.org/dwc/text/">'
        '<core encoding="UTF-8" fieldsTerminatedBy="\\t" linesTerminatedBy="\\n" '
        'fieldsEnclosedBy="" ignoreHeaderLines="1" rowType="http://rs.tdwg.org/dwc/terms/Occurrence">'
        f'<files><location>occurrence.txt</location></files><id index="0"/>{fields}</core>'
        '<extension encoding="UTF-8" fieldsTerminatedBy="\\t" linesTerminatedBy="\\n" '
        'fieldsEnclosedBy="" ignoreHeaderLines="1" rowType="http://rs.tdwg.org/ac/terms/Multimedia">'
        '<files><location>multimedia.txt</location></files><coreid index="0"/>'
        '<field index="1" term="http://rs.tdwg.org/ac/terms/accessURI"/>'
        '<field index="2" term="http://purl.org/dc/terms/format"/></extension></archive>'
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("meta.xml", meta)
        lines = ["id\t" + "\t".join(t.split(":")[1] for t in terms)]
        lines += [f"{start + n}\t" + "\t".join(row[t] for t in terms) for n, row in enumerate(data)]
        archive.writestr("occurrence.txt", "\n".join(lines) + "\n")
        media = ["coreid\taccessURI\tformat"]
        for n in range(start, start + count):
            media.append(f"{n}\timages/sheet-{n}.jpg\timage/jpeg")
            archive.writestr(f"images/sheet-{n}.jpg", small_jpeg(n))
        archive.writestr("multimedia.txt", "\n".join(media) + "\n")
