"""Importing a Darwin Core Archive or DwC CSV: one published specimen record per core row.

Each row goes through the records service (so the same validation, quality flags and duplicate
checks as the deposit form and the REST API apply) and ends in exactly one outcome:

- `created`: published (its DOI minted); `flagged` when GBIF quality flags were raised;
- `duplicate`: a published record already holds this specimen (its id is reported);
- `rejected`: a value could not be interpreted or the row is structurally broken (the reasons
  name the file, row and field). A rejected row leaves nothing behind: a draft that could not
  be published is deleted again.

Re-importing the same archive therefore creates nothing new: every row is a duplicate.
"""

import logging
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from flask import current_app
from invenio_access.permissions import any_user, authenticated_user
from invenio_access.utils import get_identity
from invenio_communities.generators import CommunityRoleNeed
from invenio_communities.proxies import current_communities
from invenio_db import db
from invenio_rdm_records.proxies import current_rdm_records_service
from invenio_records_resources.services.errors import PermissionDeniedError
from marshmallow import ValidationError

from .custom_fields import QUALITY_FIELD
from .darwin_core_archive import CoreRow, open_source
from .duplicates import DuplicateSpecimenError, find_by_terms
from .service_components import quality_of
from .specimen_rows import record_from_row

log = logging.getLogger(__name__)

OUTCOMES = ("created", "flagged", "duplicate", "rejected")


@dataclass
class RowReport:
    """What happened to one core row."""

    file: str
    row: int
    core_id: str | None
    status: str
    record_id: str | None = None
    existing_record_id: str | None = None
    flags: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        """The report line."""
        return asdict(self)


@dataclass
class ImportCounts:
    """Running totals of an import."""

    total: int = 0
    processed: int = 0
    created: int = 0
    flagged: int = 0
    duplicate: int = 0
    rejected: int = 0
    orphan_extension_rows: int = 0
    """Extension (multimedia) rows whose core id is empty or names no core row."""

    def add(self, report: RowReport) -> None:
        """Count one row's outcome (flagged rows are also created)."""
        self.processed += 1
        setattr(self, report.status, getattr(self, report.status) + 1)
        if report.status == "flagged":
            self.created += 1


def validation_reasons(error: ValidationError) -> list[str]:
    reasons = []

    def walk(messages, path):
        if isinstance(messages, dict):
            for key, value in messages.items():
                walk(value, [*path, str(key)])
        elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
            reasons.append(f"{'.'.join(path)}: {' '.join(messages)}")
        elif isinstance(messages, list):
            for index, value in enumerate(messages):
                walk(value, [*path, str(index)])
        else:
            reasons.append(f"{'.'.join(path)}: {messages}")

    walk(error.messages, [])
    return reasons


def _field_errors(errors: list) -> list[str]:
    return [f"{e.get('field')}: {' '.join(map(str, e.get('messages', [])))}" for e in errors]


