"""The local journal: what this client sent, what the server confirmed, in one SQLite file.

Written before and after every step (batch submitted, file uploaded, outcome reconciled), so
that a client killed at any moment starts again where it stopped: batches keep their
Idempotency-Key (a resubmission returns the same job), uploaded files are not sent again, and
the server's reconciliation list, not the journal, decides what was published.
"""

import json
import sqlite3
import threading
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    key TEXT PRIMARY KEY, line INTEGER, batch INTEGER, data TEXT,
    state TEXT NOT NULL DEFAULT 'new', record_id TEXT, doi TEXT, reasons TEXT,
    existing INTEGER NOT NULL DEFAULT 0, conflict INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS files (
    sha256 TEXT PRIMARY KEY, size INTEGER NOT NULL, source TEXT NOT NULL,
    uploaded INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS hashes (
    source TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime REAL NOT NULL, sha256 TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS batches (
    batch INTEGER PRIMARY KEY, token TEXT NOT NULL, job_id TEXT,
    state TEXT NOT NULL DEFAULT 'new');
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class Journal:
    """A thread-safe handle on the journal file."""

    def __init__(self, path: Path):
        """Open (or create) the journal at `path`."""
        self.path = Path(path)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        """Close the file."""
        self._db.close()

    def _execute(self, sql: str, params=()):
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def _executemany(self, sql: str, rows) -> None:
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany(sql, rows)
            self._db.execute("COMMIT")

    # --- hashes of local files -------------------------------------------------------------
    def cached_hash(self, source: str, size: int, mtime: float) -> str | None:
        """The SHA-256 computed earlier for this file, if it did not change since."""
        rows = self._execute(
            "SELECT sha256 FROM hashes WHERE source=? AND size=? AND mtime=?",
            (source, size, mtime),
        )
        return rows[0][0] if rows else None

    def remember_hash(self, source: str, size: int, mtime: float, sha256: str) -> None:
        """Keep a file's SHA-256 for the next run."""
        self._execute(
            "INSERT OR REPLACE INTO hashes VALUES (?, ?, ?, ?)", (source, size, mtime, sha256)
        )

    # --- records and batches ---------------------------------------------------------------
    def add_records(self, rows: list[tuple[str, int, int, dict]]) -> None:
        """Add records not seen before: (key, line, batch, submitted line)."""
        self._executemany(
            "INSERT OR IGNORE INTO records (key, line, batch, data) VALUES (?, ?, ?, ?)",
            [(key, line, batch, json.dumps(data)) for key, line, batch, data in rows],
        )

    def add_files(self, rows: list[tuple[str, int, str]]) -> None:
        """Add files to upload: (sha256, size, source)."""
        self._executemany(
            "INSERT OR IGNORE INTO files (sha256, size, source) VALUES (?, ?, ?)", rows
        )

    def batch_lines(self, batch: int) -> list[dict]:
        """The JSON lines of a batch, in source order."""
        rows = self._execute("SELECT data FROM records WHERE batch=? ORDER BY line", (batch,))
        return [json.loads(data) for (data,) in rows]

    def batch_numbers(self) -> list[int]:
        """Every batch, in order."""
        return [b for (b,) in self._execute("SELECT DISTINCT batch FROM records ORDER BY batch")]

    def batch(self, batch: int, token_factory) -> dict:
        """A batch's token, job id and state (created with a new token the first time)."""
        self._execute(
            "INSERT OR IGNORE INTO batches (batch, token) VALUES (?, ?)", (batch, token_factory())
        )
        token, job_id, state = self._execute(
            "SELECT token, job_id, state FROM batches WHERE batch=?", (batch,)
        )[0]
        return {"batch": batch, "token": token, "job_id": job_id, "state": state}

    def set_batch(self, batch: int, **values) -> None:
        """Update a batch's job id / state."""
        for name, value in values.items():
            assert name in ("job_id", "state")
            self._execute(f"UPDATE batches SET {name}=? WHERE batch=?", (value, batch))

    def batch_files(self, batch: int) -> list[tuple[str, int, str, bool]]:
        """(sha256, size, source, uploaded) of the files a batch names."""
        rows = self._execute("SELECT data FROM records WHERE batch=?", (batch,))
        digests = {f["sha256"] for (data,) in rows for f in json.loads(data).get("files", [])}
        files = []
        for sha256 in sorted(digests):
            size, source, uploaded = self._execute(
                "SELECT size, source, uploaded FROM files WHERE sha256=?", (sha256,)
            )[0]
            files.append((sha256, size, source, bool(uploaded)))
        return files

    def file_uploaded(self, sha256: str) -> None:
        """The server confirmed this file complete."""
        self._execute("UPDATE files SET uploaded=1 WHERE sha256=?", (sha256,))

    def record_outcomes(self, outcomes: list[dict]) -> None:
        """Store the server's outcomes (reconciliation rows)."""
        self._executemany(
            "UPDATE records SET state=?, record_id=?, doi=?, reasons=?, existing=?, conflict=? "
            "WHERE key=?",
            [
                (
                    o["state"],
                    o.get("record_id"),
                    o.get("doi"),
                    json.dumps(o.get("reasons") or []),
                    int(bool(o.get("existing"))),
                    int(bool(o.get("conflict"))),
                    o["key"],
                )
                for o in outcomes
            ],
        )

    def outcomes(self) -> list[dict]:
        """Every record with its last known outcome, in source order."""
        rows = self._execute(
            "SELECT key, line, batch, state, record_id, doi, reasons, existing, conflict "
            "FROM records ORDER BY batch, line"
        )
        names = ("key", "line", "batch", "state", "record_id", "doi", "reasons", "existing")
        return [
            {
                **dict(zip(names, row[:8], strict=True)),
                "reasons": json.loads(row[6] or "[]"),
                "existing": bool(row[7]),
                "conflict": bool(row[8]),
            }
            for row in rows
        ]

    # --- counters --------------------------------------------------------------------------
    def count(self, name: str, by: int = 1) -> None:
        """Add to a counter (retries by cause, bytes sent)."""
        self._execute(
            "INSERT INTO counters VALUES (?, ?) "
            "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
            (name, by),
        )

    def counters(self) -> dict[str, int]:
        """Every counter."""
        return dict(self._execute("SELECT name, value FROM counters"))
