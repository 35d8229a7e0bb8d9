"""The upload: batches submitted, files sent in parts, outcomes reconciled.

Order of work, each step recorded in the journal before the next:
1. read the source and hash its images (hashes cached in the journal);
2. per batch: submit the JSON lines with the batch's Idempotency-Key, upload the files the
   server does not have yet (only the parts it lacks), close the job;
3. wait for every job to finish, then take each job's reconciliation list as the outcome.
"""

import csv
import hashlib
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from .api import ApiError, BulkApi, describe
from .journal import Journal
from .progress import Progress
from .sources import LocalFile, SourceRecord

REPORT_COLUMNS = ("key", "line", "state", "record_id", "doi", "existing", "conflict", "reasons")
FINAL_JOB_STATES = ("finished", "cancelled")
RECORDS_POLL_INTERVAL = 5.0
"""Seconds between two looks at the jobs' counts while files are uploaded."""


@dataclass
class Settings:
    """What the command line chose."""

    batch_size: int = 10_000
    concurrency: int = 4
    part_size: int = 8 * 1024 * 1024
    files_per_request: int = 8
    """Small files (up to the part size) sent together in one request; 1: one per request."""
    community: str | None = None
    poll_interval: float = 2.0


@dataclass
class Report:
    """The final tally, from the server's reconciliation lists."""

    outcomes: list[dict]
    counters: dict[str, int] = field(default_factory=dict)

    def by_state(self) -> dict[str, int]:
        """Records per final state."""
        totals: dict[str, int] = {}
        for outcome in self.outcomes:
            totals[outcome["state"]] = totals.get(outcome["state"], 0) + 1
        return totals

    def text(self) -> str:
        """The report for people."""
        states = self.by_state()
        lines = [
            f"records: {len(self.outcomes)}",
            *(f"  {state}: {count}" for state, count in sorted(states.items())),
        ]
        existing = sum(1 for o in self.outcomes if o["existing"])
        conflicts = sum(1 for o in self.outcomes if o["conflict"])
        if existing:
            lines.append(f"  of these, submitted before (not created again): {existing}")
        if conflicts:
            lines.append(f"  submitted before with different data (not changed): {conflicts}")
        retries = {k[6:]: v for k, v in self.counters.items() if k.startswith("retry:")}
        lines.append(
            "retried requests: "
            + (", ".join(f"{cause} {n}" for cause, n in sorted(retries.items())) or "none")
        )
        if self.counters.get("files_resent"):
            lines.append(
                f"files sent again after a checksum mismatch: {self.counters['files_resent']}"
            )
        rejected = [o for o in self.outcomes if o["state"] in ("rejected", "duplicate")]
        for outcome in rejected[:50]:
            lines.append(f"  {outcome['state']} {outcome['key']}: {'; '.join(outcome['reasons'])}")
        if len(rejected) > 50:
            lines.append(f"  ... {len(rejected) - 50} more in the CSV report")
        return "\n".join(lines)

    def write_csv(self, path: Path) -> None:
        """One row per record."""
        with open(path, "w", newline="") as out:
            writer = csv.DictWriter(out, fieldnames=REPORT_COLUMNS, extrasaction="ignore")
            writer.writeheader()
            for outcome in self.outcomes:
                writer.writerow({**outcome, "reasons": " | ".join(outcome["reasons"])})


def file_digest(journal: Journal, local: LocalFile) -> str:
    """SHA-256 of a local file, from the journal's cache when the file did not change."""
    stat_path = local.path
    stat = os.stat(stat_path)
    cached = journal.cached_hash(local.source, local.size, stat.st_mtime)
    if cached:
        return cached
    digest = local.sha256()
    journal.remember_hash(local.source, local.size, stat.st_mtime, digest)
    return digest


def submitted_line(record: SourceRecord, digests: list[str]) -> dict:
    """The JSON line of a record."""
    return {
        "id": record.key,
        "dwc": record.dwc,
        "files": [
            {"key": local.key, "size": local.size, "sha256": digest}
            for local, digest in zip(record.files, digests, strict=True)
        ],
    }


