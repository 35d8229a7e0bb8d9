"""Default settings of the ML module (override in invenio.cfg)."""

MLMODELS_USE_CASES_FILE = None
"""YAML vocabulary of use cases; None means `<instance>/app_data/ml_use_cases.yaml`."""

MLMODELS_PIPELINES_FILE = None
"""YAML pipeline registry; None means `<instance>/app_data/pipelines.yaml`. Re-read when it
changes, so a pipeline can be registered without restarting the workers."""

MLMODELS_DEVICE = "auto"
"""Where models run: "auto" (CUDA when a GPU is visible to the worker, else CPU), "cpu", "cuda"."""

MLMODELS_INFERENCE_BATCH_SIZE = 8
"""Images per forward pass of a pipeline (raise on a GPU)."""

MLMODELS_RUNTIME_CACHE_SIZE = 4
"""Models a worker keeps loaded (keyed by the weights file's checksum)."""

MLMODELS_DECODE_THREADS = None
"""Threads that decode a record's images for a pipeline (None: as many as torch uses)."""

MLMODELS_PREDICT_MAX_BYTES = 50 * 1024 * 1024
"""Largest image `POST /api/models/{id}/predict` accepts."""

MLMODELS_MAX_IMAGE_PIXELS = 100_000_000
"""Larger images are refused (decompression bombs) by predict, pipelines and training."""

MLMODELS_JOB_TIME_LIMIT = 6 * 3600
"""Seconds a pipeline or training job may run before it is stopped and marked FAILED."""

MLMODELS_ITEM_RETRY_DELAYS = (10, 60)
"""Seconds before each retry of a record whose inference failed for a transient reason (a
model or image problem is not retried: it is reported as the record's error)."""

MLMODELS_GPU_WORKERS = False
"""Whether workers consuming `pipelines-gpu` are deployed; without them every job goes to
`pipelines-cpu` (and runs on CPU), so that nothing waits on a queue nobody consumes."""

MLMODELS_TRAINING_MAX_IMAGES = 2000
"""Most images one training job reads (they are held in memory for the job)."""

MLMODELS_RATING_PRIOR_MEAN = 3.0
"""Prior mean of the Bayesian-averaged community rating (stars)."""

MLMODELS_RATING_PRIOR_WEIGHT = 5
"""How many ratings the prior counts as (larger: more ratings needed to move the average)."""

MLMODELS_SUITABILITY_METRIC_WEIGHT = 0.8
"""Share of the measured metric in the suitability score (the rest is the community rating)."""

MLMODELS_SIMILARITY_MODEL = "efficientnet-lite0-features"
"""Feature model whose embeddings `/api/similar` searches when no `model=` is given: a built-in
model id or a model record id."""
