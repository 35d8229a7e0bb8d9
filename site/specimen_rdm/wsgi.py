"""WSGI entry point of the web app (UI + REST API): `gunicorn specimen_rdm.wsgi:application`."""

from invenio_app.wsgi import application  # noqa: E402

from . import pillow_fonts  # noqa: F401  (must precede anything that imports pyvips)

__all__ = ["application"]
