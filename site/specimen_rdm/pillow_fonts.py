"""Load Pillow's font module before libvips, so that text measurement stays correct.

InvenioRDM imports pyvips while its configuration loads. libvips links the system HarfBuzz and
FreeType; when Pillow's `ImageFont` is imported after that, `textlength()` returns garbage
(-585018.5 instead of 20.4 for "DOI" at 11 px), and the DOI badges on landing pages become
thousands of pixels wide. Importing `PIL.ImageFont` first avoids it; the web server's WSGI
module (`specimen_rdm.wsgi`) imports this module before anything else.
"""

from PIL import ImageFont  # noqa: F401
