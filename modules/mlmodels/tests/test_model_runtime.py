"""The model runtime: device choice, broken weights, the checksum cache, batching."""

import io

import numpy as np
import pytest
import torch

from specimen_rdm_mlmodels.model_runtime import (
    ModelLoadError,
    RuntimeCache,
    SegmentationRuntime,
    load_torchscript,
    select_device,
)
from specimen_rdm_mlmodels.segmentation_net import TinyUNet

SPEC = {"size": [32, 32], "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]}


@pytest.fixture(scope="module")
def weights() -> bytes:
    torch.manual_seed(0)
    buffer = io.BytesIO()
    torch.jit.save(torch.jit.script(TinyUNet(width=4).eval()), buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "available, preference, device",
    [
        (True, "auto", "cuda"),
        (True, "cuda", "cuda"),
        (True, "cpu", "cpu"),
        (False, "auto", "cpu"),
        (False, "cuda", "cpu"),
    ],
)
def test_cuda_only_when_available(monkeypatch, available, preference, device):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: available)
    assert select_device(preference).type == device


def test_unknown_device_is_refused(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    with pytest.raises(ValueError, match="'gpu' is not one of auto, cpu, cuda"):
        select_device("gpu")


@pytest.mark.parametrize("name", ["empty", "random", "truncated"])
def test_broken_weights_are_refused_with_a_reason(weights, name):
    data = {
        "empty": b"",
        "random": np.random.default_rng(0).bytes(2048),
        "truncated": weights[: len(weights) // 2],
    }
    with pytest.raises(ModelLoadError) as error:
        load_torchscript(data[name], torch.device("cpu"))
    assert str(error.value).startswith("weights are ")


def test_cache_loads_once_per_checksum_and_evicts_the_oldest(weights):
    cache = RuntimeCache(size=2)
    calls = []

    def loader(tag):
        def load():
            calls.append(tag)
            return weights

        return load

    cpu = torch.device("cpu")
    first = cache.get("md5:a", loader("a"), SPEC, 0.5, cpu)
    assert cache.get("md5:a", loader("a"), SPEC, 0.5, cpu) is first
    cache.get("md5:b", loader("b"), SPEC, 0.5, cpu)
    cache.get("md5:a", loader("a"), SPEC, 0.5, cpu)  # a is now the most recent
    cache.get("md5:c", loader("c"), SPEC, 0.5, cpu)  # evicts b
    cache.get("md5:b", loader("b"), SPEC, 0.5, cpu)
    assert calls == ["a", "b", "c", "b"]
    assert cache.get("md5:b", loader("b"), SPEC, 0.7, cpu).threshold == 0.7
    assert calls == ["a", "b", "c", "b"]


def test_masks_have_each_images_size_whatever_the_batch(weights):
    runtime = SegmentationRuntime(
        load_torchscript(weights, torch.device("cpu")), SPEC, 0.5, torch.device("cpu")
    )
    rng = np.random.default_rng(0)
    images = [
        rng.integers(0, 255, (h, w, 3), dtype=np.uint8) for h, w in [(40, 30), (64, 80), (17, 23)]
    ]
    one = runtime.predict(images, batch_size=1)
    eight = runtime.predict(images, batch_size=8)
    assert [p.mask.shape for p in one] == [(40, 30), (64, 80), (17, 23)]
    for a, b in zip(one, eight, strict=True):
        assert np.array_equal(a.mask, b.mask)
        assert a.score == pytest.approx(b.score, abs=1e-6)
        assert 0.0 <= a.score <= 1.0
        if a.mask.any():
            assert a.score > 0.5  # the mean of probabilities above the threshold
        else:
            assert a.score == 0.0


def test_images_that_are_not_rgb_are_refused(weights):
    runtime = SegmentationRuntime(
        load_torchscript(weights, torch.device("cpu")), SPEC, 0.5, torch.device("cpu")
    )
    with pytest.raises(ValueError, match="got shape \\(10, 10\\)"):
        runtime.predict([np.zeros((10, 10), dtype=np.uint8)])
