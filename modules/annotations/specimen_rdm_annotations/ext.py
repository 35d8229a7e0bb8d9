"""Flask extension: the annotation service and resource, category sets and settings."""

from pathlib import Path

from flask import Flask

from . import config, iiif_annotation_links
from .categories import load_category_sets
from .record_summary import install_summary_dumper
from .resources.config import AnnotationResourceConfig
from .resources.resource import AnnotationResource
from .services.config import AnnotationServiceConfig
from .services.service import AnnotationService


class SpecimenAnnotations:
    """Creates the annotation service (registered as `annotations`) and its REST resource."""

    def __init__(self, app: Flask | None = None) -> None:
        """Initialise the extension, if given an app."""
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Set defaults and build the service and resource."""
        for name in dir(config):
            if name.startswith("ANNOTATIONS_"):
                app.config.setdefault(name, getattr(config, name))
        self.app = app
        self._category_sets = None
        self.service = AnnotationService(AnnotationServiceConfig.build(app))
        self.resource = AnnotationResource(AnnotationResourceConfig.build(app), self.service)
        app.extensions["specimen-annotations"] = self
        install_summary_dumper()
        iiif_annotation_links.register(app)

    @property
    def category_sets(self):
        """`{set name: {category name: Category}}`, read once from the category-set folder."""
        if self._category_sets is None:
            folder = self.app.config["ANNOTATIONS_CATEGORY_SETS_DIR"] or (
                Path(self.app.instance_path) / "app_data" / "annotation_categories"
            )
            self._category_sets = load_category_sets(Path(folder))
        return self._category_sets


def finalize_app(app: Flask) -> None:
    """Register the service and its indexer (after invenio-records-resources is set up)."""
    ext = app.extensions["specimen-annotations"]
    app.extensions["invenio-records-resources"].registry.register(
        ext.service, service_id="annotations"
    )
    app.extensions["invenio-indexer"].registry.register(
        ext.service.indexer, indexer_id="annotations"
    )
