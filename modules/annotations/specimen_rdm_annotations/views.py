"""Blueprint factory of `/api/annotations` for the `invenio_base.api_blueprints` entry point."""

from flask import Blueprint, Flask


def create_annotations_blueprint(app: Flask) -> Blueprint:
    """The annotation resource's blueprint."""
    return app.extensions["specimen-annotations"].resource.as_blueprint()
