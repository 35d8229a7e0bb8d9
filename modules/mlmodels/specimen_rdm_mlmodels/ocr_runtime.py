"""Label text recognition with ONNX models (RapidOCR's PP-OCR pipeline: detect, orient, read).

A text-recognition model record holds the three ONNX files, `det.onnx` (text-line detection),
`cls.onnx` (text-line orientation) and `rec.onnx` (recognition; its character list is inside
the model). A worker writes them to a folder named by their checksums and keeps the engine
loaded, so a pipeline over many records reads and loads them once. Nothing is downloaded.
"""

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from tempfile import gettempdir

import numpy as np

from .model_runtime import ModelLoadError

OCR_FILES = ("det.onnx", "cls.onnx", "rec.onnx")
OCR_ARCHITECTURE = "ppocr-det-cls-rec"
"""`ml:architecture` of a text-recognition record whose files are OCR_FILES."""


@dataclass(frozen=True)
class TextLine:
    """One recognised line: its quadrilateral in image pixels, its text and its confidence."""

    polygon: tuple[tuple[float, float], ...]
    text: str
    score: float

    def box(self) -> list[float]:
        """[x, y, width, height] of the quadrilateral's bounding box."""
        xs = [x for x, _ in self.polygon]
        ys = [y for _, y in self.polygon]
        return [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]


class TextRecognitionRuntime:
    """A loaded OCR engine; `read(images)` gives the text lines of each RGB image."""

    def __init__(self, folder: Path, min_score: float, device: str = "cpu") -> None:
        """Engine over the ONNX files in `folder`; lines scoring below `min_score` are dropped."""
        try:
            from rapidocr import RapidOCR
        except ImportError as error:  # the package is a dependency; say so if it is missing
            raise ModelLoadError(f"the rapidocr package is not installed ({error})") from None
        params = {
            "Global.log_level": "warning",
            "Global.text_score": min_score,
            "Det.model_path": str(folder / "det.onnx"),
            "Cls.model_path": str(folder / "cls.onnx"),
            "Rec.model_path": str(folder / "rec.onnx"),
            "EngineConfig.onnxruntime.use_cuda": device == "cuda",
        }
        try:
            self.engine = RapidOCR(params=params)
            # RapidOCR loads its models on first use; load them now, so that broken files fail
            # the job before anything is written (private loaders of rapidocr 3.10, pinned).
            self.engine._load_det_model()
            self.engine._load_cls_model()
            self.engine._load_rec_model()
        except Exception as error:  # onnxruntime raises its own types for broken models
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise ModelLoadError(f"the ONNX models cannot be loaded ({reason})") from None
        self.min_score = min_score
        self._lock = threading.Lock()

    def read(self, images: Sequence[np.ndarray]) -> list[list[TextLine]]:
        """Per RGB uint8 image, its text lines in reading order (top to bottom)."""
        results = []
        for image in images:
            with self._lock:  # one engine, one image at a time
                output = self.engine(np.ascontiguousarray(image[:, :, ::-1]))
            lines = []
            if output.boxes is not None:
                for quad, text, score in zip(output.boxes, output.txts, output.scores, strict=True):
                    if not text.strip() or score < self.min_score:
                        continue
                    polygon = tuple((float(x), float(y)) for x, y in quad)
                    lines.append(TextLine(polygon, text.strip(), float(score)))
            results.append(lines)
        return results


class OCRCache:
    """The last `size` loaded OCR engines, by the checksums of their three files."""

    def __init__(self, size: int = 2, root: Path | None = None) -> None:
        """An empty cache; model files are written under `root` (default: the temp folder)."""
        self.size = size
        self.root = root or Path(gettempdir()) / "specimen-rdm-ocr"
        self._entries: OrderedDict[tuple, TextRecognitionRuntime] = OrderedDict()
        self._lock = threading.Lock()

    def get(
        self,
        checksums: dict[str, str],
        read: Callable[[str], bytes],
        min_score: float,
        device: str = "cpu",
    ) -> TextRecognitionRuntime:
        """The engine of these files (`{name: checksum}`); `read(name)` gives a file's bytes."""
        key = (tuple(checksums[name] for name in OCR_FILES), min_score, device)
        with self._lock:
            runtime = self._entries.get(key)
            if runtime is None:
                folder = self.root / "-".join(c.split(":")[-1][:16] for c in key[0])
                if not all((folder / name).exists() for name in OCR_FILES):
                    folder.mkdir(parents=True, exist_ok=True)
                    for name in OCR_FILES:
                        data = read(name)
                        if not data:
                            raise ModelLoadError(f"{name} is empty")
                        partial = folder / f".{name}.part"
                        partial.write_bytes(data)
                        partial.replace(folder / name)
                runtime = TextRecognitionRuntime(folder, min_score, device)
                self._entries[key] = runtime
                while len(self._entries) > self.size:
                    self._entries.popitem(last=False)
            self._entries.move_to_end(key)
        return runtime


ocr_cache = OCRCache()
"""The worker's OCR engines."""
