"""Badge text is measured correctly even with libvips, cairo and pango loaded."""

import subprocess
import sys

MEASURE = (
    "import pyvips, cairosvg, weasyprint\n"
    "from specimen_rdm.pillow_fonts import use_basic_layout\n"
    "use_basic_layout()\n"
    "from invenio_formatter.context_processors.badges import get_text_length\n"
    "print(*get_text_length('DOI', '10.80000/specimen-rdm.abcde-12345'))\n"
)


def test_badge_text_widths_are_sane():
    output = subprocess.run(
        [sys.executable, "-c", MEASURE], capture_output=True, text=True, check=True
    ).stdout
    title, value = (float(width) for width in output.split())
    assert 15 < title < 30
    assert 150 < value < 300
