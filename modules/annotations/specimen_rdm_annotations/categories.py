"""Annotation category sets: names with stable, 1-based COCO ids, read from app_data.

A category set is one YAML file in `app_data/annotation_categories/` (`herbarium.yaml`,
`coco.yaml`, ...); its file stem is the set's name, which annotations store next to the category.
"""

from dataclasses import dataclass
from pathlib import Path

import yaml


@dataclass(frozen=True)
class Category:
    """One annotation category; `isthing` is False for COCO-panoptic "stuff"."""

    id: int
    name: str
    isthing: bool = True
    supercategory: str | None = None


class CategorySetError(ValueError):
    """A category file that breaks the COCO id convention or repeats a name."""


def load_category_set(path: Path) -> dict[str, Category]:
    """Read a category YAML file into name → Category, checking ids and names.

    COCO category ids start at 1 (0 is background in semantic masks), so ids must be unique
    positive integers; names must be unique.
    """
    entries = yaml.safe_load(Path(path).read_text()) or []
    categories: dict[str, Category] = {}
    seen_ids: set[int] = set()
    for index, entry in enumerate(entries):
        category = Category(
            int(entry["id"]),
            str(entry["name"]),
            bool(entry.get("isthing", True)),
            entry.get("supercategory"),
        )
        if category.id < 1:
            raise CategorySetError(f"categories[{index}].id: {category.id} is not ≥ 1")
        if category.id in seen_ids:
            raise CategorySetError(f"categories[{index}].id: {category.id} is used twice")
        if category.name in categories:
            raise CategorySetError(f"categories[{index}].name: {category.name!r} is used twice")
        seen_ids.add(category.id)
        categories[category.name] = category
    return categories


def load_category_sets(folder: Path) -> dict[str, dict[str, Category]]:
    """Every `*.yaml` category set in `folder`, keyed by file stem."""
    return {path.stem: load_category_set(path) for path in sorted(Path(folder).glob("*.yaml"))}
