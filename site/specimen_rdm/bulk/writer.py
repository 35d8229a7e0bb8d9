"""The fast path of bulk deposit: a chunk of records written with bulk SQL in one transaction.

Publishing through InvenioRDM's records service costs ~0.3 s of one core per record (a draft
created and published, ~150 SQL statements, nine JSON-schema validations). A bulk job's records
are all new, public specimens of one owner, so this writer produces the rows that create +
publish would produce, for a whole chunk at once:

* each record is checked as publishing checks it: the service's marshmallow schema (strict),
  vocabulary relations, the record JSON schema, the specimen interpretation and quality flags,
  duplicate lookups (published records and the rest of the chunk);
* then, per chunk, one multi-row INSERT per table: parent and record metadata with their
  SQLAlchemy-Continuum version rows (one `transaction` row for the chunk), persistent
  identifiers (parent and record recid, DOI and concept DOI reserved for DataCite, OAI), the
  versions state, the soft-deleted draft row InvenioRDM keeps after a publish, buckets, file
  instances (the upload hard-linked into storage), object versions, file records, and the
  IIIF status file of every image;
* after the commit, the same Celery tasks a publish queues (DOI and OAI registration, IIIF
  tiles, on-publish pipelines), on `SPECIMEN_BULK_FOLLOWUP_QUEUE`.

`tests/test_bulk_writer.py` publishes the same specimen through the service and through this
writer and compares every row and the search document.
"""

import contextlib
import mimetypes
import os
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace

from flask import current_app
from invenio_db import db
from invenio_files_rest.models import Bucket, FileInstance, ObjectVersion
from invenio_pidstore.models import PersistentIdentifier
from invenio_pidstore.providers.recordid_v2 import RecordIdProviderV2
from invenio_rdm_records.proxies import current_rdm_records_service
from invenio_rdm_records.records.api import RDMParent, RDMRecord, get_media_files_quota
from invenio_rdm_records.records.models import (
    RDMDraftMetadata,
    RDMFileRecordMetadata,
    RDMMediaFileRecordMetadata,
    RDMParentMetadata,
    RDMRecordMetadata,
    RDMUserQuota,
    RDMVersionsState,
)
from invenio_rdm_records.records.processors.tiles import TilesProcessor
from invenio_rdm_records.services.iiif.storage import tiles_storage
from invenio_records.systemfields.relations import InvalidRelationValue
from invenio_records_resources.services.files.processors.image import ImageMetadataExtractor
from jsonschema.exceptions import ValidationError as SchemaError
from marshmallow import ValidationError
from sqlalchemy import insert, text
from sqlalchemy_continuum import version_class

from specimen_rdm_specimens.custom_fields import QUALITY_FIELD
from specimen_rdm_specimens.duplicates import DuplicateSpecimenError, find_by_image, find_by_terms
from specimen_rdm_specimens.service_components import quality_of, specimen_values

from . import uploads
from .indexing import SharedRelationCache
from .schema_validation import RecordSchemaValidator

CONTINUUM_INSERT = 0
"""`operation_type` of a version row that records an INSERT."""


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def fast_path_ok(data: dict) -> bool:
    """Whether a record (as `record_data` makes it) can be written by this writer: public record
    and files, no embargo, at least one file, no own PIDs, not an ML model (whose fields the
    model-record component checks). Anything else goes through the records service."""
    access = data.get("access") or {}
    resource_type = ((data.get("metadata") or {}).get("resource_type") or {}).get("id")
    return (
        resource_type != "model"
        and access.get("record", "public") == "public"
        and access.get("files", "public") == "public"
        and not access.get("embargo")
        and bool((data.get("files") or {}).get("enabled"))
        and "pids" not in data
        and "parent" not in data
    )


