"""Flask extension: settings, the pipeline registry and the use-case vocabulary."""

from pathlib import Path

from flask import Flask

from . import config
from .pipeline_registry import PipelineRegistry
from .suitability import model_scores
from .use_cases import UseCase, load_use_cases


class SpecimenMLModels:
    """Holds the pipeline registry; files default to the instance's `app_data/`."""

    def __init__(self, app: Flask | None = None) -> None:
        """Initialise the extension, if given an app."""
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Set defaults and open the registry."""
        for name in dir(config):
            if name.startswith("MLMODELS_"):
                app.config.setdefault(name, getattr(config, name))
        self.app = app
        self.registry = PipelineRegistry(self._app_data(app, "PIPELINES_FILE", "pipelines.yaml"))
        app.extensions["specimen-mlmodels"] = self
        app.add_template_global(self.card_scores, "model_card_scores")
        app.add_template_global(self.similar_records, "similar_records")

    @staticmethod
    def _app_data(app: Flask, setting: str, name: str) -> Path:
        return Path(
            app.config[f"MLMODELS_{setting}"] or Path(app.instance_path) / "app_data" / name
        )

    def card_scores(self, record: dict) -> dict:
        """Rating and suitability shown on a model's landing page."""
        weight = self.app.config["MLMODELS_SUITABILITY_METRIC_WEIGHT"]
        return model_scores(record, self.use_cases, weight)

    def similar_records(self, recid: str, size: int = 6) -> list[dict]:
        """Records with similar images, for the landing page (none when the record has no
        embedding yet; a search failure is logged, never breaks the page)."""
        from flask import g

        from .embeddings import SimilarityError
        from .similarity import similar_to_record

        try:
            return similar_to_record(g.identity, recid, None, None, size)["hits"]
        except SimilarityError:
            return []
        except Exception:
            self.app.logger.exception("similar records of %s", recid)
            return []

    @property
    def use_cases(self) -> dict[str, UseCase]:
        """`{id: UseCase}` of the use-case vocabulary."""
        return load_use_cases(str(self._app_data(self.app, "USE_CASES_FILE", "ml_use_cases.yaml")))
