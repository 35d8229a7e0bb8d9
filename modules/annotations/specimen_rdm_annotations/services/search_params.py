"""URL filters of the annotation search (`/api/annotations?record=…&category=…`)."""

from invenio_records_resources.services.errors import ValidationErrorGroup
from invenio_records_resources.services.records.params.base import ParamInterpreter
from invenio_search.engine import dsl

TERM_FILTERS = {
    "record": "target.record",
    "file": "target.file",
    "category": "body.category",
    "category_set": "body.category_set",
    "trait": "body.trait.name",
    "tag": "body.tags",
    "creator_type": "creator.type",
    "model": "creator.model.record",
    "model_version": "creator.model.version",
    "job": "creator.job",
    "status": "status.state",
    "motivation": "motivation",
    "selector": "target.selector.type",
}
"""URL parameter → indexed keyword field; repeating a parameter means any of the values."""

CREATOR_TYPES = {"human": "person", "person": "person", "machine": "model", "model": "model"}


def _param_error(name: str, message: str) -> ValidationErrorGroup:
    return ValidationErrorGroup([{"field": name, "messages": [message]}])


def _values(params: dict, name: str) -> list[str]:
    value = params.get(name)
    if value is None or value == "" or value == []:
        return []
    return [str(v) for v in (value if isinstance(value, list) else [value])]


def _score(params: dict, name: str) -> float | None:
    raw = params.get(name)
    if raw in (None, ""):
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise _param_error(name, f"'{raw}' is not a number") from None
    if not 0 <= value <= 1:
        raise _param_error(name, f"{value} is outside 0..1")
    return value


class AnnotationFilterParam(ParamInterpreter):
    """Applies the term filters, `text` (full text of transcriptions) and `score_min/max`."""

    def apply(self, identity, search, params):
        """Add one filter per given parameter."""
        for name, field in TERM_FILTERS.items():
            values = _values(params, name)
            if name == "creator_type":
                unknown = [v for v in values if v not in CREATOR_TYPES]
                if unknown:
                    raise _param_error(
                        "creator_type", f"'{unknown[0]}' is not one of human, machine"
                    )
                values = [CREATOR_TYPES[v] for v in values]
            if values:
                search = search.filter("terms", **{field: values})
        for text in _values(params, "text"):
            search = search.filter(
                dsl.Q("match", **{"body.text.value": {"query": text, "operator": "and"}})
            )
        low, high = _score(params, "score_min"), _score(params, "score_max")
        if low is not None or high is not None:
            bounds = {k: v for k, v in (("gte", low), ("lte", high)) if v is not None}
            search = search.filter("range", score=bounds)
        return search
