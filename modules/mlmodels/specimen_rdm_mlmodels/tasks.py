"""Celery tasks: pipelines after publishing, pipeline jobs over a query, training jobs.

Jobs go to `pipelines-gpu` when the model runs on CUDA and GPU workers are deployed
(`MLMODELS_GPU_WORKERS`), to `pipelines-cpu` otherwise. Each job is an invenio-jobs Run
(`ml_jobs.py`): a worker that dies leaves the message unacknowledged (acks_late), so another
worker takes the job again; the per-record checksum check makes that repeat write nothing twice.
"""

import time
from contextlib import contextmanager

import torch
from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.utils.log import get_task_logger
from flask import current_app
from invenio_access.permissions import system_identity
from invenio_accounts.models import User
from invenio_communities.proxies import current_communities
from invenio_db import db
from invenio_jobs.jobs import JobType
from invenio_jobs.models import Run, RunStatusEnum
from invenio_rdm_records.proxies import current_rdm_records_service

from specimen_rdm_annotations.target_access import resolve_target
from specimen_rdm_specimens.archive_import import depositor_identity

from . import ml_jobs
from .inference import (
    InferenceError,
    annotate_record,
    check_writes,
    load_model,
    model_record,
    refresh_annotations,
)
from .model_deposit import deposit_model
from .pipeline_registry import Pipeline, PipelineRegistryError
from .proxies import current_mlmodels
from .queues import pipeline_queue
from .training_data import TrainingDataError
from .training_jobs import VALIDATION_METRIC, train

logger = get_task_logger(__name__)


def job_queue(device: str) -> str:
    """The Celery queue of a job whose model wants `device`."""
    return pipeline_queue(device, current_app.config["MLMODELS_GPU_WORKERS"])


def _dispatch(task, run: Run) -> Run:
    """Commit the SCHEDULED run, hand it to its queue, record the Celery task id."""
    db.session.commit()
    limit = current_app.config["MLMODELS_JOB_TIME_LIMIT"]
    result = task.apply_async(
        args=[str(run.id)], queue=run.queue, soft_time_limit=limit, time_limit=limit + 60
    )
    ml_jobs.mark_queued(run, result.id)
    db.session.commit()
    return run


def schedule_pipeline_job(pipeline: Pipeline, target: dict, user_id: int | None) -> Run:
    """Create and queue a job running `pipeline` on `target` ({"record": id} or {"q": query})."""
    what = f"record {target['record']}" if target.get("record") else f"'{target.get('q', '')}'"
    run = ml_jobs.create_job(
        ml_jobs.PIPELINE_JOB,
        f"Pipeline {pipeline.name} on {what}",
        {"pipeline": pipeline.name, **target},
        user_id,
        job_queue(pipeline.device),
    )
    return _dispatch(run_pipeline_job, run)


def schedule_training_job(request: dict, user_id: int) -> Run:
    """Create and queue a training job (request already checked by the resource)."""
    device = request.get("device", current_app.config["MLMODELS_DEVICE"])
    learns = request.get("category") or ", ".join(request.get("categories") or [])
    run = ml_jobs.create_job(
        ml_jobs.TRAINING_JOB,
        request.get("title") or f"Training ({request['task']}, {learns})",
        request,
        user_id,
        job_queue(device),
    )
    return _dispatch(train_model_job, run)


def _community_ids(record) -> set[str]:
    return set(record.parent.communities.ids or [])


def _community_id(ref: str) -> str | None:
    try:
        return str(current_communities.service.read(system_identity, ref).id)
    except Exception:
        return None


def applies_to(pipeline: Pipeline, record) -> bool:
    """Whether a published record is one the pipeline runs on after publishing."""
    resource_type = (record.metadata.get("resource_type") or {}).get("id")
    if pipeline.resource_types and resource_type not in pipeline.resource_types:
        return False
    if pipeline.community and _community_id(pipeline.community) not in _community_ids(record):
        return False
    if pipeline.query:
        query = f'id:"{record.pid.pid_value}" AND ({pipeline.query})'
        current_rdm_records_service.indexer.refresh()
        found = current_rdm_records_service.search(system_identity, params={"q": query})
        return found.total > 0
    return True


