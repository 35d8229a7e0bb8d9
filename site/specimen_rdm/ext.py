"""Flask extension of the instance: IIIF request hooks, badge text layout, OAI-PMH last-page
fix, memoised dump-hook signatures, DataCite and bulk deposit settings."""

import os

from flask import Flask

from . import dump_signatures, iiif_accept, iiif_errors, oai_pagination, pillow_fonts
from .bulk import config as bulk_config

RAW_STRING_SETTINGS = (
    "DATACITE_USERNAME",
    "DATACITE_PASSWORD",
    "DATACITE_PREFIX",
    "DATACITE_URL",
)
"""Settings whose INVENIO_* values must stay text: invenio-config evaluates environment values as
Python literals, which turns a DOI prefix such as 10.80000 into the number 10.8."""


class SpecimenRDM:
    """Specimen RDM instance extension."""

    def __init__(self, app: Flask | None = None) -> None:
        """Initialise the extension, if given an app."""
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Install the IIIF hooks, read DataCite settings as text, report how DOIs are handled."""
        app.extensions["specimen-rdm"] = self
        iiif_errors.register(app)
        iiif_accept.register(app)
        pillow_fonts.use_basic_layout()
        oai_pagination.install()
        dump_signatures.install()
        config = app.config
        for key in dir(bulk_config):
            if key.startswith("SPECIMEN_BULK_"):
                config.setdefault(key, getattr(bulk_config, key))
        for key in RAW_STRING_SETTINGS:
            if f"INVENIO_{key}" in os.environ:
                config[key] = os.environ[f"INVENIO_{key}"].strip().strip("'\"")
        if config.get("DATACITE_ENABLED") and not (
            config.get("DATACITE_USERNAME") and config.get("DATACITE_PASSWORD")
        ):
            app.logger.warning(
                "DataCite credentials are not configured: DOIs under prefix %s are minted "
                "and kept reserved locally, never registered with DataCite. Set "
                "INVENIO_DATACITE_USERNAME, INVENIO_DATACITE_PASSWORD and "
                "INVENIO_DATACITE_PREFIX to register them.",
                config.get("DATACITE_PREFIX"),
            )
