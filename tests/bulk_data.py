"""Test data for bulk deposit: distinct JPEG sheets and JSON lines that describe them.

Every image must be distinct: the repository refuses a second record with an image whose
SHA-256 a published record already holds. `distinct_sheet` re-encodes a real herbarium sheet
from the shared data with a comment naming the record; `tiny_jpeg` draws a small unique image
for tests that need thousands.
"""

import hashlib
import io
import random

from PIL import Image

from live_instance import SHARED_DATA

SHEETS = SHARED_DATA / "herbarium" / "sheets" / "img"


def distinct_sheet(name: str, tag: str) -> bytes:
    """A real sheet (JPEG), made distinct by a JPEG comment."""
    buffer = io.BytesIO()
    with Image.open(SHEETS / f"{name}.jpg") as image:
        image.save(buffer, format="JPEG", quality=90, comment=tag.encode())
    return buffer.getvalue()


def tiny_jpeg(seed: int, size: int = 48) -> bytes:
    """A small JPEG of random pixels, different for each seed."""
    rng = random.Random(seed)
    pixels = bytes(rng.randrange(256) for _ in range(size * size * 3))
    buffer = io.BytesIO()
    Image.frombytes("RGB", (size, size), pixels).save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def sha256(data: bytes) -> str:
    """Hex SHA-256."""
    return hashlib.sha256(data).hexdigest()


def specimen_line(key: str, catalog: str, files: list[tuple[str, bytes]] = (), **terms) -> dict:
    """A JSON line of a herbarium specimen with Darwin Core terms and files."""
    dwc = {
        "occurrenceID": f"urn:catalog:TEST:{catalog}",
        "institutionCode": "TEST",
        "catalogNumber": catalog,
        "basisOfRecord": "PreservedSpecimen",
        "scientificName": "Quercus robur L.",
        "country": "Germany",
        "countryCode": "DE",
        "eventDate": "1901-06-12",
        **terms,
    }
    return {
        "id": key,
        "dwc": dwc,
        "files": [{"key": k, "size": len(d), "sha256": sha256(d)} for k, d in files],
    }
