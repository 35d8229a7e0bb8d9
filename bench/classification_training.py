"""Classifier training throughput on tiles of the real herbarium sheets (in process, no instance).

The tiles are those of the unit tests (`modules/mlmodels/tests/sheet_samples.tile_samples`:
"plant" / "other" 64-px tiles of the 10 sheets at 384 px tall, 171 crops, split by sheet).
For each way of training — TinyCNN from scratch, and a linear head on the built-in
EfficientNet-Lite0 features (transfer learning, frozen base) — it runs R trainings and prints the
median wall time (including the base's feature pass), training images/s (crops seen per second
of the epoch loop) and the test accuracy / macro-F1 (the same each run: seeded).

    python bench/classification_training.py [--runs 3] [--epochs 15]
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "modules" / "mlmodels" / "tests"))

from sheet_samples import tile_samples  # noqa: E402

from specimen_rdm_mlmodels.base_model import BaseModel  # noqa: E402
from specimen_rdm_mlmodels.builtin_models import (  # noqa: E402
    FEATURE_INPUT,
    efficientnet_lite0_torchscript,
)
from specimen_rdm_mlmodels.classification_training import (  # noqa: E402
    ClassificationConfig,
    train_classification,
)
from specimen_rdm_mlmodels.model_runtime import load_torchscript  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=15)
    args = parser.parse_args()
    samples = tile_samples()
    config = ClassificationConfig(epochs=args.epochs, seed=0, device="auto")
    weights = efficientnet_lite0_torchscript()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    threads = torch.get_num_threads()
    print(f"{len(samples)} crops, {args.epochs} epochs, {device}, torch threads {threads}")
    ways = {
        "tiny-cnn from scratch": lambda: None,
        "linear head on EfficientNet-Lite0 (frozen)": lambda: BaseModel(
            "builtin",
            "feature-extraction",
            load_torchscript(weights, torch.device("cpu")),
            FEATURE_INPUT,
            "efficientnet-lite0",
        ),
    }
    for name, base in ways.items():
        walls, rates, result = [], [], None
        for _ in range(args.runs):
            started = time.perf_counter()
            result = train_classification(samples, config, base=base())
            walls.append(time.perf_counter() - started)
            rates.append(result.images_per_second)
        test = result.metrics["test"]
        print(
            f"{name}: wall {statistics.median(walls):.1f} s "
            f"(runs {', '.join(f'{w:.1f}' for w in walls)}), "
            f"training {statistics.median(rates):.0f} crops/s, "
            f"test accuracy {test['accuracy']:.3f}, macro-F1 {test['macro_f1']:.3f}"
        )


if __name__ == "__main__":
    main()
