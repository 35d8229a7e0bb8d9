"""Finding models: facets and query names on record search, and metric-threshold filters.

Record search gets facets for task, framework and use case and the query names `task:`,
`framework:`, `use_case:`, `ml_keyword:`. `GET /api/models` adds what a query string cannot say
about nested metrics: `metric=iou&min=0.5&dataset=<record id>&split=test` keeps the models with
one metric entry meeting all of that; `use_case=` adds each model's suitability for it;
`sort=metric` / `sort=suitability` order the matches, best first.
"""

from collections.abc import Callable

from invenio_i18n import lazy_gettext as _
from invenio_rdm_records.proxies import current_rdm_records_service
from invenio_records_resources.services.records.facets import TermsFacet
from invenio_search.engine import dsl

from .custom_fields import MODEL_RESOURCE_TYPE

_FACETS = {
    "ml_task": ("custom_fields.ml:task", _("Model task")),
    "ml_framework": ("custom_fields.ml:framework", _("Framework")),
    "ml_use_case": ("custom_fields.ml:use_cases", _("Use case")),
}

MODEL_FACETS = {
    name: {"facet": TermsFacet(field=field, label=label), "ui": {"field": field}}
    for name, (field, label) in _FACETS.items()
}
"""`RDM_FACETS` entries for model records."""

MODEL_FACET_NAMES = list(_FACETS)

MODEL_FIELD_ALIASES = {
    "task": "custom_fields.ml\\:task",
    "framework": "custom_fields.ml\\:framework",
    "use_case": "custom_fields.ml\\:use_cases",
    "ml_keyword": "custom_fields.ml\\:keywords",
}
"""Query names: `task:object-detection AND use_case:label-detection`."""

METRICS_PATH = "custom_fields.ml:metrics"


class ModelSearchError(ValueError):
    """A search parameter is wrong: which and why."""

    def __init__(self, field: str, reason: str) -> None:
        """Error about parameter `field`."""
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


def metric_query(metric: str, minimum, dataset: str | None, split: str | None) -> dsl.Q:
    """Nested query: one metric entry with this name, at least `minimum`, on dataset/split."""
    clauses = [dsl.Q("term", **{f"{METRICS_PATH}.metric": metric})]
    if minimum is not None:
        clauses.append(dsl.Q("range", **{f"{METRICS_PATH}.value": {"gte": minimum}}))
    if dataset:
        clauses.append(dsl.Q("term", **{f"{METRICS_PATH}.dataset.record": dataset}))
    if split:
        clauses.append(dsl.Q("term", **{f"{METRICS_PATH}.split": split}))
    return dsl.Q("nested", path=METRICS_PATH, query=dsl.Q("bool", filter=clauses))


def _best_value(hit: dict, metric: str, dataset: str | None, split: str | None) -> float:
    values = [
        m["value"]
        for m in (hit.get("custom_fields") or {}).get("ml:metrics") or []
        if m["metric"] == metric
        and (not dataset or (m.get("dataset") or {}).get("record") == dataset)
        and (not split or m.get("split") == split)
    ]
    return max(values, default=float("-inf"))


def search_models(identity, args: dict, use_cases: dict, score: Callable[[dict, object], dict]):
    """Published model records the identity may see, filtered and sorted.

    `use_case=` keeps the models that declare it and adds each hit's `suitability` (computed
    by `score(hit, use_case)`); `sort=suitability` or `sort=metric` orders all matches (model
    records are few: they are scanned, scored and paged here), otherwise the page is
    InvenioRDM's (best match first).
    """
    metric, sort = args.get("metric"), args.get("sort")
    dataset, split = args.get("dataset"), args.get("split")
    minimum = args.get("min")
    if minimum is not None:
        try:
            minimum = float(minimum)
        except ValueError:
            raise ModelSearchError("min", f"'{minimum}' is not a number") from None
    if (minimum is not None or dataset or split) and not metric:
        raise ModelSearchError("metric", "name the metric that min, dataset or split apply to")
    use_case = use_cases.get(args["use_case"]) if args.get("use_case") else None
    if args.get("use_case") and use_case is None:
        raise ModelSearchError(
            "use_case", f"'{args['use_case']}' is not one of {sorted(use_cases)}"
        )
    if sort not in (None, "metric", "suitability"):
        raise ModelSearchError("sort", "one of metric, suitability (default: best match)")
    if sort == "metric" and not metric:
        raise ModelSearchError("sort", "sort=metric needs metric=")
    if sort == "suitability" and use_case is None:
        raise ModelSearchError("sort", "sort=suitability needs use_case=")
    try:
        size, page = int(args.get("size", 25)), int(args.get("page", 1))
    except ValueError:
        raise ModelSearchError("size", "size and page are whole numbers") from None
    extra = dsl.Q("term", **{"metadata.resource_type.id": MODEL_RESOURCE_TYPE})
    if metric:
        extra &= metric_query(metric, minimum, dataset, split)
    if use_case:
        extra &= dsl.Q("term", **{"custom_fields.ml:use_cases": use_case.id})
    service = current_rdm_records_service
    params = {"q": args.get("q", "")}
    if sort:
        hits = list(service.scan(identity, params=params, extra_filter=extra).hits)
        total = len(hits)
    else:
        result = service.search(
            identity, params={**params, "size": size, "page": page}, extra_filter=extra
        )
        hits, total = list(result.hits), result.total
    if use_case:
        for hit in hits:
            hit["suitability"] = score(hit, use_case)
    if sort == "metric":
        hits.sort(key=lambda hit: _best_value(hit, metric, dataset, split), reverse=True)
    elif sort == "suitability":
        hits.sort(key=lambda hit: hit["suitability"]["score"] or -1.0, reverse=True)
    if sort:
        hits = hits[(page - 1) * size : page * size]
    return {"hits": {"total": total, "hits": hits}}
