"""Flask extension of specimen records: landing-page helpers and import settings."""

from flask import Flask

from . import config
from .quality_flags import ISSUE_DESCRIPTIONS
from .specimen_map import map_svg


class SpecimenRecords:
    """Registers the template helpers of the specimen landing-page panel."""

    def __init__(self, app: Flask | None = None) -> None:
        """Initialise the extension, if given an app."""
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Set default settings; add `specimen_map_svg`, `specimen_issue_description`."""
        app.extensions["specimen-records"] = self
        for name in dir(config):
            if name.startswith("SPECIMEN_"):
                app.config.setdefault(name, getattr(config, name))
        app.add_template_global(map_svg, "specimen_map_svg")
        app.add_template_global(ISSUE_DESCRIPTIONS.get, "specimen_issue_description")
