"""With our font preload, Pillow measures text correctly even after pyvips is imported."""

import subprocess
import sys

MEASURE = (
    "import pyvips\n"
    "from PIL import Image, ImageDraw, ImageFont\n"
    "font = ImageFont.truetype('DejaVuSans', 11)\n"
    "print(ImageDraw.Draw(Image.new('RGBA', (16, 16))).textlength('DOI', font=font))\n"
)


def test_text_width_is_sane_when_fonts_load_first():
    code = "import specimen_rdm.pillow_fonts\n" + MEASURE
    width = float(
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
    )
    assert 15 < width < 30
