"""Decoding images for inference: the same arrays as a plain decode, in parallel, with errors
kept per image."""

import io
import threading

import numpy as np
import pytest
from PIL import Image
from sheet_samples import SHEETS

from specimen_rdm_mlmodels.image_decoding import (
    DecoderPool,
    UnusableImage,
    decode_image,
)


def _sheets() -> list[bytes]:
    sheets = [path.read_bytes() for path in sorted((SHEETS / "img").glob("*.jpg"))]
    assert len(sheets) >= 6, f"no sheets in {SHEETS}"
    return sheets


def test_decodes_as_pillow_does():
    for data in _sheets()[:3]:
        expected = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
        array = decode_image(data, 10**8)
        assert array.dtype == np.uint8 and array.shape == expected.shape
        assert np.array_equal(array, expected)


def test_converts_other_modes_to_rgb():
    buffer = io.BytesIO()
    Image.new("L", (30, 20), 77).save(buffer, format="PNG")
    array = decode_image(buffer.getvalue(), 10**8)
    assert array.shape == (20, 30, 3) and int(array[0, 0, 2]) == 77


def test_refuses_broken_and_oversized_images():
    data = _sheets()[0]
    with pytest.raises(UnusableImage, match="unreadable image"):
        decode_image(data[: len(data) // 3] + b"\0" * 10, 10**8)
    with pytest.raises(UnusableImage, match="unreadable image"):
        decode_image(b"not an image", 10**8)
    with pytest.raises(UnusableImage, match="more than the limit of 1000"):
        decode_image(data, 1000)


def test_pool_keeps_order_and_reports_each_failure():
    sheets = _sheets()
    images = sheets[:4] + [b"broken"] + sheets[4:6]
    seen_threads = set()
    pool = DecoderPool()
    original = Image.Image.load

    def load(self):
        seen_threads.add(threading.current_thread().name)
        return original(self)

    Image.Image.load = load
    try:
        outcomes = pool.decode(images, 10**8, threads=2)
    finally:
        Image.Image.load = original
    assert len(outcomes) == len(images)
    for data, (array, error) in zip(images, outcomes, strict=True):
        if data == b"broken":
            assert array is None and "unreadable image" in str(error)
        else:
            assert error is None
            assert np.array_equal(array, decode_image(data, 10**8))
    assert all(name.startswith("image-decoding") for name in seen_threads)
    # One thread: decoded in the caller, same outcomes.
    serial = pool.decode(images, 10**8, threads=1)
    assert [o.error is None for o in serial] == [o.error is None for o in outcomes]
