"""The pipeline registry: entries parsed, mistakes named, the file re-read when it changes."""

import os
from pathlib import Path

import pytest

from specimen_rdm_mlmodels.pipeline_registry import (
    PipelineRegistry,
    PipelineRegistryError,
    parse_pipelines,
)

VALID = """
pipelines:
  plant-masks:
    model: {latest_of: abcd-1234}
    applies_to:
      resource_types: [image-specimen]
      community: herbaria
      query: "dwc\\\\:family:Fagaceae"
    threshold: 0.6
    on_publish: false
"""


def test_a_valid_entry():
    pipeline = parse_pipelines(VALID)["plant-masks"]
    assert pipeline.model_latest_of == "abcd-1234" and pipeline.model_record is None
    assert pipeline.resource_types == ("image-specimen",)
    assert pipeline.community == "herbaria"
    assert pipeline.threshold == 0.6
    assert pipeline.on_publish is False
    assert pipeline.writes == "annotations" and pipeline.device == "auto"


@pytest.mark.parametrize(
    "entry, message",
    [
        ("{applies_to: {}}", "pipelines.p.model: needs `record"),
        ("{model: {record: x}, writes: vectors}", "pipelines.p.writes: 'vectors'"),
        ("{model: {builtin: gpt}}", "pipelines.p.model.builtin: 'gpt' is not one of"),
        ("{model: {record: x}, device: tpu}", "pipelines.p.device: 'tpu'"),
        ("{model: {record: x}, threshold: 1.5}", "pipelines.p.threshold"),
        ("[1, 2]", "pipelines.p.: must be a mapping"),
    ],
)
def test_mistakes_name_the_entry_and_field(entry, message):
    with pytest.raises(PipelineRegistryError) as error:
        parse_pipelines(f"pipelines:\n  p: {entry}\n")
    assert message in str(error.value)


def test_the_shipped_registry_runs_the_builtin_models_on_publish():
    shipped = Path(__file__).resolve().parents[3] / "app_data" / "pipelines.yaml"
    pipelines = parse_pipelines(shipped.read_text())
    assert pipelines["image-features"].model_builtin == "efficientnet-lite0-features"
    assert pipelines["image-features"].writes == "embeddings"
    assert pipelines["label-text"].model_builtin == "ppocr-v6-text"
    assert pipelines["label-text"].writes == "text"
    assert all(p.on_publish and "image-specimen" in p.resource_types for p in pipelines.values())


def test_not_yaml():
    with pytest.raises(PipelineRegistryError, match="not valid YAML"):
        parse_pipelines("pipelines: [unclosed")


def test_missing_file_means_no_pipelines_and_changes_are_picked_up(tmp_path):
    path = tmp_path / "pipelines.yaml"
    registry = PipelineRegistry(path)
    assert registry.pipelines() == {}
    path.write_text(VALID)
    assert set(registry.pipelines()) == {"plant-masks"}
    path.write_text("pipelines:\n  other: {model: {record: r1}}\n")
    os.utime(path, ns=(1, 10**18))  # a new modification time even within one clock tick
    assert set(registry.pipelines()) == {"other"}
    assert registry.get("other").model_record == "r1"
    assert registry.get("plant-masks") is None