@shared_task(ignore_result=True)
def run_pipelines_on_publish(recid: str) -> list[str]:
    """Queue a job for every on-publish pipeline that applies to the record just published."""
    record = resolve_target(recid)
    if record is None:
        return []
    runs = []
    for pipeline in current_mlmodels.registry.pipelines().values():
        if pipeline.on_publish and applies_to(pipeline, record):
            runs.append(str(schedule_pipeline_job(pipeline, {"record": recid}, None).id))
    return runs


def _record_ids(pipeline: Pipeline, query: str) -> list[str]:
    clauses = [f"({query})"] if query else []
    if pipeline.resource_types:
        types = " OR ".join(f'"{t}"' for t in pipeline.resource_types)
        clauses.append(f"metadata.resource_type.id:({types})")
    if pipeline.query:
        clauses.append(f"({pipeline.query})")
    params = {"q": " AND ".join(clauses)} if clauses else {}
    hits = current_rdm_records_service.scan(system_identity, params=params).hits
    return [hit["id"] for hit in hits]


def _annotate_with_retries(run: Run, recid: str, model, pipeline: Pipeline) -> dict | None:
    """Annotate one record; transient failures are retried after 10 s and 60 s."""
    delays = current_app.config["MLMODELS_ITEM_RETRY_DELAYS"]
    for attempt in range(len(delays) + 1):
        try:
            return annotate_record(recid, model, pipeline, str(run.id))
        except InferenceError as error:
            db.session.rollback()
            ml_jobs.add_error(run, recid, str(error))
            return None
        except SoftTimeLimitExceeded:
            raise
        except Exception as error:
            db.session.rollback()
            logger.warning("pipeline %s on %s failed (%r)", pipeline.name, recid, error)
            if attempt == len(delays):
                ml_jobs.add_error(run, recid, f"failed after {attempt + 1} attempts: {error}")
                return None
            time.sleep(delays[attempt])


def _take(run_id: str) -> Run | None:
    """The run, marked RUNNING, unless it is gone, finished or cancelled before it started."""
    run = db.session.get(Run, run_id)
    if run is None or run.finished_at is not None:
        return None
    if ml_jobs.cancel_requested(run):
        ml_jobs.finish(run, RunStatusEnum.CANCELLED, "cancelled before it started")
        db.session.commit()
        return None
    ml_jobs.start(run)
    db.session.commit()
    return run


def _fail(run_id: str, message: str) -> None:
    db.session.rollback()
    run = db.session.get(Run, run_id)
    ml_jobs.finish(run, RunStatusEnum.FAILED, message)
    db.session.commit()


