"""The controlled vocabulary of model use cases (`app_data/ml_use_cases.yaml`)."""

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml


@dataclass(frozen=True)
class UseCase:
    """One use case: its title, the tasks that serve it, the metric models are compared on and
    the repository's reference datasets (record ids) for that comparison."""

    id: str
    title: str
    tasks: tuple[str, ...]
    metric: str
    reference_datasets: tuple[str, ...] = ()


@cache
def load_use_cases(path: str) -> dict[str, UseCase]:
    """`{id: UseCase}` from the YAML file (read once per process)."""
    entries = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    for key, entry in entries.items():
        missing = [name for name in ("title", "tasks", "metric") if name not in (entry or {})]
        if missing:
            raise ValueError(f"{path}: use case '{key}' lacks {', '.join(missing)}")
    return {
        key: UseCase(
            key,
            entry["title"],
            tuple(entry["tasks"]),
            entry["metric"],
            tuple(entry.get("reference_datasets") or ()),
        )
        for key, entry in entries.items()
    }
