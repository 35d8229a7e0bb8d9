"""HTTP to the bulk API, with retries that never lose or duplicate anything.

Every request this client makes is safe to repeat (job submissions carry an Idempotency-Key,
parts and completions are idempotent on the server), so connection resets, timeouts, 5xx
answers and 429s are retried: 429 after the server's Retry-After, the others with exponential
backoff and jitter. Other 4xx answers are errors of the input and are raised at once.
"""

import random
import threading
import time
from collections.abc import Callable

import requests

RETRY_STATUSES = {500, 502, 503, 504}


class ApiError(Exception):
    """The server refused a request (4xx) or kept failing; `body` is its JSON answer."""

    def __init__(self, message: str, status: int | None = None, body=None):
        """Keep the status and body."""
        super().__init__(message)
        self.status = status
        self.body = body


def describe(response: requests.Response) -> str:
    """The server's message and field errors, for people."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}: {response.text[:300]}"
    message = body.get("message", "") if isinstance(body, dict) else str(body)
    errors = body.get("errors", []) if isinstance(body, dict) else []
    details = [
        f"{'line ' + str(e['line']) + ' ' if 'line' in e else ''}{e.get('field', '')}: "
        f"{' '.join(e.get('messages', []))}"
        for e in errors[:20]
    ]
    return "\n  ".join([f"HTTP {response.status_code}: {message}", *details])


class BulkApi:
    """A client of one instance's `/api/bulk` endpoints."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        max_retries: int = 12,
        backoff: float = 1.0,
        max_backoff: float = 60.0,
        timeout: float = 120.0,
        on_retry: Callable[[str], None] | None = None,
        verify: bool = True,
    ):
        """`url`: the instance (https://host); `on_retry(cause)` is told about every retry."""
        self.base = url.rstrip("/") + "/api/bulk"
        self.token = token
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.timeout = timeout
        self.on_retry = on_retry or (lambda cause: None)
        self.verify = verify
        self._local = threading.local()

    def _session(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {self.token}"
            session.headers["User-Agent"] = "specimen-upload/0.1"
            self._local.session = session
        return self._local.session

    def _wait(self, attempt: int) -> float:
        delay = min(self.max_backoff, self.backoff * 2**attempt)
        return delay * (0.5 + random.random() / 2)

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        """Send a request, retrying what can be retried; the final response (2xx or 4xx)."""
        attempt, throttled = 0, 0
        kwargs.setdefault("timeout", (10, self.timeout))
        while True:
            try:
                response = self._session().request(
                    method, self.base + path, verify=self.verify, **kwargs
                )
            except (requests.ConnectionError, requests.Timeout) as error:
                cause = "timeout" if isinstance(error, requests.Timeout) else "connection"
                response = None
            else:
                if response.status_code == 429:
                    throttled += 1
                    self.on_retry("429")
                    if throttled > 10 * self.max_retries:
                        raise ApiError(describe(response), 429, _json(response))
                    time.sleep(_retry_after(response, self._wait(min(throttled, 5))))
                    continue
                if response.status_code not in RETRY_STATUSES:
                    return response
                cause = str(response.status_code)
            if attempt >= self.max_retries:
                detail = describe(response) if response is not None else cause
                raise ApiError(f"{method} {path}: gave up after {attempt} retries ({detail})")
            self.on_retry(cause)
            time.sleep(self._wait(attempt))
            attempt += 1

    def json(self, method: str, path: str, expect=(200, 201, 202), **kwargs):
        """Send a request; its JSON body, or ApiError for an unexpected status."""
        response = self.request(method, path, **kwargs)
        if response.status_code not in expect:
            raise ApiError(describe(response), response.status_code, _json(response))
        return response.json()

    # --- endpoints -------------------------------------------------------------------------
    def submit(self, lines: list[dict], token: str, community: str | None = None) -> dict:
        """Submit a batch (idempotent by `token`); the job."""
        return self.json(
            "POST",
            "/jobs",
            data=_json_lines(lines),
            params={"community": community} if community else None,
            headers={"Content-Type": "application/x-ndjson", "Idempotency-Key": token},
        )

    def dry_run(self, lines: list[dict], community: str | None = None) -> dict:
        """The server's verdict on a batch; nothing is created."""
        params = {"dry_run": "true", **({"community": community} if community else {})}
        return self.json(
            "POST",
            "/jobs",
            data=_json_lines(lines),
            params=params,
            headers={"Content-Type": "application/x-ndjson"},
        )

    def job(self, job_id: str) -> dict:
        """State and counts of a job."""
        return self.json("GET", f"/jobs/{job_id}")

    def close(self, job_id: str) -> dict:
        """Tell the server every file of the job was sent."""
        return self.json("POST", f"/jobs/{job_id}/close")

    def outcomes(self, job_id: str) -> list[dict]:
        """Every key of a job with its outcome (the server's reconciliation list)."""
        return self.json("GET", f"/jobs/{job_id}/records", params={"format": "json"})["records"]

    def declare(self, sha256: str, size: int, part_size: int | None = None) -> dict:
        """Declare an upload; which parts the server has."""
        body = {"sha256": sha256, "size": size}
        if part_size:
            body["part_size"] = part_size
        return self.json("POST", "/files", json=body)

    def put_file(self, sha256: str, data: bytes) -> requests.Response:
        """Send a small file in one request (the caller handles 409: send it in parts)."""
        return self.request(
            "PUT",
            f"/files/{sha256}",
            data=data,
            headers={"Content-Type": "application/octet-stream"},
        )

    def put_files(self, files: list[tuple[str, bytes]]) -> requests.Response:
        """Send several small files `(sha256, bytes)` in one request, as a tar stream whose
        members are named by their SHA-256 (the caller reads each file's outcome)."""
        return self.request(
            "POST",
            "/files",
            data=_tar(files),
            headers={"Content-Type": "application/x-tar"},
        )

    def put_part(self, sha256: str, number: int, data: bytes, part_sha256: str) -> dict:
        """Send one part."""
        return self.json(
            "PUT",
            f"/files/{sha256}/parts/{number}",
            data=data,
            headers={"X-Part-SHA256": part_sha256, "Content-Type": "application/octet-stream"},
        )

    def complete(self, sha256: str) -> requests.Response:
        """Ask the server to join and verify the parts (the caller handles 422)."""
        return self.request("POST", f"/files/{sha256}/complete")


def _json(response: requests.Response):
    try:
        return response.json()
    except ValueError:
        return None


def _retry_after(response: requests.Response, default: float) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", default)))
    except ValueError:
        return default


def _tar(files: list[tuple[str, bytes]]) -> bytes:
    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _json_lines(lines: list[dict]) -> bytes:
    import json

    return "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode()
