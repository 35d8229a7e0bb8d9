"""Finding models: facets and query names on record search, and metric-threshold filters.

Record search gets facets for task, framework and use case and the query names `task:`,
`framework:`, `use_case:`, `ml_keyword:`. `GET /api/models` adds what a query string cannot say
about nested metrics: `metric=iou&min=0.5&dataset=<record id>&split=test` keeps the models with
one metric entry meeting all of that, and `sort=metric` orders the page by that entry's value, best
first (within the page: ask for a page large enough to hold the candidates).
"""

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


def search_models(identity, args: dict) -> dict:
    """Published model records the identity may see, filtered (and sorted) by a metric."""
    metric = args.get("metric")
    minimum = args.get("min")
    if minimum is not None:
        try:
            minimum = float(minimum)
        except ValueError:
            raise ModelSearchError("min", f"'{minimum}' is not a number") from None
    if (minimum is not None or args.get("dataset") or args.get("split")) and not metric:
        raise ModelSearchError("metric", "name the metric that min, dataset or split apply to")
    extra = dsl.Q("term", **{"metadata.resource_type.id": MODEL_RESOURCE_TYPE})
    if metric:
        extra &= metric_query(metric, minimum, args.get("dataset"), args.get("split"))
    params = {
        "q": args.get("q", ""),
        "size": int(args.get("size", 25)),
        "page": int(args.get("page", 1)),
    }
    result = current_rdm_records_service.search(identity, params=params, extra_filter=extra)
    hits = list(result.hits)
    if args.get("sort") == "metric":
        if not metric:
            raise ModelSearchError("sort", "sort=metric needs metric=")

        def best(hit: dict) -> float:
            values = [
                m["value"]
                for m in (hit.get("custom_fields") or {}).get("ml:metrics") or []
                if m["metric"] == metric
                and (
                    not args.get("dataset")
                    or (m.get("dataset") or {}).get("record") == args["dataset"]
                )
                and (not args.get("split") or m.get("split") == args["split"])
            ]
            return max(values, default=float("-inf"))

        hits.sort(key=best, reverse=True)
    return {"hits": {"total": result.total, "hits": hits}}