class SpecimenImporter:
    """Imports the rows of one source with one identity (the depositor's)."""

    def __init__(self, identity, *, community: str | None = None, dry_run: bool = False):
        """Import as `identity`; into `community` (id or slug) when given."""
        self.identity = identity
        self.community = community
        self.dry_run = dry_run
        self.service = current_rdm_records_service
        self.publisher = current_app.config.get("APP_RDM_DEPOSIT_FORM_DEFAULTS", {}).get(
            "publisher", "Specimen RDM"
        )

    def rows(
        self,
        path: Path,
        counts: ImportCounts,
        on_row: Callable[[RowReport], None] | None = None,
        *,
        media_beside_csv: bool = True,
    ) -> Iterator[RowReport]:
        """Open the source at `path` (setting `counts.total`); an iterator importing its rows.

        Raises ArchiveError at once when the source is structurally broken. Extension rows that
        belong to no core row (empty or unknown core id) are reported after the core rows.
        `media_beside_csv` lets a plain CSV name image files in its own folder (the CLI); uploads
        turn it off.
        """
        source = open_source(
            Path(path),
            max_uncompressed_bytes=current_app.config["SPECIMEN_IMPORT_MAX_UNCOMPRESSED_BYTES"],
            media_beside_csv=media_beside_csv,
        )
        counts.total = source.row_count()
        return self._import_rows(source, counts, on_row)

    def _import_rows(self, source, counts, on_row) -> Iterator[RowReport]:
        with source:
            for row in source:
                report = self.import_row(row)
                # Every row's work is committed; without this the session's identity map grows
                # with each row and SQLAlchemy-Continuum's flush checks slow down quadratically.
                db.session.expunge_all()
                counts.add(report)
                if on_row:
                    on_row(report)
                yield report
            for error in source.errors:
                counts.orphan_extension_rows += 1
                yield RowReport(
                    file=error.file,
                    row=error.row_number,
                    core_id=None,
                    status="rejected",
                    reasons=[f"{error.field + ': ' if error.field else ''}{error.reason}"],
                )

    def import_row(self, row: CoreRow) -> RowReport:
        """Validate, create and publish one row; never leaves a draft behind."""
        report = RowReport(file=row.file, row=row.row_number, core_id=row.core_id, status="")
        if row.errors:
            report.status = "rejected"
            report.reasons = [f"{e.field + ': ' if e.field else ''}{e.reason}" for e in row.errors]
            return report
        try:
            if self.dry_run:
                return self._check_only(row, report)
            return self._publish(row, report)
        except ValidationError as error:
            db.session.rollback()
            report.status, report.reasons = "rejected", validation_reasons(error)
        except DuplicateSpecimenError as error:
            db.session.rollback()
            report.status = "duplicate"
            report.existing_record_id = error.record_id
            report.reasons = [str(error)]
        except PermissionDeniedError:
            db.session.rollback()
            report.status, report.reasons = "rejected", ["permission denied"]
        return report

    def _check_only(self, row: CoreRow, report: RowReport) -> RowReport:
        data, _ = record_from_row(
            row.values,
            with_files=False,
            publisher=self.publisher,
            media_links=_media_links(row),
        )
        custom_fields = data["custom_fields"]
        self.service.schema.load(data, context={"identity": self.identity}, raise_errors=True)
        quality = quality_of(custom_fields)
        duplicate = find_by_terms(custom_fields)
        if duplicate:
            raise DuplicateSpecimenError(duplicate)
        report.flags = quality["flags"]
        report.status = "flagged" if report.flags else "created"
        return report

    def _publish(self, row: CoreRow, report: RowReport) -> RowReport:
        images = [m.local_path for m in row.media if m.local_path is not None]
        data, ignored = record_from_row(
            row.values,
            with_files=bool(images),
            publisher=self.publisher,
            media_links=_media_links(row),
        )
        draft = self.service.create(self.identity, data)
        if draft.errors:
            self._discard(draft.id)
            report.status, report.reasons = "rejected", _field_errors(draft.errors)
            return report
        try:
            self._upload(draft.id, images)
            record = self.service.publish(self.identity, draft.id)
        except Exception:
            db.session.rollback()
            self._discard(draft.id)
            raise
        quality = record.data.get("custom_fields", {}).get(QUALITY_FIELD, {})
        report.record_id = record.id
        report.flags = quality.get("flags", [])
        report.status = "flagged" if report.flags else "created"
        if ignored:
            report.reasons = [f"terms not stored: {', '.join(ignored)}"]
        if self.community:
            report.reasons += self._include(record.id)
        return report

    def _upload(self, draft_id: str, images: list[Path]) -> None:
        files = self.service.draft_files
        keys = [{"key": path.name} for path in images]
        if not keys:
            return
        files.init_files(self.identity, draft_id, keys)
        for path in images:
            with path.open("rb") as stream:
                files.set_file_content(self.identity, draft_id, path.name, stream)
            files.commit_file(self.identity, draft_id, path.name)

    def _discard(self, draft_id: str) -> None:
        try:
            self.service.delete_draft(self.identity, draft_id)
        except Exception:  # the draft may not exist after a rollback
            db.session.rollback()
            log.debug("draft %s was already gone", draft_id)

    def _include(self, record_id: str) -> list[str]:
        return include_in_community(self.identity, record_id, self.community)


def include_in_community(identity, record_id: str, community: str, uow=None) -> list[str]:
    """Add a published record to a community (id or slug); reasons it could not be, if any."""
    from invenio_rdm_records.proxies import current_record_communities_service

    processed, errors = current_record_communities_service.add(
        identity, record_id, {"communities": [{"id": community}]}, uow=uow
    )
    reasons = [f"community {e['community_id']}: {e['message']}" for e in errors]
    # A community that reviews submissions leaves the inclusion request open.
    reasons += [
        f"community {p['community_id']}: inclusion request {p['request_id']} awaits review"
        for p in processed
        if p.get("request", {}).get("status") != "accepted"
    ]
    return reasons


def _media_links(row: CoreRow) -> list[str]:
    """The row's multimedia links that are not files in the archive."""
    links = []
    for media in row.media:
        if media.local_path is not None:
            continue
        link = media.values.get("ac:accessURI") or media.values.get("dcterms:identifier")
        if link and link.lower().startswith(("http://", "https://")):
            links.append(link)
    return links


def depositor_identity(user):
    """The identity a user's import runs with: the user, logged in (so also "any user": public
    records are readable), with community roles.

    The roles are read from the database, not from InvenioRDM's identity cache: a community
    created just before the upload may not have reached that cache yet (a Celery task clears it).
    """
    identity = get_identity(user)
    identity.provides.add(any_user)
    identity.provides.add(authenticated_user)
    members = current_communities.service.members.config.record_cls
    for community_id, role in members.get_memberships(identity):
        identity.provides.add(CommunityRoleNeed(community_id, role))
    return identity
