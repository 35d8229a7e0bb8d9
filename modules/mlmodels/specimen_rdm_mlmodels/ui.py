"""Web UI of the models module: the search-by-image page and its menu entry.

`GET /search/by-image` shows an upload form; `POST` (multipart `file`) shows the records whose
images look most like the upload (the same k-NN search as `POST /api/similar`, with the
visitor's identity, so only records they may read appear). The upload is not stored. An image
that cannot be used is shown as an error on the page, with status 400.
"""

from flask import Blueprint, g, render_template, request
from flask_menu import current_menu
from invenio_i18n import lazy_gettext as _

from .embeddings import SimilarityError
from .similarity import similar_to_image

RESULTS = 24
"""How many similar records the page shows."""


def create_ui_blueprint(app) -> Blueprint:
    """The UI blueprint (templates of this package, one route)."""
    blueprint = Blueprint(
        "specimen_mlmodels_ui", __name__, template_folder="templates", url_prefix="/search"
    )
    blueprint.add_url_rule("/by-image", "by_image", search_by_image, methods=["GET", "POST"])
    return blueprint


def search_by_image():
    """The form, and on POST the records with the most similar images."""
    context = {"hits": None, "error": None, "filename": None}
    status = 200
    if request.method == "POST":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            context["error"], status = _("Choose an image file to search with."), 400
        else:
            context["filename"] = upload.filename
            try:
                found = similar_to_image(g.identity, upload.read(), None, RESULTS)
                context["hits"] = found["hits"]
            except SimilarityError as error:
                context["error"] = f"{error.field}: {error.reason}"
                status = error.status
    return render_template("specimen_rdm_mlmodels/search_by_image.html", **context), status


def finalize_app(app) -> None:
    """Put "Search by image" in the main menu."""
    current_menu.submenu("main.search_by_image").register(
        endpoint="specimen_mlmodels_ui.by_image", text=_("Search by image"), order=3
    )
