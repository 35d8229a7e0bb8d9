"""Rules of model records: what a record of resource type `model` must carry to be published.

A draft may be incomplete (the problems are listed with the draft, as InvenioRDM does for its
own required fields); publishing a model without a licence, a task, or with a weights file that
is not among its files fails with a 400 naming the field.
"""

import logging
from collections.abc import Mapping

from invenio_records_resources.services.records.components import ServiceComponent
from invenio_records_resources.services.uow import TaskOp
from marshmallow import ValidationError

from .custom_fields import MODEL_RESOURCE_TYPE
from .pipeline_registry import PipelineRegistryError
from .proxies import current_mlmodels
from .use_cases import UseCase

logger = logging.getLogger(__name__)


def is_model(data: Mapping) -> bool:
    """Whether record data (a draft, record or request body) is a model record."""
    resource_type = (data.get("metadata") or {}).get("resource_type") or {}
    return resource_type.get("id") == MODEL_RESOURCE_TYPE


def model_problems(
    data: Mapping, file_keys: set[str] | None, use_cases: Mapping[str, UseCase]
) -> dict[str, str]:
    """`{field: reason}` for every rule a model record breaks (empty when it may be published).

    `file_keys` are the record's file keys, or None when they are not known yet (draft create).
    """
    problems = {}
    metadata = data.get("metadata") or {}
    custom = data.get("custom_fields") or {}
    if not metadata.get("rights"):
        problems["metadata.rights"] = "a model record needs a licence"
    if not custom.get("ml:task"):
        problems["custom_fields.ml:task"] = "a model record needs its task"
    for use_case in custom.get("ml:use_cases") or []:
        if use_case not in use_cases:
            known = ", ".join(sorted(use_cases))
            problems["custom_fields.ml:use_cases"] = f"'{use_case}' is not one of {known}"
        elif custom.get("ml:task") and custom["ml:task"] not in use_cases[use_case].tasks:
            problems["custom_fields.ml:use_cases"] = (
                f"'{use_case}' needs a model for {' or '.join(use_cases[use_case].tasks)}, "
                f"not {custom['ml:task']}"
            )
    weights = custom.get("ml:weights_file")
    if weights and file_keys is not None and weights not in file_keys:
        problems["custom_fields.ml:weights_file"] = f"'{weights}' is not a file of this record"
    if custom.get("ml:weight_format") == "state-dict" and not custom.get("ml:architecture"):
        problems["custom_fields.ml:architecture"] = "state-dict weights need a named architecture"
    return problems


def _file_keys(record) -> set[str] | None:
    files = getattr(record, "files", None)
    if files is None or not files.enabled:
        return None
    return set(files.entries.keys()) if hasattr(files, "entries") else set(files.keys())


def pipelines_run_on_publish() -> bool:
    """Whether some registered pipeline runs when a record is published. A broken registry
    must not stop deposits: it is logged, and no pipeline runs."""
    try:
        pipelines = current_mlmodels.registry.pipelines().values()
    except PipelineRegistryError as error:
        logger.error("no pipelines run after publishing: %s", error)
        return False
    return any(p.on_publish for p in pipelines)


class PipelineTriggerComponent(ServiceComponent):
    """After a record is published, queue the registered pipelines that apply to it."""

    def publish(self, identity, draft=None, record=None, **kwargs):
        """Queued after the commit (and only when some pipeline runs on publish); the task
        decides which pipelines apply."""
        if not pipelines_run_on_publish():
            return
        # Imported here: the tasks import torch, which the configuration (invenio.cfg imports
        # this module) should not load.
        from .tasks import run_pipelines_on_publish

        self.uow.register(TaskOp(run_pipelines_on_publish, record.pid.pid_value))


class ModelRecordComponent(ServiceComponent):
    """Lists a model draft's problems on save and refuses to publish a model that has any."""

    def _report(self, record, errors) -> None:
        if errors is None or not is_model(record):
            return
        for field, reason in model_problems(
            record, _file_keys(record), current_mlmodels.use_cases
        ).items():
            errors.append({"field": field, "messages": [reason]})

    def create(self, identity, data=None, record=None, errors=None, **kwargs):
        """List the draft's problems (it is saved all the same)."""
        self._report(record, errors)

    def update_draft(self, identity, data=None, record=None, errors=None, **kwargs):
        """List the draft's problems (it is saved all the same)."""
        self._report(record, errors)

    def publish(self, identity, draft=None, record=None, **kwargs):
        """Refuse to publish a model record that breaks a rule."""
        if not is_model(draft):
            return
        # The files component (earlier in the list) has moved the files to the record by now.
        problems = model_problems(draft, _file_keys(record), current_mlmodels.use_cases)
        if problems:
            raise ValidationError({field: [reason] for field, reason in problems.items()})


MODEL_RECORD_COMPONENTS = [ModelRecordComponent, PipelineTriggerComponent]
"""Appended to `RDM_RECORDS_SERVICE_COMPONENTS`."""