def file_ext(key: str) -> str | None:
    """A file's extension as InvenioRDM's file records report it (from the guessed mimetype,
    so `.jpeg` and `.jpg` are both `jpg`)."""
    mimetype = mimetypes.guess_type(key)[0] or "application/octet-stream"
    guessed = mimetypes.guess_extension(mimetype)
    if guessed and mimetype != "application/octet-stream":
        return guessed[1:]
    ext = os.path.splitext(key)[1]
    if ext and len(ext) <= 5:
        return ext[1:].lower()
    return guessed[1:] if guessed else None


class _UploadedFile:
    """What InvenioRDM's file processors read of a file record, for an upload on disk."""

    def __init__(self, key: str, path):
        self.key, self.path, self.metadata = key, path, None

    def open_stream(self, mode: str = "rb"):
        return open(self.path, mode)  # noqa: SIM115 (the processor closes it)


def file_metadata(key: str, path) -> dict | None:
    """The file record metadata that an upload through the files service gets from
    InvenioRDM's image metadata extractor (width and height of an image), or None."""
    uploaded = _UploadedFile(key, path)
    extractor = ImageMetadataExtractor()
    if extractor.can_process(uploaded):
        extractor.process(uploaded)
    return uploaded.metadata


def uploaded_file(owner_id: int, entry: dict, loaded: dict | None = None) -> uploads.BulkFile:
    """The complete upload of a declared file `{key, size, sha256}` (from `loaded`, uploads by
    SHA-256, if there); a ValidationError naming the file if it is missing or of another
    size."""
    upload = (loaded or {}).get(entry["sha256"]) or db.session.get(
        uploads.BulkFile, (owner_id, entry["sha256"])
    )
    if upload is None or not upload.complete:
        raise ValidationError({"files": {entry["key"]: ["the file has not been uploaded"]}})
    if upload.size != entry["size"]:
        message = f"declared {entry['size']} bytes, the upload has {upload.size}"
        raise ValidationError({"files": {entry["key"]: [message]}})
    return upload


@dataclass
class Prepared:
    """One item, checked and ready to be written."""

    item_id: int
    record: dict
    """The record JSON without its identifiers (`id`, `pid`, `pids`)."""
    files: list[dict]
    """The declared files: key, size, sha256, md5 (of the upload)."""
    ignored: list[str] = field(default_factory=list)


@dataclass
class Written:
    """A record the writer created."""

    item_id: int
    record_uuid: uuid.UUID
    recid: str
    doi: str | None
    flags: list[str]
    image_files: list[str]


class InChunkDuplicate(Exception):
    """Another record of the same chunk describes this specimen: the item waits for the next
    chunk, where it is found as a duplicate of the record published now (as the records
    service would find it)."""


class ChunkDuplicates:
    """Duplicate checks against published records and the chunk's records written so far."""

    def __init__(self):
        """Nothing seen yet."""
        self.occurrence_ids: set[str] = set()
        self.catalog_numbers: set[tuple] = set()
        self.images: set[str] = set()

    @staticmethod
    def _triple(custom_fields: dict) -> tuple:
        names = ("institutionCode", "collectionCode", "catalogNumber")
        return tuple(custom_fields.get(f"dwc:{name}") for name in names)

    def check(self, custom_fields: dict, digests: list[str]) -> None:
        """Raise DuplicateSpecimenError (naming the published record) or InChunkDuplicate."""
        duplicate = find_by_terms(custom_fields) or find_by_image(digests)
        if duplicate:
            raise DuplicateSpecimenError(duplicate)
        occurrence_id = custom_fields.get("dwc:occurrenceID")
        triple = self._triple(custom_fields)
        if (
            (occurrence_id and occurrence_id in self.occurrence_ids)
            or (all(triple) and triple in self.catalog_numbers)
            or any(digest in self.images for digest in digests)
        ):
            raise InChunkDuplicate()

    def remember(self, custom_fields: dict, digests: list[str]) -> None:
        """A record of the chunk that passed every check."""
        if custom_fields.get("dwc:occurrenceID"):
            self.occurrence_ids.add(custom_fields["dwc:occurrenceID"])
        if all(self._triple(custom_fields)):
            self.catalog_numbers.add(self._triple(custom_fields))
        self.images.update(digests)


