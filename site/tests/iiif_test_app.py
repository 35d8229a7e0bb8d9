"""A Flask app shaped like the API app for the IIIF hook unit tests."""

from collections.abc import Callable

from flask import Blueprint, Flask

from specimen_rdm.config import IIIF_BLUEPRINT


def app_with_iiif_and_other(
    iiif_rule: str, iiif_view: Callable, other_view: Callable, register: Callable
) -> Flask:
    """A Flask app with one view on a blueprint named like InvenioRDM's IIIF one, one elsewhere
    (`/other`), and `register(app)` applied: the setting our IIIF hooks act on."""
    app = Flask("test")
    iiif = Blueprint(IIIF_BLUEPRINT, __name__)
    other = Blueprint("other", __name__)
    iiif.add_url_rule(iiif_rule, view_func=iiif_view)
    other.add_url_rule("/other", view_func=other_view)
    app.register_blueprint(iiif)
    app.register_blueprint(other)
    register(app)
    return app
