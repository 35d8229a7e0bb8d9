"""Annotation import and export throughput: COCO boxes per second, until searchable.

Starts its own instance (database `specimen_rdm_bench_annotations`), publishes R records of
100 small JPEGs each (default 10 records = 1,000 images), then imports one COCO file per record
with B boxes per image (default 100 → 100,000 boxes) through `POST /api/annotations/import`,
checks that the search API counts every box, and exports each record's annotations as COCO.
Prints annotations/s per record (import until searchable; export), the medians, and the web
server's peak RSS (imports run in the web request).

    python bench/annotation_import.py [--records 10] [--boxes 100]
"""

import argparse
import io
import json
import random
import statistics
import sys
import time
from pathlib import Path

from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from deposit_rest import PeakRSS  # noqa: E402

from deposit import Api, create_draft, publish, upload  # noqa: E402
from live_instance import LiveInstance  # noqa: E402

IMAGES_PER_RECORD = 100
WIDTH, HEIGHT = 400, 300
CATEGORIES = ["ruler", "note", "barcode", "stamp", "attachment", "color_card", "label", "insect"]


def _jpeg(seed: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (WIDTH, HEIGHT), (seed % 256, (seed * 7) % 256, (seed * 13) % 256)).save(
        buffer, format="JPEG"
    )
    return buffer.getvalue()


def publish_images(api: Api, number: int) -> dict:
    """A public record with IMAGES_PER_RECORD distinct JPEGs."""
    draft = create_draft(api, f"Annotation bench {number}")
    for index in range(IMAGES_PER_RECORD):
        upload(api, draft["id"], f"img{index:03d}.jpg", _jpeg(number * 1000 + index))
    return publish(api, draft["id"])


def coco_file(boxes_per_image: int, seed: int) -> bytes:
    """COCO instances file: random boxes inside each 400×300 image, herbarium categories."""
    rng = random.Random(seed)
    images = [
        {"id": i + 1, "file_name": f"img{i:03d}.jpg", "width": WIDTH, "height": HEIGHT}
        for i in range(IMAGES_PER_RECORD)
    ]
    annotations = []
    for image in images:
        for _ in range(boxes_per_image):
            w, h = rng.uniform(10, 120), rng.uniform(10, 90)
            x, y = rng.uniform(0, WIDTH - w), rng.uniform(0, HEIGHT - h)
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image["id"],
                    "category_id": rng.randint(2, 9),
                    "bbox": [round(x, 2), round(y, 2), round(w, 2), round(h, 2)],
                    "area": round(w * h, 2),
                    "iscrowd": 0,
                }
            )
    categories = [{"id": i + 2, "name": name} for i, name in enumerate(CATEGORIES)]
    return json.dumps(
        {"images": images, "annotations": annotations, "categories": categories}
    ).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10)
    parser.add_argument("--boxes", type=int, default=100)
    args = parser.parse_args()

    instance = LiveInstance(name="specimen_rdm_bench_annotations")
    print("bench: preparing a fresh instance (database, indices, fixtures)...", flush=True)
    instance.reset()
    instance.setup()
    instance.start()
    try:
        api = Api(instance.url, instance.token("bench@example.org"))
        print(f"bench: publishing {args.records} records × {IMAGES_PER_RECORD} images", flush=True)
        records = [publish_images(api, n) for n in range(args.records)]
        pids = {name: process.pid for name, process in instance.processes}
        imports, exports = [], []
        with PeakRSS(pids["web"]) as web_memory:
            for number, record in enumerate(records):
                content = coco_file(args.boxes, seed=number)
                expected = IMAGES_PER_RECORD * args.boxes
                start = time.perf_counter()
                response = api.post(
                    "/api/annotations/import",
                    params={"format": "coco", "record": record["id"]},
                    files={"file": content},
                )
                response.raise_for_status()
                total = api.get(
                    "/api/annotations", params={"record": record["id"], "size": 1}
                ).json()["hits"]["total"]
                imports.append(expected / (time.perf_counter() - start))
                assert total == expected, (total, expected)
                start = time.perf_counter()
                exported = api.get(
                    "/api/annotations/export", params={"format": "coco", "record": record["id"]}
                )
                exported.raise_for_status()
                assert len(exported.json()["annotations"]) == expected
                exports.append(expected / (time.perf_counter() - start))
                print(
                    f"bench: record {number + 1}: import {imports[-1]:.0f} annotations/s "
                    f"(searchable), export {exports[-1]:.0f} annotations/s",
                    flush=True,
                )
        count = args.records * IMAGES_PER_RECORD * args.boxes
        print(
            f"annotation_import: {count} COCO boxes on {args.records * IMAGES_PER_RECORD} images; "
            f"import median {statistics.median(imports):.0f} annotations/s until searchable "
            f"(per record: {', '.join(f'{r:.0f}' for r in imports)})"
        )
        print(
            f"annotation_import: COCO export median {statistics.median(exports):.0f} "
            f"annotations/s; web server peak RSS {web_memory.peak / 2**20:.0f} MiB"
        )
    finally:
        instance.stop()


if __name__ == "__main__":
    main()
