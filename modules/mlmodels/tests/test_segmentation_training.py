"""Training on the real herbarium sheets: reproducible split and metrics, a model that beats
trivial baselines on held-out sheets, TorchScript weights that predict what the model did."""

import io

import numpy as np
import pytest
import torch
from PIL import Image
from sheet_samples import sheet_samples

from specimen_rdm_mlmodels.model_runtime import SegmentationRuntime, load_torchscript
from specimen_rdm_mlmodels.segmentation_metrics import summarise
from specimen_rdm_mlmodels.segmentation_training import (
    TrainingConfig,
    predict_masks,
    split_keys,
    train_segmentation,
)

CONFIG = TrainingConfig(image_size=64, epochs=15, width=8, seed=0)


@pytest.fixture(scope="module")
def trained():
    torch.set_num_threads(2)
    return train_segmentation(sheet_samples(), CONFIG)


def test_split_is_seeded_disjoint_and_complete():
    keys = [f"k{i}" for i in range(10)]
    split = split_keys(keys, (0.6, 0.2, 0.2), seed=4)
    assert split == split_keys(list(reversed(keys)), (0.6, 0.2, 0.2), seed=4)
    assert [len(split[name]) for name in ("train", "validation", "test")] == [6, 2, 2]
    assert sorted(sum(split.values(), [])) == sorted(keys)
    assert split != split_keys(keys, (0.6, 0.2, 0.2), seed=5)
    assert all(split_keys(["a", "b", "c"], (0.6, 0.2, 0.2), 0).values())
    with pytest.raises(ValueError, match="at least 3"):
        split_keys(["a", "b"], (0.6, 0.2, 0.2), 0)


def test_config_refuses_unusable_values():
    for bad in ({"image_size": 60}, {"epochs": 0}, {"learning_rate": 2}, {"fractions": (1, 0, 1)}):
        with pytest.raises(ValueError):
            TrainingConfig(**bad)


def test_model_beats_trivial_baselines_on_held_out_sheets(trained):
    test = [s for s in sheet_samples() if s.key in trained.split["test"]]
    all_plant = summarise([np.ones_like(s.mask) for s in test], [s.mask for s in test])["iou"]
    no_plant = summarise([np.zeros_like(s.mask) for s in test], [s.mask for s in test])["iou"]
    model_iou = trained.metrics["test"]["iou"]
    print(f"test IoU {model_iou:.3f}; all plant {all_plant:.3f}; no plant {no_plant:.3f}")
    assert model_iou > all_plant + 0.1
    assert model_iou > no_plant + 0.1
    assert set(trained.metrics) == {"train", "validation", "test"}
    assert [h["epoch"] for h in trained.history] == list(range(1, CONFIG.epochs + 1))
    assert trained.images_per_second > 0 and trained.device == "cpu"


def test_same_seed_same_metrics(trained):
    again = train_segmentation(sheet_samples(), CONFIG)
    assert again.metrics == trained.metrics
    assert again.split == trained.split


def test_torchscript_weights_predict_what_the_model_predicted(trained):
    module = load_torchscript(trained.torchscript, torch.device("cpu"))
    runtime = SegmentationRuntime(module, trained.input_spec, 0.5, torch.device("cpu"))
    test = [s for s in sheet_samples() if s.key in trained.split["test"]]
    predicted = [p.mask for p in runtime.predict([s.image for s in test])]
    direct = predict_masks(module, test, trained.input_spec, 0.5, torch.device("cpu"))
    assert all(np.array_equal(a, b) for a, b in zip(predicted, direct, strict=True))
    reported = summarise(predicted, [s.mask for s in test])["iou"]
    assert reported == pytest.approx(trained.metrics["test"]["iou"])


def test_plots_are_pngs(trained):
    assert set(trained.plots) == {"loss_curve.png", "test_iou.png"}
    for content in trained.plots.values():
        with Image.open(io.BytesIO(content)) as image:
            assert image.format == "PNG" and image.width > 100
