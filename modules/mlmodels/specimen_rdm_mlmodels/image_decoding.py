"""Decoding images for inference, several at a time on the worker's cores.

Pillow releases the GIL while it decodes, so a pipeline decodes a record's images in a small
thread pool (one thread per torch thread by default, `MLMODELS_DECODE_THREADS`) instead of one
after another. The pool is created lazily in the process that uses it, so a forked Celery child
gets its own.
"""

import io
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np
import torch
from PIL import Image


class UnusableImage(ValueError):
    """The bytes are not an image that can be analysed (broken, or over the pixel limit)."""


class DecodedImage(NamedTuple):
    """One decoding outcome: the RGB array, or why there is none."""

    array: np.ndarray | None
    error: UnusableImage | None


def decode_image(data: bytes, max_pixels: int) -> np.ndarray:
    """The image in `data` as a height×width×3 uint8 RGB array.

    UnusableImage for bytes Pillow cannot decode and for images of more than `max_pixels`
    (checked from the header, before any pixel is decoded).
    """
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            if width * height > max_pixels:
                raise UnusableImage(
                    f"{width}×{height} pixels is more than the limit of {max_pixels}"
                )
            if image.mode == "RGB":
                image.load()  # no converted copy of an image that is RGB already
                return np.asarray(image)
            with image.convert("RGB") as rgb:
                return np.asarray(rgb)
    except UnusableImage:
        raise
    except Exception as error:  # Pillow raises many types for broken files
        raise UnusableImage(f"unreadable image: {error}") from error


def _outcome(data: bytes, max_pixels: int) -> DecodedImage:
    try:
        return DecodedImage(decode_image(data, max_pixels), None)
    except UnusableImage as error:
        return DecodedImage(None, error)


class DecoderPool:
    """A per-process thread pool that decodes images in parallel."""

    def __init__(self) -> None:
        """No threads until the first call."""
        self._pool: ThreadPoolExecutor | None = None
        self._owner: tuple[int, int] | None = None
        self._lock = threading.Lock()

    def _executor(self, threads: int) -> ThreadPoolExecutor:
        with self._lock:
            if self._owner != (os.getpid(), threads):
                # A fork copies no threads: a child (or a new size) gets a new pool.
                self._pool = ThreadPoolExecutor(threads, thread_name_prefix="image-decoding")
                self._owner = (os.getpid(), threads)
            return self._pool

    def decode(
        self, images: list[bytes], max_pixels: int, threads: int | None = None
    ) -> list[DecodedImage]:
        """The outcome of decoding each of `images`, in order; `threads` (default: the
        number of torch threads) decode at once."""
        threads = threads or torch.get_num_threads()
        if threads <= 1 or len(images) <= 1:
            return [_outcome(data, max_pixels) for data in images]
        return list(self._executor(threads).map(_outcome, images, [max_pixels] * len(images)))


decoder_pool = DecoderPool()
"""The process's decoding pool."""
