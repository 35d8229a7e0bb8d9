"""`ml:` custom fields: values checked by their schemas; the rules a model record must meet."""

from pathlib import Path

import pytest
from marshmallow import ValidationError

from specimen_rdm_mlmodels.custom_fields import MODEL_CUSTOM_FIELDS
from specimen_rdm_mlmodels.model_records import is_model, model_problems
from specimen_rdm_mlmodels.use_cases import load_use_cases

FIELDS = {field.name: field.field for field in MODEL_CUSTOM_FIELDS}
USE_CASES = load_use_cases(str(Path(__file__).parents[3] / "app_data" / "ml_use_cases.yaml"))


def _model(**custom) -> dict:
    return {
        "metadata": {"resource_type": {"id": "model"}, "rights": [{"id": "cc-by-4.0"}]},
        "custom_fields": {"ml:task": "semantic-segmentation", **custom},
    }


def test_metrics_keep_dataset_split_and_protocol():
    metric = {
        "metric": "coco_map",
        "value": 0.52,
        "dataset": {"record": "abcd-1234", "version": "2"},
        "split": "test",
        "protocol": "COCO mAP@[.5:.95] (pycocotools)",
    }
    assert FIELDS["ml:metrics"].deserialize([metric]) == [metric]


@pytest.mark.parametrize(
    "name, value",
    [
        ("ml:task", "dreaming"),
        ("ml:weight_format", "pickle"),
        ("ml:metrics", [{"metric": "iou"}]),
        ("ml:metrics", [{"metric": "iou", "value": float("nan")}]),
        ("ml:metrics", [{"metric": "iou", "value": 0.5, "split": "holdout"}]),
        ("ml:input", {"size": [64]}),
        ("ml:input", {"std": [0.0, 1, 1]}),
        ("ml:labels", [{"name": "plant"}]),
    ],
)
def test_bad_values_are_refused(name, value):
    with pytest.raises(ValidationError):
        FIELDS[name].deserialize(value)


def test_a_complete_model_has_no_problems():
    data = _model(**{"ml:use_cases": ["plant-segmentation"], "ml:weights_file": "model.pt"})
    assert is_model(data)
    assert model_problems(data, {"model.pt"}, USE_CASES) == {}


def test_problems_name_the_fields():
    data = _model(**{"ml:use_cases": ["label-transcription"], "ml:weights_file": "w.pt"})
    data["metadata"].pop("rights")
    problems = model_problems(data, {"model.pt"}, USE_CASES)
    assert problems["metadata.rights"] == "a model record needs a licence"
    assert "needs a model for text-recognition" in problems["custom_fields.ml:use_cases"]
    assert problems["custom_fields.ml:weights_file"] == "'w.pt' is not a file of this record"
    unknown = model_problems(_model(**{"ml:use_cases": ["astrology"]}), None, USE_CASES)
    assert "'astrology' is not one of" in unknown["custom_fields.ml:use_cases"]
    state_dict = model_problems(_model(**{"ml:weight_format": "state-dict"}), None, USE_CASES)
    assert "custom_fields.ml:architecture" in state_dict


def test_other_records_are_not_models():
    assert not is_model({"metadata": {"resource_type": {"id": "image-specimen"}}})


def test_a_use_case_without_its_metric_is_named(tmp_path):
    path = tmp_path / "use_cases.yaml"
    path.write_text("plants:\n  title: Plants\n  tasks: [semantic-segmentation]\n")
    with pytest.raises(ValueError, match="use case 'plants' lacks metric"):
        load_use_cases(str(path))
