"""The suitability score and the Bayesian-averaged rating, worked by hand."""

import pytest

from specimen_rdm_mlmodels.ratings import bayesian_average
from specimen_rdm_mlmodels.suitability import suitability
from specimen_rdm_mlmodels.use_cases import UseCase

SEGMENTATION = UseCase("plant-segmentation", "Plants", ("semantic-segmentation",), "iou")
WITH_REFERENCES = UseCase(
    "plant-segmentation", "Plants", ("semantic-segmentation",), "iou", ("ref-a", "ref-b")
)
UNRATED = {"count": 0, "mean": None, "bayesian": 3.0}


def _model(*metrics) -> dict:
    return {
        "ml:task": "semantic-segmentation",
        "ml:metrics": [
            {"metric": m, "value": v, "split": s, "dataset": {"record": d}}
            for m, v, s, d in metrics
        ],
    }


def test_bayesian_average_shrinks_few_ratings_towards_the_prior():
    assert bayesian_average(0, 0, 3.0, 5) == 3.0
    assert bayesian_average(1, 5, 3.0, 5) == pytest.approx(20 / 6)
    many = bayesian_average(40, 40 * 4.6, 3.0, 5)
    assert many == pytest.approx((15 + 184) / 45)
    assert many > bayesian_average(1, 5, 3.0, 5)


def test_metric_and_rating_combine_with_the_weight():
    model = _model(("iou", 0.6, "test", "d1"), ("iou", 0.9, "train", "d1"))
    result = suitability(model, SEGMENTATION, UNRATED, 0.8)
    assert result["metric_value"] == 0.6  # the training split does not count
    assert result["rating_part"] == 0.5
    assert result["score"] == pytest.approx(0.8 * 0.6 + 0.2 * 0.5)
    assert result["on_reference_datasets"] is False
    loved = suitability(model, SEGMENTATION, {"bayesian": 5.0}, 0.8)
    assert loved["score"] == pytest.approx(0.8 * 0.6 + 0.2)


def test_reference_datasets_missing_from_the_model_count_zero():
    model = _model(("iou", 0.8, "test", "ref-a"), ("iou", 0.99, "test", "elsewhere"))
    result = suitability(model, WITH_REFERENCES, UNRATED, 1.0)
    assert result["metric_value"] == pytest.approx(0.4)
    assert result["on_reference_datasets"] is True


def test_no_score_without_the_metric_or_for_another_task():
    assert (
        suitability(_model(("dice", 0.7, "test", "d")), SEGMENTATION, UNRATED, 0.8)["score"] is None
    )
    detector = {**_model(("iou", 0.9, "test", "d")), "ml:task": "object-detection"}
    result = suitability(detector, SEGMENTATION, UNRATED, 0.8)
    assert result["score"] is None and "does not serve" in result["reason"]