class BulkRecordWriter:
    """Checks and writes the records of one chunk of one owner."""

    def __init__(self, identity, owner_id: int, location):
        """`location`: the default files Location."""
        self.identity = identity
        self.owner_id = owner_id
        self.location = location
        self.service = current_rdm_records_service
        self.duplicates = ChunkDuplicates()
        self.tiles = TilesProcessor()
        self.bucket_args = self._files_quota(), get_media_files_quota()
        self.linked: list[str] = []
        """Storage paths created by `write`; removed again if the transaction rolls back."""
        self.uploads: dict[str, uploads.BulkFile] = {}
        self.relations = SharedRelationCache(RDMRecord)
        self.schema = RecordSchemaValidator(RDMRecord, RDMRecord.schema.value)

    def _files_quota(self) -> dict:
        """The owner's quota, else the defaults (as `get_files_quota` decides for a record of
        a new parent)."""
        quota = RDMUserQuota.query.filter(RDMUserQuota.user_id == self.owner_id).one_or_none()
        if quota is not None:
            return {"quota_size": quota.quota_size, "max_file_size": quota.max_file_size}
        config = current_app.config
        return {
            "quota_size": config.get("RDM_FILES_DEFAULT_QUOTA_SIZE")
            or config.get("FILES_REST_DEFAULT_QUOTA_SIZE"),
            "max_file_size": config.get("RDM_FILES_DEFAULT_MAX_FILE_SIZE")
            or config.get("FILES_REST_DEFAULT_MAX_FILE_SIZE"),
        }

    def supported(self) -> bool:
        """Whether the instance's PID set-up is the one this writer writes: DOI (DataCite) and
        OAI required for records, a concept DOI for parents. Otherwise every record goes through
        the records service."""
        config = self.service.config
        manager = self.service.pids.pid_manager
        try:  # once per chunk, not per record
            self.doi_provider = manager._get_provider("doi", "datacite")
            self.oai_provider = manager._get_provider("oai", "oai")
        except Exception:  # KeyError, ProviderNotSupportedError: not configured
            return False
        return set(config.pids_required) == {"doi", "oai"} and "doi" in set(
            config.parent_pids_required
        )

    # Checking ---------------------------------------------------------------------------

    def load_uploads(self, sha256s) -> None:
        """Load the owner's uploads of these files with one query (before `prepare`)."""
        rows = uploads.BulkFile.query.filter(
            uploads.BulkFile.owner_id == self.owner_id,
            uploads.BulkFile.sha256.in_(set(sha256s)),
        )
        self.uploads.update((row.sha256, row) for row in rows)

    def check_permission(self) -> None:
        """The owner may create records (raises PermissionDeniedError)."""
        self.service.require_permission(self.identity, "create")

    def prepare(self, item_id: int, data: dict, files: list[dict], ignored: list[str]) -> Prepared:
        """Check one record as publishing would; a ValidationError or DuplicateSpecimenError
        says why it cannot be published, InChunkDuplicate that it must wait for the next
        chunk."""
        loaded, _ = self.service.schema.load(
            data, context={"identity": self.identity}, raise_errors=True
        )
        record = {"$schema": RDMRecord.schema.value, **loaded}
        record.setdefault("custom_fields", {})
        record["access"] = {
            "record": "public",
            "files": "public",
            "embargo": {"active": False, "reason": None, "until": None},
        }
        record["files"] = {"enabled": True}
        record["internal_notes"] = []
        files = [self._upload_of(entry) for entry in files]
        digests = sorted(
            {
                f["sha256"]
                for f in files
                if (mimetypes.guess_type(f["key"])[0] or "").startswith("image/")
            }
        )
        custom_fields = record["custom_fields"]
        custom_fields.pop(QUALITY_FIELD, None)
        specimen = bool(specimen_values(custom_fields))
        if specimen:
            self.duplicates.check(custom_fields, digests)
            custom_fields[QUALITY_FIELD] = {**quality_of(custom_fields), "image_sha256": digests}
        api_record = RDMRecord(record)
        self.relations.attach(api_record)
        try:
            api_record.relations.validate()
        except InvalidRelationValue as error:
            raise ValidationError({"metadata": [str(error)]}) from error
        api_record.relations.clean()
        try:
            self.schema.validate(api_record)
        except SchemaError as error:
            path = ".".join(str(p) for p in error.absolute_path) or "record"
            raise ValidationError({path: [error.message]}) from error
        if specimen:
            self.duplicates.remember(custom_fields, digests)
        return Prepared(item_id, dict(api_record), files, ignored)

    def _upload_of(self, entry: dict) -> dict:
        return {**entry, "md5": uploaded_file(self.owner_id, entry, self.uploads).md5}

    # Writing ----------------------------------------------------------------------------

    def write(self, prepared: list[Prepared]) -> list[Written]:
        """Insert the rows of these records in the current transaction (the caller commits,
        or rolls back and calls `unlink`)."""
        if not prepared:
            return []
        rows = _Rows()
        now = _now()
        tx_id = self._transaction()
        pid_ids = self._pid_ids(5 * len(prepared))
        written = []
        for n, item in enumerate(prepared):
            written.append(self._rows_of(item, rows, now, tx_id, pid_ids[5 * n : 5 * n + 5]))
        rows.insert()
        return written

    def unlink(self) -> None:
        """Remove the storage links of a write that was rolled back."""
        for path in self.linked:
            with contextlib.suppress(OSError):
                os.unlink(path)
        self.linked = []

    def _transaction(self) -> int:
        return db.session.execute(
            text(
                "INSERT INTO transaction (id, issued_at) VALUES "
                "(nextval('transaction_id_seq'), timezone('utc', now())) RETURNING id"
            )
        ).scalar_one()

    def _pid_ids(self, count: int) -> list[int]:
        return list(
            db.session.execute(
                text("SELECT nextval('pidstore_pid_id_seq') FROM generate_series(1, :n)"),
                {"n": count},
            ).scalars()
        )

    def _rows_of(
        self, item: Prepared, rows: "_Rows", now, tx_id: int, pid_ids: list[int]
    ) -> Written:
        parent_uuid, record_uuid = uuid.uuid4(), uuid.uuid4()
        parent_recid = RecordIdProviderV2.generate_id()
        recid = RecordIdProviderV2.generate_id()
        stand_in = SimpleNamespace(pid=SimpleNamespace(pid_value=recid))
        parent_stand_in = SimpleNamespace(pid=SimpleNamespace(pid_value=parent_recid))
        doi = self.doi_provider.generate_id(stand_in)
        parent_doi = self.doi_provider.generate_id(parent_stand_in)
        oai = self.oai_provider.generate_id(stand_in)
        parent_pk, record_pk, doi_pk, oai_pk, parent_doi_pk = pid_ids

        def pid(pk, pid_type, value, status, obj, provider=None):
            rows.add(
                PersistentIdentifier,
                id=pk,
                pid_type=pid_type,
                pid_value=value,
                pid_provider=provider,
                status=status,
                object_type="rec",
                object_uuid=obj,
                created=now,
                updated=now,
            )

        pid(parent_pk, "recid", parent_recid, "R", parent_uuid)
        pid(record_pk, "recid", recid, "R", record_uuid)
        pid(doi_pk, "doi", doi, "K", record_uuid, "datacite")
        pid(oai_pk, "oai", oai, "R", record_uuid, "oai")
        pid(parent_doi_pk, "doi", parent_doi, "K", parent_uuid, "datacite")

        rows.add(
            RDMParentMetadata,
            id=parent_uuid,
            json={
                "$schema": RDMParent.schema.value,
                "access": {
                    "grants": [],
                    "links": [],
                    "owned_by": {"user": self.owner_id},
                    "settings": {
                        "accept_conditions_text": None,
                        "allow_guest_requests": False,
                        "allow_user_requests": False,
                        "secret_link_expiration": 0,
                    },
                },
                "communities": {},
                "id": parent_recid,
                "pid": {"obj_type": "rec", "pid_type": "recid", "pk": parent_pk, "status": "R"},
                "pids": {
                    "doi": {"client": "datacite", "identifier": parent_doi, "provider": "datacite"}
                },
            },
            version_id=1,
            created=now,
            updated=now,
        )

        bucket_id, media_bucket_id = uuid.uuid4(), uuid.uuid4()
        size = sum(f["size"] for f in item.files)
        buckets = zip((bucket_id, media_bucket_id), (size, 0), self.bucket_args, strict=True)
        for bid, bsize, args in buckets:
            rows.add(
                Bucket,
                id=bid,
                default_location=self.location.id,
                default_storage_class=current_app.config["FILES_REST_DEFAULT_STORAGE_CLASS"],
                size=bsize,
                quota_size=args["quota_size"],
                max_file_size=args["max_file_size"],
                locked=True,
                deleted=False,
                created=now,
                updated=now,
            )

        tile_exts = set(self.tiles.valid_exts)
        image_files = [f["key"] for f in item.files if file_ext(f["key"]) in tile_exts]
        record = {
            **item.record,
            "media_files": {"enabled": bool(image_files)},
            "id": recid,
            "pid": {"obj_type": "rec", "pid_type": "recid", "pk": record_pk, "status": "R"},
            "pids": {
                "doi": {"client": "datacite", "identifier": doi, "provider": "datacite"},
                "oai": {"identifier": oai, "provider": "oai"},
            },
        }
        record_row = dict(
            id=record_uuid,
            json=record,
            version_id=1,
            index=1,
            bucket_id=bucket_id,
            media_bucket_id=media_bucket_id,
            parent_id=parent_uuid,
            deletion_status="P",
            created=now,
            updated=now,
        )
        rows.add(RDMRecordMetadata, **record_row)
        rows.add_version(RDMRecordMetadata, tx_id, **record_row)
        rows.add(
            RDMDraftMetadata,
            id=record_uuid,
            json=None,
            version_id=1,
            index=1,
            bucket_id=None,
            media_bucket_id=None,
            parent_id=parent_uuid,
            fork_version_id=None,
            expires_at=now,
            created=now,
            updated=now,
        )
        rows.add(
            RDMVersionsState,
            parent_id=parent_uuid,
            latest_index=1,
            latest_id=record_uuid,
            next_draft_id=None,
        )

        files_record = SimpleNamespace(
            pid=SimpleNamespace(pid_value=recid),
            access=SimpleNamespace(protection=SimpleNamespace(files="public")),
        )
        for entry in item.files:
            file_id = rows.add_file(
                RDMFileRecordMetadata,
                record_uuid,
                bucket_id,
                entry["key"],
                uri=self._store(entry),
                size=entry["size"],
                checksum=f"md5:{entry['md5']}",
                storage_class=current_app.config["FILES_REST_DEFAULT_STORAGE_CLASS"],
                json=self._file_json(entry),
                tx_id=tx_id,
                now=now,
            )
            if entry["key"] in image_files:
                # The media file that tracks IIIF tile generation, as the tiles processor
                # creates it ("init"; the generate_tiles task fills it).
                rows.add_file(
                    RDMMediaFileRecordMetadata,
                    record_uuid,
                    media_bucket_id,
                    f"{entry['key']}.ptif",
                    uri=str(tiles_storage._get_file_path(files_record, entry["key"])),
                    size=0,
                    checksum=None,
                    storage_class="L",
                    json={
                        "access": {"hidden": True},
                        "processor": {
                            "source_file_id": str(file_id),
                            "status": "init",
                            "type": "image-tiles",
                        },
                    },
                    tx_id=tx_id,
                    now=now,
                )
        return Written(
            item.item_id,
            record_uuid,
            recid,
            doi,
            (record["custom_fields"].get(QUALITY_FIELD) or {}).get("flags") or [],
            image_files,
        )

    def _file_json(self, entry: dict) -> dict:
        path = uploads.assembled_path(self.owner_id, entry["sha256"])
        metadata = file_metadata(entry["key"], path)
        return {"metadata": metadata, "transfer": {}} if metadata else {"transfer": {}}

    def _store(self, entry: dict) -> str:
        """The URI of a new file in the default location, hard-linked (or copied) from the
        upload."""
        uri = FileInstance(id=uuid.uuid4()).storage(default_location=self.location.uri).fileurl
        target = uri.removeprefix("file://") if uri.startswith("file://") else uri
        if "://" in target:
            raise RuntimeError("the bulk writer needs local file storage")
        os.makedirs(os.path.dirname(target), exist_ok=True)
        source = uploads.assembled_path(self.owner_id, entry["sha256"])
        self.linked.append(target)
        try:
            os.link(source, target)
        except OSError:  # another file system
            shutil.copyfile(source, target)
        return uri