class Uploader:
    """One run of the client against one instance and one journal."""

    def __init__(self, api: BulkApi, journal: Journal, settings: Settings):
        """Wire the parts together."""
        self.api = api
        self.journal = journal
        self.settings = settings
        self.sources: dict[str, LocalFile] = {}
        self._jobs: list[str] = []
        self._last_poll = time.monotonic()

    def prepare(self, records: list[SourceRecord]) -> None:
        """Hash the images and write the records and files into the journal (once)."""
        rows, files = [], []
        for index, record in enumerate(records):
            digests = [file_digest(self.journal, local) for local in record.files]
            for local, digest in zip(record.files, digests, strict=True):
                files.append((digest, local.size, local.source))
                self.sources[digest] = local
            batch = index // self.settings.batch_size
            rows.append((record.key, record.line, batch, submitted_line(record, digests)))
        self.journal.add_records(rows)
        self.journal.add_files(files)

    def run(self) -> Report:
        """Submit, upload, wait, reconcile; the report."""
        batches = self.journal.batch_numbers()
        all_files = [f for b in batches for f in self.journal.batch_files(b)]
        progress = Progress(len(self.journal.outcomes()), sum(size for _, size, _, _ in all_files))
        progress.bytes_done = sum(size for _, size, _, done in all_files if done)
        jobs = self._jobs = []
        for number in batches:
            batch = self.journal.batch(number, lambda: str(uuid.uuid4()))
            if batch["job_id"] is None:
                job = self.api.submit(
                    self.journal.batch_lines(number), batch["token"], self.settings.community
                )
                self.journal.set_batch(number, job_id=job["id"], state="submitted")
                batch["job_id"] = job["id"]
            jobs.append(batch["job_id"])
            if batch["state"] != "closed":
                self._upload_files(number, progress)
                self.api.close(batch["job_id"])
                self.journal.set_batch(number, state="closed")
        self._wait(jobs, progress)
        for job_id in jobs:
            self.journal.record_outcomes(self.api.outcomes(job_id))
        progress.finish()
        return Report(self.journal.outcomes(), self.journal.counters())

    def _upload_files(self, batch: int, progress: Progress) -> None:
        pending = [f for f in self.journal.batch_files(batch) if not f[3]]
        with ThreadPoolExecutor(self.settings.concurrency) as pool:
            futures = [pool.submit(self._upload_group, g, progress) for g in self._groups(pending)]
            for future in futures:
                future.result()
                self._poll_records(progress)

    def _groups(self, files: list) -> list[list]:
        """The files in upload requests: small ones together (up to `files_per_request` and
        the part size in bytes per request), each larger one alone."""
        groups, group, group_bytes = [], [], 0
        limit = self.settings.files_per_request
        for file_row in files:
            size = file_row[1]
            if limit <= 1 or size > self.settings.part_size:
                groups.append([file_row])
                continue
            if group and (len(group) == limit or group_bytes + size > self.settings.part_size):
                groups.append(group)
                group, group_bytes = [], 0
            group.append(file_row)
            group_bytes += size
        if group:
            groups.append(group)
        return groups

    def _upload_group(self, group: list, progress: Progress) -> None:
        if len(group) == 1:
            self._upload_one(group[0], progress)
            return
        response = self.api.put_files(
            [
                (sha256, self._local(sha256, size, source).read(0, size))
                for sha256, size, source, _ in group
            ]
        )
        if response.status_code in (401, 403):
            raise ApiError(f"{len(group)} files: {describe(response)}", response.status_code)
        outcomes = {}
        if response.status_code == 200:
            outcomes = {f["sha256"]: f for f in (response.json() or {}).get("files", [])}
        for file_row in group:
            sha256, size = file_row[0], file_row[1]
            if outcomes.get(sha256, {}).get("complete"):
                progress.add_bytes(size)
                self.journal.file_uploaded(sha256)
            else:  # refused in the group (or a server without group uploads): on its own
                self._upload_one(file_row, progress)

    def _poll_records(self, progress: Progress) -> None:
        """While files go up, ask the jobs now and then how many records are done."""
        now = time.monotonic()
        if now - self._last_poll < RECORDS_POLL_INTERVAL:
            return
        self._last_poll = now
        states = [self.api.job(job_id) for job_id in self._jobs]
        progress.set_records(sum(s["counts"]["total"] - s["counts"]["pending"] for s in states))

    def _local(self, sha256: str, size: int, source: str) -> LocalFile:
        if sha256 in self.sources:
            return self.sources[sha256]
        path, _, member = source.partition("!")
        return LocalFile(Path(source).name, path, member or None, size)

    def _upload_one(self, file_row, progress: Progress) -> None:
        sha256, size, source, _ = file_row
        local = self._local(sha256, size, source)
        if size <= self.settings.part_size:
            response = self.api.put_file(sha256, local.read(0, size))
            if response.status_code == 200:
                progress.add_bytes(size)
                self.journal.file_uploaded(sha256)
                return
            if response.status_code not in (409, 422):
                raise ApiError(f"{local.source}: {describe(response)}", response.status_code)
            if response.status_code == 422:
                self.journal.count("files_resent")
        for attempt in range(3):
            state = self.api.declare(sha256, size, self.settings.part_size)
            if not state["complete"]:
                self._send_parts(local, state, progress)
                response = self.api.complete(sha256)
                if response.status_code == 422 and attempt < 2:
                    self.journal.count("files_resent")
                    continue  # the parts did not join to the declared file: send them again
                if response.status_code != 200:
                    raise ApiError(f"{local.source}: {describe(response)}", response.status_code)
            else:
                progress.add_bytes(size)
            self.journal.file_uploaded(sha256)
            return

    def _send_parts(self, local: LocalFile, state: dict, progress: Progress) -> None:
        received = set(state["parts_received"])
        part_size = state["part_size"]
        already = sum(min(part_size, state["size"] - (n - 1) * part_size) for n in received)
        progress.add_bytes(already)
        for number in range(1, state["parts_total"] + 1):
            if number in received:
                continue
            data = local.read((number - 1) * part_size, part_size)
            self.api.put_part(state["sha256"], number, data, hashlib.sha256(data).hexdigest())
            progress.add_bytes(len(data))

    def _wait(self, jobs: list[str], progress: Progress) -> None:
        while True:
            states = [self.api.job(job_id) for job_id in jobs]
            done = sum(s["counts"]["total"] - s["counts"]["pending"] for s in states)
            progress.set_records(done)
            if all(s["state"] in FINAL_JOB_STATES for s in states):
                return
            time.sleep(self.settings.poll_interval)
