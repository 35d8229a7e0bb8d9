"""How suitable a model is for a use case: its measured quality and what users say of it.

    suitability = w · M + (1 − w) · R        (0..1, higher is better)

- M, the standardised metric: the mean of the model's values of the use case's metric (test
  split) on the use case's reference datasets (`app_data/ml_use_cases.yaml`); a reference
  dataset the model reports nothing on counts 0. A use case without reference datasets uses
  every dataset the model reports that metric on (the explanation says so: such scores compare
  less well across models). Metrics are already 0..1 (IoU, mAP, F1, accuracy, recall).
- R, the community rating: (Bayesian-averaged rating − 1) / 4, so 1 star → 0 and 5 stars → 1;
  a model nobody rated gets the prior (3 stars → 0.5).
- w = MLMODELS_SUITABILITY_METRIC_WEIGHT (0.8).

A model whose task does not serve the use case, or with no value of its metric, has no score.
"""

from collections.abc import Mapping

from .use_cases import UseCase


def suitability(
    custom_fields: Mapping, use_case: UseCase, rating: Mapping, metric_weight: float
) -> dict:
    """The score for one use case with its parts, or `score: None` and the reason."""
    result = {"use_case": use_case.id, "metric": use_case.metric, "score": None}
    if custom_fields.get("ml:task") not in use_case.tasks:
        result["reason"] = f"task {custom_fields.get('ml:task')} does not serve {use_case.id}"
        return result
    values: dict[str, float] = {}
    for entry in custom_fields.get("ml:metrics") or []:
        if entry.get("metric") != use_case.metric or entry.get("split", "test") != "test":
            continue
        dataset = (entry.get("dataset") or {}).get("record", "")
        values[dataset] = max(values.get(dataset, float("-inf")), float(entry["value"]))
    reference = list(use_case.reference_datasets)
    if reference:
        metric_value = sum(min(max(values.get(d, 0.0), 0.0), 1.0) for d in reference) / len(
            reference
        )
    elif values:
        metric_value = sum(min(max(v, 0.0), 1.0) for v in values.values()) / len(values)
    else:
        result["reason"] = f"no test-split {use_case.metric} reported"
        return result
    rating_part = (float(rating["bayesian"]) - 1) / 4
    result.update(
        {
            "score": round(metric_weight * metric_value + (1 - metric_weight) * rating_part, 4),
            "metric_value": round(metric_value, 4),
            "reference_datasets": reference,
            "on_reference_datasets": bool(reference),
            "rating": dict(rating),
            "rating_part": round(rating_part, 4),
            "metric_weight": metric_weight,
        }
    )
    return result


def model_scores(record: Mapping, use_cases: Mapping[str, UseCase], metric_weight: float) -> dict:
    """Rating summary and suitability per declared use case of a model record (its JSON)."""
    from .ratings import rating_summary

    concept = (record.get("parent") or {}).get("id") or record.get("id")
    rating = rating_summary(concept)
    custom = record.get("custom_fields") or {}
    return {
        "rating": rating,
        "suitability": [
            suitability(custom, use_cases[name], rating, metric_weight)
            for name in custom.get("ml:use_cases") or []
            if name in use_cases
        ],
    }