class _Rows:
    """Rows collected per table, inserted with one multi-row INSERT each (in dependency order)."""

    ORDER = [
        PersistentIdentifier,
        RDMParentMetadata,
        Bucket,
        FileInstance,
        ObjectVersion,
        RDMRecordMetadata,
        "v:RDMRecordMetadata",
        RDMDraftMetadata,
        RDMVersionsState,
        RDMFileRecordMetadata,
        "v:RDMFileRecordMetadata",
        RDMMediaFileRecordMetadata,
        "v:RDMMediaFileRecordMetadata",
    ]

    def __init__(self):
        """Nothing collected."""
        self.tables: dict = {}

    def add(self, model, **values) -> None:
        """One row of `model`'s table."""
        self.tables.setdefault(model, []).append(values)

    def add_file(
        self,
        model,
        record_uuid,
        bucket_id,
        key,
        *,
        uri,
        size,
        checksum,
        storage_class,
        json,
        tx_id,
        now,
    ):
        """A file of a record: file instance, object version, file record and its version row;
        the file instance's id."""
        file_id, version_id = uuid.uuid4(), uuid.uuid4()
        common = {"created": now, "updated": now}
        self.add(
            FileInstance,
            id=file_id,
            uri=uri,
            storage_class=storage_class,
            size=size,
            checksum=checksum,
            readable=True,
            writable=False,
            last_check=True,
            last_check_at=None,
            **common,
        )
        self.add(
            ObjectVersion,
            version_id=version_id,
            bucket_id=bucket_id,
            key=key,
            file_id=file_id,
            _mimetype=None,
            is_head=True,
            **common,
        )
        row = dict(
            id=uuid.uuid4(),
            json=json,
            version_id=1,
            key=key,
            record_id=record_uuid,
            object_version_id=version_id,
            **common,
        )
        self.add(model, **row)
        self.add_version(model, tx_id, **row)
        return file_id

    def add_version(self, model, transaction_id: int, **values) -> None:
        """The SQLAlchemy-Continuum version row of an inserted row."""
        self.tables.setdefault(f"v:{model.__name__}", []).append(
            {
                **values,
                "transaction_id": transaction_id,
                "end_transaction_id": None,
                "operation_type": CONTINUUM_INSERT,
            }
        )

    def insert(self) -> None:
        """Insert everything."""
        versioned = {
            f"v:{m.__name__}": m
            for m in (RDMRecordMetadata, RDMFileRecordMetadata, RDMMediaFileRecordMetadata)
        }
        for key in self.ORDER:
            rows = self.tables.get(key)
            if not rows:
                continue
            table = version_class(versioned[key]).__table__ if key in versioned else key.__table__
            db.session.execute(insert(table), rows)
