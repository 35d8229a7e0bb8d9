"""ML pipeline inference and training throughput on herbarium sheets.

Starts its own instance (database `specimen_rdm_bench_ml`) and:
1. the herbarium demo: publishes the 10 real sheets of ../shared/data/herbarium/sheets with
   their plant masks as annotations, exports them as a dataset record, trains the segmentation
   model with a training job (seeded split 6/2/2) and publishes it; prints the training wall
   time, images/s and the test IoU;
2. publishes N sheets (default 1,000: variants of the 10 real sheets, cropped, flipped and
   re-encoded, so each has its own checksum) in records of 100 images;
3. once the worker has drained its queues (IIIF tiles of the new sheets), runs the pipeline job
   over them R times (each time with a new version of the model, so each
   run computes everything) and, in the same run, a bare torch loop over the same JPEG bytes
   (decode, resize, normalise, forward in batches, upsample, threshold);
prints images/s of both (median of R runs), the ratio pipeline/bare (target ≥ 0.8) and the
worker's peak RSS.

    python bench/pipeline_inference.py [--images 1000] [--runs 3] [--epochs 30]
"""

import argparse
import io
import json
import random
import statistics
import sys
import time
import uuid
import zipfile
from datetime import datetime
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from deposit_rest import PeakRSS  # noqa: E402

from deposit import Api, create_draft, publish, upload, wait_for  # noqa: E402
from live_instance import SHARED_DATA, LiveInstance  # noqa: E402

SHEETS = SHARED_DATA / "herbarium" / "sheets"
NAMES = sorted(path.stem for path in (SHEETS / "img").glob("*.jpg"))
PER_RECORD = 100
BATCH = 8
CREATORS = [{"person_or_org": {"type": "personal", "given_name": "Bench", "family_name": "ML"}}]


def variants(count: int) -> list[tuple[str, bytes]]:
    """`count` distinct sheet JPEGs: crops (90–100 %), mirror images, re-encoded."""
    rng = random.Random(7)
    originals = [Image.open(SHEETS / "img" / f"{name}.jpg").convert("RGB") for name in NAMES]
    made = []
    for index in range(count):
        image = originals[index % len(originals)]
        width, height = image.size
        scale = rng.uniform(0.9, 1.0)
        w, h = int(width * scale), int(height * scale)
        x, y = rng.randint(0, width - w), rng.randint(0, height - h)
        variant = image.crop((x, y, x + w, y + h))
        if rng.random() < 0.5:
            variant = variant.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        buffer = io.BytesIO()
        variant.save(buffer, format="JPEG", quality=rng.randint(85, 92))
        made.append((f"sheet{index:05d}.jpg", buffer.getvalue()))
    return made


def job(api: Api, job_id: str, timeout: float) -> dict:
    """The finished job."""

    def finished():
        state = api.get(f"/api/ml/jobs/{job_id}").json()
        return state if state["state"] in ("COMPLETED", "FAILED", "CANCELLED") else None

    return wait_for(finished, timeout=timeout, interval=1, what=f"job {job_id}")


def seconds(state: dict) -> float:
    """Worker time of a finished job (started → finished)."""
    started = datetime.fromisoformat(state["started"])
    return (datetime.fromisoformat(state["finished"]) - started).total_seconds()


def herbarium_demo(api: Api, epochs: int) -> dict:
    """Publish the 10 sheets with masks, export the dataset, train; the published model."""
    tag = uuid.uuid4().hex[:8]
    for name in NAMES:
        draft = create_draft(api, f"Demo sheet {tag} {name}")
        upload(api, draft["id"], f"{name}.jpg", (SHEETS / "img" / f"{name}.jpg").read_bytes())
        record = publish(api, draft["id"])
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as zipped:
            zipped.writestr(f"{name}.png", (SHEETS / "plant_masks" / f"{name}.png").read_bytes())
            zipped.writestr("labelmap.json", json.dumps({"255": "plant"}))
        api.post(
            "/api/annotations/import",
            params={"format": "masks", "record": record["id"]},
            files={"file": archive.getvalue()},
        ).raise_for_status()
    query = f'metadata.title:"Demo sheet {tag}"'
    wait_for(
        lambda: api.get("/api/records", params={"q": query}).json()["hits"]["total"] == len(NAMES),
        what="the sheets in the search index",
    )
    response = api.post(
        "/api/annotations/export/dataset",
        params={
            "format": "coco",
            "records_q": query,
            "category_set": "herbarium",
        },
        json={"title": "Herbarium plant masks (demo)"},
    )
    response.raise_for_status()
    draft = response.json()
    data = {k: draft[k] for k in ("metadata", "files", "access")}
    data["metadata"]["creators"] = CREATORS
    data["metadata"]["rights"] = [{"id": "cc-by-4.0"}]
    data["metadata"]["publisher"] = "Specimen RDM"
    api.put(f"/api/records/{draft['id']}/draft", json=data).raise_for_status()
    dataset = publish(api, draft["id"])
    response = api.post(
        "/api/ml/jobs",
        json={
            "type": "training",
            "task": "semantic-segmentation",
            "category": "plant",
            "dataset": dataset["id"],
            "hyperparameters": {"epochs": epochs, "image_size": 128, "seed": 0},
            "license": "cc-by-4.0",
            "creators": CREATORS,
        },
    )
    response.raise_for_status()
    trained = job(api, response.json()["id"], timeout=3600)
    assert trained["state"] == "COMPLETED", trained
    result = trained["result"]
    print(
        f"pipeline_inference: herbarium demo training: {len(NAMES)} sheets, {epochs} epochs, "
        f"{result['seconds']:.1f} s training ({seconds(trained):.1f} s job), "
        f"{result['images_per_second']:.1f} images/s on {result['device']}; test IoU "
        f"{result['metrics']['test']['iou']:.3f}, validation IoU "
        f"{result['metrics']['validation']['iou']:.3f}",
        flush=True,
    )
    return publish(api, result["draft"])


