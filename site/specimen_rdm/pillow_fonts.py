"""Pillow text measurement without Raqm, so that badge widths stay correct.

Pillow measures text with its Raqm layout engine when available. Once the process has loaded the
system HarfBuzz/FreeType (libvips through pyvips, cairo through cairosvg, pango through
weasyprint: all are loaded by InvenioRDM), Raqm's measurements are garbage (-585018.5 or 0 px
instead of 20 px for "DOI" at 11 px), and the DOI badges on landing pages become thousands of
pixels wide or vanish. Pillow's basic layout engine measures Latin text correctly and uses no
HarfBuzz, so the instance selects it for every font loaded without an explicit engine.
"""

from PIL import ImageFont


def use_basic_layout() -> None:
    """Make `ImageFont.truetype` default to the basic layout engine."""
    ImageFont.core.HAVE_RAQM = False
