"""WSGI entry point of the web app (UI + REST API): `gunicorn specimen_rdm.wsgi:application`."""

from invenio_app.wsgi import application

__all__ = ["application"]
