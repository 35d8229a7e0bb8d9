"""The annotation category set: names with stable, 1-based COCO ids, read from app_data."""

from dataclasses import dataclass
from pathlib import Path

import yaml


@dataclass(frozen=True)
class Category:
    """One annotation category; `isthing` is False for COCO-panoptic "stuff"."""

    id: int
    name: str
    isthing: bool = True


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
        category = Category(int(entry["id"]), str(entry["name"]), bool(entry.get("isthing", True)))
        if category.id < 1:
            raise CategorySetError(f"categories[{index}].id: {category.id} is not ≥ 1")
        if category.id in seen_ids:
            raise CategorySetError(f"categories[{index}].id: {category.id} is used twice")
        if category.name in categories:
            raise CategorySetError(f"categories[{index}].name: {category.name!r} is used twice")
        seen_ids.add(category.id)
        categories[category.name] = category
    return categories