def new_version(api: Api, model: dict, weights: bytes) -> dict:
    """A new published version of the model with the same weights."""
    response = api.post(f"/api/records/{model['id']}/versions")
    response.raise_for_status()
    draft = response.json()
    data = {k: draft[k] for k in ("metadata", "files", "access", "custom_fields")}
    data["metadata"]["publication_date"] = model["metadata"]["publication_date"]
    api.put(f"/api/records/{draft['id']}/draft", json=data).raise_for_status()
    upload(api, draft["id"], "model.pt", weights)
    return publish(api, draft["id"])


def wait_until_idle(instance: LiveInstance, settle: float = 15) -> None:
    """Wait until the main worker's queues hold no message (publishing queues IIIF tiles and
    metadata extraction), then `settle` seconds for the tasks it has already taken."""
    from kombu import Connection

    with Connection(instance.env["INVENIO_BROKER_URL"]) as connection:
        channel = connection.channel()

        def empty():
            return all(
                channel.queue_declare(queue=name, passive=True).message_count == 0
                for name in ("celery", "indexing", "low", "pipelines-cpu")
            )

        wait_for(empty, timeout=3600, interval=2, what="the worker's queues to drain")
    time.sleep(settle)


def bare_loop(module, images: list[bytes], spec: dict) -> float:
    """Images/s of decode → resize → normalise → forward (batches) → upsample → threshold."""
    height, width = spec["size"]
    mean = torch.tensor(spec["mean"]).view(1, 3, 1, 1)
    std = torch.tensor(spec["std"]).view(1, 3, 1, 1)
    start = time.perf_counter()
    with torch.inference_mode():
        for first in range(0, len(images), BATCH):
            arrays = [
                np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
                for data in images[first : first + BATCH]
            ]
            batch = torch.cat(
                [
                    F.interpolate(
                        torch.from_numpy(a).permute(2, 0, 1)[None].float() / 255,
                        size=(height, width),
                        mode="bilinear",
                        align_corners=False,
                    )
                    for a in arrays
                ]
            )
            probabilities = torch.sigmoid(module((batch - mean) / std))
            for array, probability in zip(arrays, probabilities, strict=True):
                full = F.interpolate(
                    probability[None], size=array.shape[:2], mode="bilinear", align_corners=False
                )
                (full[0, 0] > 0.5).numpy()
    return len(images) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args()

    instance = LiveInstance(name="specimen_rdm_bench_ml")
    print("bench: preparing a fresh instance (database, indices, fixtures)...", flush=True)
    instance.reset()
    instance.setup()
    instance.start()
    try:
        user = Api(instance.url, instance.token("bench-ml@example.org"))
        admin = Api(instance.url, instance.token("admin@example.org"))
        model = herbarium_demo(user, args.epochs)
        weights = user.get(f"/api/records/{model['id']}/files/model.pt/content").content
        module = torch.jit.load(io.BytesIO(weights), map_location="cpu").eval()
        spec = model["custom_fields"]["ml:input"]
        instance.pipelines_file.write_text(
            json.dumps(
                {
                    "pipelines": {
                        "bench": {
                            "model": {"latest_of": model["parent"]["id"]},
                            "on_publish": False,
                        }
                    }
                }
            )
        )
        images = variants(args.images)
        tag = uuid.uuid4().hex[:8]
        print(f"bench: publishing {len(images)} sheets in records of {PER_RECORD}", flush=True)
        for first in range(0, len(images), PER_RECORD):
            draft = create_draft(user, f"Pipeline bench {tag} {first // PER_RECORD}")
            for key, content in images[first : first + PER_RECORD]:
                upload(user, draft["id"], key, content)
            publish(user, draft["id"])
        query = f'metadata.title:"Pipeline bench {tag}"'
        wait_until_idle(instance)
        pipeline_rates, bare_rates = [], []
        worker = dict(instance.processes)["worker"].pid
        with PeakRSS(worker) as memory:
            for run in range(args.runs):
                if run:
                    model = new_version(user, model, weights)
                response = admin.post(
                    "/api/ml/jobs", json={"type": "pipeline", "pipeline": "bench", "q": query}
                )
                response.raise_for_status()
                state = job(admin, response.json()["id"], timeout=3600)
                assert state["state"] == "COMPLETED", state
                assert state["counts"]["annotated"] == len(images) // PER_RECORD, state
                pipeline_rates.append(len(images) / seconds(state))
                bare_rates.append(bare_loop(module, [c for _, c in images], spec))
                print(
                    f"bench: run {run + 1}: pipeline {pipeline_rates[-1]:.2f} images/s, "
                    f"bare torch {bare_rates[-1]:.2f} images/s",
                    flush=True,
                )
        pipeline, bare = statistics.median(pipeline_rates), statistics.median(bare_rates)
        print(
            f"pipeline_inference: {len(images)} sheets, CPU ({torch.get_num_threads()} threads), "
            f"batch {BATCH}: pipeline median {pipeline:.2f} images/s, bare torch loop median "
            f"{bare:.2f} images/s, ratio {pipeline / bare:.2f} (target ≥ 0.8); worker peak RSS "
            f"{memory.peak / 2**20:.0f} MiB"
        )
    finally:
        instance.stop()


if __name__ == "__main__":
    main()
