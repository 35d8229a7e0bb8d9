"""Object detection and instance segmentation training on the plant instances of the 10 real
herbarium sheets (in process, no instance).

The samples are those of the unit tests (`modules/mlmodels/tests/sheet_samples.instance_samples`:
the sheets at 192 px tall with one box and mask per plant instance, 19 instances, split 6/2/2
by seed 0). For each task it runs R trainings with the default hyperparameters and prints the
median wall time, training images/s and the COCO metrics (pycocotools) of the test and
validation splits (the same each run: seeded). As a baseline in the same run, a "detector"
that answers one box covering the whole image (score 1) is scored on the same splits.

    python bench/detection_training.py [--runs 3] [--epochs 150]
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "modules" / "mlmodels" / "tests"))

from sheet_samples import instance_samples  # noqa: E402

from specimen_rdm_mlmodels.centre_maps import Detection  # noqa: E402
from specimen_rdm_mlmodels.detection_metrics import coco_metrics  # noqa: E402
from specimen_rdm_mlmodels.detection_training import (  # noqa: E402
    DetectionConfig,
    train_detection,
)
from specimen_rdm_mlmodels.segmentation_training import split_keys  # noqa: E402


def _figures(metrics: dict) -> str:
    return ", ".join(f"{name} {value:.3f}" for name, value in metrics.items())


def whole_image_baseline(samples, config: DetectionConfig) -> dict:
    """COCO metrics per split of one whole-image box (and whole-image mask) per image."""
    by_key = {sample.key: sample for sample in samples}
    split = split_keys(list(by_key), config.fractions, config.seed)
    figures = {}
    for name in ("test", "validation"):
        part = [by_key[key] for key in split[name]]
        found = []
        for sample in part:
            height, width = sample.image.shape[:2]
            mask = np.ones((height, width), dtype=bool)
            found.append([Detection(0, 1.0, [0, 0, width, height], mask)])
        figures[name] = coco_metrics([s.truth({"plant": 0}) for s in part], found, 1, masks=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=150)
    args = parser.parse_args()
    samples = instance_samples(192)
    config = DetectionConfig(epochs=args.epochs, seed=0, device="auto")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    instances = sum(len(s.boxes) for s in samples)
    print(
        f"{len(samples)} sheets, {instances} plant instances, {config.image_size} px, "
        f"{args.epochs} epochs, {device}, torch threads {torch.get_num_threads()}"
    )
    baseline = whole_image_baseline(samples, config)
    for split, metrics in baseline.items():
        print(f"baseline (one whole-image box per sheet), {split}: {_figures(metrics)}")
    for task in ("object-detection", "instance-segmentation"):
        walls, rates, result = [], [], None
        for _ in range(args.runs):
            started = time.perf_counter()
            result = train_detection(samples, config, task=task)
            walls.append(time.perf_counter() - started)
            rates.append(result.images_per_second)
        print(
            f"{task}: wall {statistics.median(walls):.1f} s "
            f"(runs {', '.join(f'{w:.1f}' for w in walls)}), "
            f"training {statistics.median(rates):.1f} images/s"
        )
        for split in ("test", "validation"):
            print(f"  {split}: {_figures(result.metrics[split])}")


if __name__ == "__main__":
    main()