@contextmanager
def _failures_end(run_id: str, expected: tuple[type[Exception], ...]):
    """What stops a job ends its run as FAILED with a message: the time limit, an expected
    error (its text), anything else (logged with its traceback)."""
    try:
        yield
    except SoftTimeLimitExceeded:
        limit = current_app.config["MLMODELS_JOB_TIME_LIMIT"]
        _fail(run_id, f"stopped at the time limit of {limit} s")
    except expected as error:
        _fail(run_id, str(error))
    except Exception as error:
        logger.exception("ML job %s failed", run_id)
        _fail(run_id, f"unexpected error: {error!r}")


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def run_pipeline_job(self, run_id: str) -> None:
    """Run a pipeline job: load the model once, annotate each record, report as it goes."""
    run = _take(run_id)
    if run is None:
        return
    request = run.args["request"]
    with _failures_end(run_id, (InferenceError, PipelineRegistryError)):
        pipeline = current_mlmodels.registry.get(request["pipeline"])
        if pipeline is None:
            raise InferenceError(f"pipeline: '{request['pipeline']}' is not registered")
        record = model_record(
            pipeline.model_record, pipeline.model_latest_of, pipeline.model_builtin
        )
        model = load_model(record, pipeline.threshold, pipeline.device)
        check_writes(pipeline, model)
        # Where it runs: the device and the worker process's torch threads (for throughput).
        where = {"device": pipeline.device, "torch_threads": torch.get_num_threads()}
        ml_jobs.update_args(run, result={"model": model.reference(), **where})
        if request.get("record"):
            recids = [request["record"]]
        else:
            recids = _record_ids(pipeline, request.get("q", ""))
        run.total_entries = len(recids)
        db.session.commit()
        for position, recid in enumerate(recids):
            if ml_jobs.cancel_requested(run):
                ml_jobs.finish(run, RunStatusEnum.CANCELLED, f"cancelled after {position} records")
                db.session.commit()
                return
            counts = _annotate_with_retries(run, recid, model, pipeline)
            if counts is not None:
                for problem in counts["errors"]:
                    ml_jobs.add_error(run, f"{recid}/{problem['file']}", problem["reason"])
                if counts["created"]:
                    run.inserted_entries += 1
                else:
                    run.updated_entries += 1
            ml_jobs.update_args(run, progress={"records": position + 1, "of": len(recids)})
            db.session.commit()
        if run.inserted_entries:
            refresh_annotations()  # a COMPLETED job's annotations are searchable
        status = RunStatusEnum.PARTIAL_SUCCESS if run.errored_entries else RunStatusEnum.SUCCESS
        ml_jobs.finish(run, status)
        db.session.commit()


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def train_model_job(self, run_id: str) -> None:
    """Train a model, evaluate it on the held-out split and deposit it as a draft record."""
    run = _take(run_id)
    if run is None:
        return
    request = run.args["request"]
    with _failures_end(run_id, (TrainingDataError, ValueError)):
        try:
            identity = depositor_identity(db.session.get(User, run.started_by_id))
            metric = VALIDATION_METRIC[request["task"]]

            def loaded(data) -> None:
                run.total_entries = len(data.samples)
                db.session.commit()

            def progress(epoch: int, epochs: int, loss: float, validation: float) -> None:
                if ml_jobs.cancel_requested(run):
                    raise TrainingCancelled()
                ml_jobs.update_args(
                    run,
                    progress={
                        "epoch": epoch,
                        "epochs": epochs,
                        "loss": round(loss, 6),
                        metric: round(validation, 6),
                    },
                )
                db.session.commit()

            device = request.get("device", current_app.config["MLMODELS_DEVICE"])
            training = train(identity, request, device, loaded, progress)
            result, data = training.result, training.data
            draft = deposit_model(
                identity, request, result, data.dataset, data.image_records, str(run.id)
            )
            run.inserted_entries = len(data.samples)
            ml_jobs.update_args(
                run,
                result={
                    "draft": draft["id"],
                    "metrics": result.metrics,
                    "seconds": round(result.seconds, 3),
                    "images_per_second": round(result.images_per_second, 3),
                    "device": result.device,
                },
            )
            ml_jobs.finish(run, RunStatusEnum.SUCCESS)
            db.session.commit()
        except TrainingCancelled:
            db.session.rollback()
            run = db.session.get(Run, run_id)
            ml_jobs.finish(run, RunStatusEnum.CANCELLED, "cancelled during training")
            db.session.commit()


class TrainingCancelled(Exception):
    """Someone cancelled the training job between two epochs."""


class PipelineJob(JobType):
    """Runs of registered pipelines (started on publish or through /api/ml/jobs)."""

    id = ml_jobs.PIPELINE_JOB
    title = "ML pipeline"
    description = "A registered model pipeline run on records"
    task = run_pipeline_job


class TrainingJob(JobType):
    """Training runs started through /api/ml/jobs."""

    id = ml_jobs.TRAINING_JOB
    title = "ML training"
    description = "Training of a model from annotated images"
    task = train_model_job
