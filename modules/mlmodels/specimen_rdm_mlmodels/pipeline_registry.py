"""The pipeline registry (`app_data/pipelines.yaml`): which model runs on which records.

Each entry names a model (a record id, the latest published version of a model concept, or a
built-in model),
the records it applies to (resource types, community, search query), what it writes and
whether it runs when a record is published. The file is re-read when it changes.
"""

import os
from dataclasses import dataclass, field
from pathlib import Path
from threading import Lock

import yaml

BUILTIN_IDS = ("efficientnet-lite0-features", "ppocr-v6-text")
"""Ids of the built-in models (builtin_models.py) a pipeline may name."""

WRITES = ("annotations", "labels", "text", "embeddings")


class PipelineRegistryError(ValueError):
    """The registry file is malformed: which entry, which field and why."""


@dataclass(frozen=True)
class Pipeline:
    """One registered pipeline."""

    name: str
    model_record: str | None = None
    model_latest_of: str | None = None
    model_builtin: str | None = None
    resource_types: tuple[str, ...] = ()
    community: str | None = None
    query: str | None = None
    writes: str = "annotations"
    category_set: str = "herbarium"
    on_publish: bool = True
    device: str = "auto"
    threshold: float = 0.5
    min_area: int = 16
    options: dict = field(default_factory=dict)


def _entry(name: str, entry: dict) -> Pipeline:
    def fail(field_name: str, reason: str):
        raise PipelineRegistryError(f"pipelines.{name}.{field_name}: {reason}")

    if not isinstance(entry, dict):
        fail("", "must be a mapping")
    model = entry.get("model") or {}
    if not isinstance(model, dict) or not (
        model.get("record") or model.get("latest_of") or model.get("builtin")
    ):
        fail(
            "model",
            "needs `record: <model record id>`, `latest_of: <concept id>` or `builtin: <id>`",
        )
    if model.get("builtin") and model["builtin"] not in BUILTIN_IDS:
        fail("model.builtin", f"'{model['builtin']}' is not one of {', '.join(BUILTIN_IDS)}")
    applies = entry.get("applies_to") or {}
    writes = entry.get("writes", "annotations")
    if writes not in WRITES:
        fail("writes", f"'{writes}' is not one of {', '.join(WRITES)}")
    device = entry.get("device", "auto")
    if device not in ("auto", "cpu", "cuda"):
        fail("device", f"'{device}' is not auto, cpu or cuda")
    threshold = entry.get("threshold", 0.5)
    if not isinstance(threshold, int | float) or not 0 < threshold < 1:
        fail("threshold", "must be a number between 0 and 1")
    return Pipeline(
        name=name,
        model_record=model.get("record"),
        model_latest_of=model.get("latest_of"),
        model_builtin=model.get("builtin"),
        resource_types=tuple(applies.get("resource_types") or ()),
        community=applies.get("community"),
        query=applies.get("query"),
        writes=writes,
        category_set=entry.get("category_set", "herbarium"),
        on_publish=bool(entry.get("on_publish", True)),
        device=device,
        threshold=float(threshold),
        min_area=int(entry.get("min_area", 16)),
    )


def parse_pipelines(text: str) -> dict[str, Pipeline]:
    """`{name: Pipeline}` from the registry's YAML; PipelineRegistryError names what is wrong."""
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        raise PipelineRegistryError(f"pipelines: not valid YAML ({error})") from None
    entries = data.get("pipelines") or {}
    if not isinstance(entries, dict):
        raise PipelineRegistryError("pipelines: must be a mapping of name → pipeline")
    return {name: _entry(name, entry) for name, entry in entries.items()}


class PipelineRegistry:
    """The pipelines of one registry file, re-read when the file's modification time changes."""

    def __init__(self, path: Path) -> None:
        """Registry read from `path` (a missing file means no pipelines)."""
        self.path = Path(path)
        self._lock = Lock()
        self._stamp: float | None = None
        self._pipelines: dict[str, Pipeline] = {}

    def pipelines(self) -> dict[str, Pipeline]:
        """`{name: Pipeline}`, current."""
        try:
            stamp = os.stat(self.path).st_mtime_ns
        except FileNotFoundError:
            return {}
        with self._lock:
            if stamp != self._stamp:
                self._pipelines = parse_pipelines(self.path.read_text(encoding="utf-8"))
                self._stamp = stamp
            return self._pipelines

    def get(self, name: str) -> Pipeline | None:
        """The pipeline called `name`, if registered."""
        return self.pipelines().get(name)
