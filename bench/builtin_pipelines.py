"""Throughput of the built-in pipelines (image features, label OCR) against bare loops.

Starts its own instance (database `specimen_rdm_bench_builtin`; its setup publishes the built-in
models), publishes R batches of N sheets (variants of the 10 real sheets, records of 20 images),
waits for the worker's queues to drain, then for each run r: the `image-features` and the
`label-text` pipeline jobs over batch r, and in the same run the bare loops over the same JPEG
bytes with the same weights (features: decode, resize, normalise, forward in batches of 8,
L2-normalise; OCR: decode, RapidOCR on the record's three ONNX files). Prints images/s of each
(median of R runs), the ratio pipeline/bare and the worker's peak RSS.

    python bench/builtin_pipelines.py [--images 60] [--runs 3]
"""

import argparse
import io
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from deposit_rest import PeakRSS  # noqa: E402
from pipeline_inference import job, seconds, variants, wait_until_idle  # noqa: E402

from deposit import Api, create_draft, publish, upload  # noqa: E402
from live_instance import LiveInstance  # noqa: E402

PER_RECORD = 20
BATCH = 8
PIPELINES = {
    "image-features": {"model": {"builtin": "efficientnet-lite0-features"}, "writes": "embeddings"},
    "label-text": {"model": {"builtin": "ppocr-v6-text"}, "writes": "text", "threshold": 0.6},
}


def decode(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))


def bare_features(module, images: list[bytes], spec: dict) -> float:
    """Images/s of decode → resize → normalise → forward (batches) → L2-normalise."""
    height, width = spec["size"]
    mean = torch.tensor(spec["mean"]).view(1, 3, 1, 1)
    std = torch.tensor(spec["std"]).view(1, 3, 1, 1)
    start = time.perf_counter()
    with torch.inference_mode():
        for first in range(0, len(images), BATCH):
            batch = torch.cat(
                [
                    F.interpolate(
                        torch.from_numpy(decode(data)).permute(2, 0, 1)[None].float() / 255,
                        size=(height, width),
                        mode="bilinear",
                        align_corners=False,
                    )
                    for data in images[first : first + BATCH]
                ]
            )
            F.normalize(module((batch - mean) / std), dim=1).numpy()
    return len(images) / (time.perf_counter() - start)


def bare_ocr(folder: Path, images: list[bytes]) -> float:
    """Images/s of decode → RapidOCR (the same three ONNX files and settings)."""
    from rapidocr import RapidOCR

    engine = RapidOCR(
        params={
            "Global.log_level": "warning",
            "Global.text_score": 0.6,
            "Det.model_path": str(folder / "det.onnx"),
            "Cls.model_path": str(folder / "cls.onnx"),
            "Rec.model_path": str(folder / "rec.onnx"),
        }
    )
    engine(decode(images[0])[:, :, ::-1])  # load the models outside the timing
    start = time.perf_counter()
    for data in images:
        engine(np.ascontiguousarray(decode(data)[:, :, ::-1]))
    return len(images) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=60)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    instance = LiveInstance(name="specimen_rdm_bench_builtin")
    print("bench: preparing a fresh instance (database, indices, built-in models)...", flush=True)
    instance.reset()
    instance.setup()
    instance.start()
    try:
        user = Api(instance.url, instance.token("bench-builtin@example.org"))
        admin = Api(instance.url, instance.token("admin@example.org"))
        found = admin.get("/api/records", params={"q": "_exists_:custom_fields.ml\\:builtin"})
        models = {h["custom_fields"]["ml:builtin"]: h for h in found.json()["hits"]["hits"]}
        features = models["efficientnet-lite0-features"]
        weights = user.get(f"/api/records/{features['id']}/files/model.pt/content").content
        module = torch.jit.load(io.BytesIO(weights), map_location="cpu").eval()
        spec = features["custom_fields"]["ml:input"]
        ocr_folder = Path(tempfile.mkdtemp(prefix="bench-ocr-"))
        for name in ("det.onnx", "cls.onnx", "rec.onnx"):
            url = f"/api/records/{models['ppocr-v6-text']['id']}/files/{name}/content"
            (ocr_folder / name).write_bytes(user.get(url).content)
        applies = {"resource_types": ["image-photo"]}
        instance.pipelines_file.write_text(
            json.dumps(
                {
                    "pipelines": {
                        name: {**p, "applies_to": applies, "on_publish": False}
                        for name, p in PIPELINES.items()
                    }
                }
            )
        )
        images = variants(args.images * args.runs)
        batches = [images[r * args.images : (r + 1) * args.images] for r in range(args.runs)]
        tag = uuid.uuid4().hex[:8]
        print(
            f"bench: publishing {len(images)} sheets ({args.runs} batches) in records of "
            f"{PER_RECORD}",
            flush=True,
        )
        for run, batch in enumerate(batches):
            for first in range(0, len(batch), PER_RECORD):
                draft = create_draft(user, f"Builtin bench {tag} run{run} {first // PER_RECORD}")
                for key, content in batch[first : first + PER_RECORD]:
                    upload(user, draft["id"], key, content)
                publish(user, draft["id"])
        wait_until_idle(instance)
        rates = {name: ([], []) for name in PIPELINES}
        worker = dict(instance.processes)["worker"].pid
        with PeakRSS(worker) as memory:
            for run, batch in enumerate(batches):
                query = f'metadata.title:"Builtin bench {tag} run{run}"'
                contents = [content for _, content in batch]
                for name in PIPELINES:
                    response = admin.post(
                        "/api/ml/jobs", json={"type": "pipeline", "pipeline": name, "q": query}
                    )
                    response.raise_for_status()
                    state = job(admin, response.json()["id"], timeout=3600)
                    assert state["state"] == "COMPLETED", state
                    assert state["counts"]["errors"] == 0, state
                    rates[name][0].append(len(batch) / seconds(state))
                    if name == "image-features":
                        rates[name][1].append(bare_features(module, contents, spec))
                    else:
                        rates[name][1].append(bare_ocr(ocr_folder, contents))
                    print(
                        f"bench: run {run + 1} {name}: pipeline {rates[name][0][-1]:.2f} "
                        f"images/s ({state['result'].get('torch_threads')} torch threads in the "
                        f"worker), bare {rates[name][1][-1]:.2f} images/s",
                        flush=True,
                    )
        for name, (pipeline_rates, bare_rates) in rates.items():
            pipeline, bare = statistics.median(pipeline_rates), statistics.median(bare_rates)
            print(
                f"builtin_pipelines: {name}, {args.images} sheets per run, CPU "
                f"({torch.get_num_threads()} threads): pipeline median {pipeline:.2f} images/s, "
                f"bare loop median {bare:.2f} images/s, ratio {pipeline / bare:.2f}"
            )
        print(f"builtin_pipelines: worker peak RSS {memory.peak / 2**20:.0f} MiB")
    finally:
        instance.stop()


if __name__ == "__main__":
    main()
