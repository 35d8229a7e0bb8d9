"""A local stand-in for the DataCite REST API, for end-to-end tests.

InvenioRDM registers DOIs through ``datacite.DataCiteRESTClient``, which talks
JSON:API to ``https://api.datacite.org/``. Tests must not depend on the internet
or on DataCite test credentials, yet they should notice when the metadata we
send would be rejected. ``DataCiteTestServer`` answers every request that client
sends (``POST /dois``, ``PUT/GET/DELETE /dois/<prefix>/<suffix>``) the way
DataCite does:

* HTTP Basic auth with the configured account (401 otherwise);
* DOIs must lie under the configured prefix (422 otherwise);
* the ``event`` attribute drives DataCite's state machine
  (draft -> registered/findable, findable -> registered on ``hide``);
* whenever a DOI ends up registered or findable, its metadata is validated
  with the DataCite Metadata Schema 4.5 JSON validator shipped with the
  ``datacite`` package, and a landing page ``url`` is required; invalid
  metadata is answered with 422 and ``{"errors": [{"source", "title"}]}``,
  the body InvenioRDM's DataCite provider logs;
* only draft DOIs can be deleted (204; 405 otherwise);
* a PUT to an unknown DOI creates it and answers 201, as DataCite does
  (``DataCiteRESTClient.put_doi`` then raises, as it would in production).

Every request is recorded (``server.requests``) and the current state of every
DOI is kept (``server.dois``) so tests can assert on what was registered.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hmac
import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import unquote, urlsplit

from datacite.schema45 import validator as schema45_validator

__all__ = ["DataCiteTestServer", "RecordedRequest"]

DRAFT = "draft"
REGISTERED = "registered"
FINDABLE = "findable"

# DataCite's state machine (lupo's ``aasm whiny_transitions: false``): an event
# that is not allowed in the current state leaves the state unchanged.
TRANSITIONS: dict[str, dict[str, str]] = {
    "register": {DRAFT: REGISTERED},
    "publish": {DRAFT: FINDABLE, REGISTERED: FINDABLE},
    "hide": {FINDABLE: REGISTERED},
}

# Attributes handled by the REST layer rather than the metadata schema: the
# identifier parts, the state-machine event, the landing page and read-only
# fields DataCite adds to its responses. They are checked by the server itself
# and stripped before the metadata is validated against the 4.5 JSON schema.
REST_ONLY_KEYS = frozenset({"doi", "prefix", "suffix", "event", "url"})
READ_ONLY_KEYS = frozenset({"state", "isActive"})

URL_PATTERN = re.compile(r"\A(ftp|http|https)://\S+\Z")
DOI_PATH = re.compile(r"\A/dois/(?P<doi>.+?)/?\Z")
SUFFIX_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, as DataCite


@dataclass
class RecordedRequest:
    """One request the server received and what it answered.

    ``attributes`` are the JSON:API attributes exactly as sent (None when the
    request had no body or was not authenticated); ``valid`` is None when the
    metadata was not validated (draft DOIs, GET, DELETE, rejected requests).
    """

    method: str
    path: str
    doi: str | None = None
    event: str | None = None
    attributes: dict[str, Any] | None = None
    valid: bool | None = None
    errors: list[str] = field(default_factory=list)
    status: int = 0


class _Reply(Exception):
    """Raised while handling a request to answer with an error status."""

    def __init__(self, status: int, errors: list[dict[str, Any]]) -> None:
        super().__init__(status, errors)
        self.status = status
        self.errors = errors


def _error(status: int, title: str, source: str | None = None) -> _Reply:
    """Build a DataCite-style error reply with a single error."""
    error: dict[str, Any] = {"status": str(status), "title": title}
    if source is not None:
        error["source"] = source
    return _Reply(status, [error])


def _json_path(parts: list[Any]) -> str:
    """Format a jsonschema error path as ``creators[0].name``."""
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def validate_metadata(attributes: dict[str, Any]) -> list[dict[str, str]]:
    """Validate DOI attributes against DataCite Metadata Schema 4.5 (JSON form).

    REST-only and read-only keys are stripped first; what remains must satisfy
    ``datacite/schemas/datacite-v4.5.json`` (which requires creators, titles,
    publisher, publicationYear, types and schemaVersion and allows no other
    top-level keys). Returns DataCite-style errors ``{"source", "title"}``,
    empty when the metadata is valid.
    """
    metadata = {
        key: value
        for key, value in attributes.items()
        if key not in REST_ONLY_KEYS | READ_ONLY_KEYS
    }
    errors: dict[tuple[str, str], None] = {}
    found = sorted(
        schema45_validator.iter_errors(metadata),
        key=lambda e: ([str(p) for p in e.absolute_path], e.message),
    )
    for error in found:
        path = list(error.absolute_path)
        if error.validator == "required":
            for name in error.validator_value:
                if isinstance(error.instance, dict) and name not in error.instance:
                    errors[(_json_path([*path, name]), f"{name!r} is a required property")] = None
        else:
            errors[(_json_path(path) or "attributes", error.message)] = None
    return [{"source": source, "title": title} for source, title in errors]


class DataCiteTestServer:
    """A threaded local HTTP server speaking the DataCite REST API.

    Use it as a context manager, or call ``start()``/``stop()``. Point
    ``datacite.DataCiteRESTClient(..., url=server.url)`` at it.

    Attributes:
        username, password: the account accepted via HTTP Basic auth.
        prefix: the DOI prefix this account may register (e.g. ``10.5072``).
        requests: snapshot list of ``RecordedRequest``, oldest first.
        dois: snapshot dict DOI -> current attributes (with ``state``).
    """

    def __init__(
        self,
        username: str,
        password: str,
        prefix: str,
        port: int = 0,
        host: str = "127.0.0.1",
    ) -> None:
        """Configure the server; nothing is bound until ``start()``."""
        self.username = username
        self.password = password
        self.prefix = prefix.lower()
        self.host = host
        self.port = port
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._dois: dict[str, dict[str, Any]] = {}
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> Self:
        """Bind the socket and serve requests in a daemon thread."""
        if self._httpd is not None:
            return self
        self._httpd = _HTTPServer((self.host, self.port), _Handler, self)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"datacite-test-server:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the socket."""
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> Self:
        """Start the server."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the server."""
        self.stop()

    @property
    def url(self) -> str:
        """Base URL of the API, with a trailing slash (``http://127.0.0.1:PORT/``)."""
        if self._httpd is None:
            raise RuntimeError("DataCiteTestServer is not started")
        return f"http://{self.host}:{self.port}/"

    # -- inspection --------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """All requests received so far (a copy, safe to iterate)."""
        with self._lock:
            return list(self._requests)

    @property
    def dois(self) -> dict[str, dict[str, Any]]:
        """Current attributes of every known DOI, including ``state`` (a deep copy)."""
        with self._lock:
            return copy.deepcopy(self._dois)

    def reset(self) -> None:
        """Forget all recorded requests and DOIs."""
        with self._lock:
            self._requests.clear()
            self._dois.clear()

    # -- request handling ----------------------------------------------------

    def handle(
        self, method: str, raw_path: str, authorization: str | None, body: bytes
    ) -> tuple[int, dict[str, Any] | None]:
        """Answer one request; return (status, JSON body or None) and record it."""
        path = urlsplit(raw_path).path
        match = DOI_PATH.match(unquote(path))
        record = RecordedRequest(
            method=method, path=path, doi=match["doi"].lower() if match else None
        )
        with self._lock:
            try:
                if not self._authorized(authorization):
                    raise _error(401, "Bad credentials.")
                status, payload = self._dispatch(method, path, match, body, record)
            except _Reply as reply:
                status, payload = reply.status, {"errors": reply.errors}
                record.errors.extend(
                    f"{e['source']}: {e['title']}" if e.get("source") else e["title"]
                    for e in reply.errors
                )
            except Exception as exc:  # noqa: BLE001 - report, never crash the thread
                status = 500
                payload = {"errors": [{"status": "500", "title": repr(exc)}]}
                record.errors.append(repr(exc))
            record.status = status
            self._requests.append(record)
        return status, payload

    def _authorized(self, authorization: str | None) -> bool:
        """Check HTTP Basic credentials against the configured account."""
        if not authorization or not authorization.startswith("Basic "):
            return False
        try:
            decoded = base64.b64decode(authorization[6:], validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        username, _, password = decoded.partition(":")
        return hmac.compare_digest(username.encode(), self.username.encode()) & hmac.compare_digest(
            password.encode(), self.password.encode()
        )

    def _dispatch(
        self,
        method: str,
        path: str,
        match: re.Match[str] | None,
        body: bytes,
        record: RecordedRequest,
    ) -> tuple[int, dict[str, Any] | None]:
        """Route an authenticated request."""
        if path.rstrip("/") == "/dois":
            if method != "POST":
                raise _error(405, "Method not allowed")
            return self._save(None, self._attributes(body, record), record)
        if match is None:
            raise _error(404, "The resource you are looking for doesn't exist.")
        doi = match["doi"].lower()
        if method == "GET":
            return 200, self._document(self._existing(doi))
        if method == "PUT":
            return self._save(doi, self._attributes(body, record), record)
        if method == "DELETE":
            current = self._existing(doi)
            if current["state"] != DRAFT:
                raise _error(405, "Method not allowed")
            del self._dois[doi]
            return 204, None
        raise _error(405, "Method not allowed")

    def _existing(self, doi: str) -> dict[str, Any]:
        """Stored attributes of a DOI, or a 404 reply."""
        if doi not in self._dois:
            raise _error(404, "The resource you are looking for doesn't exist.")
        return self._dois[doi]

    @staticmethod
    def _attributes(body: bytes, record: RecordedRequest) -> dict[str, Any]:
        """Parse a JSON:API ``{"data": {"type": "dois", "attributes": {...}}}`` body."""
        try:
            document = json.loads(body or b"{}")
        except (ValueError, UnicodeDecodeError) as exc:
            raise _error(400, f"Invalid JSON: {exc}") from exc
        data = document.get("data") if isinstance(document, dict) else None
        if not isinstance(data, dict):
            raise _error(400, "Request body must contain a data object", "data")
        if data.get("type", "dois") != "dois":
            raise _error(400, "Type must be dois", "data.type")
        attributes = data.get("attributes") or {}
        if not isinstance(attributes, dict):
            raise _error(400, "Attributes must be an object", "data.attributes")
        record.attributes = copy.deepcopy(attributes)
        record.event = attributes.get("event")
        return attributes

    def _resolve_doi(self, path_doi: str | None, attributes: dict[str, Any]) -> str:
        """Work out the DOI from the path or attributes and check its prefix."""
        prefix = str(attributes.get("prefix") or self.prefix).lower()
        given = attributes.get("doi")
        if given:
            doi = str(given).lower()
            if path_doi is not None and doi != path_doi:
                raise _error(422, f"Does not match the DOI in the URL ({path_doi})", "doi")
        elif path_doi is not None:
            doi = path_doi
        elif attributes.get("suffix"):
            doi = f"{prefix}/{str(attributes['suffix']).lower()}"
        else:
            doi = self._new_doi(prefix)
        doi_prefix, slash, suffix = doi.partition("/")
        if prefix != self.prefix or doi_prefix != self.prefix:
            raise _error(
                422,
                f"Prefix {doi_prefix or prefix} is not assigned to this account",
                "doi",
            )
        if not slash or not suffix or re.search(r"\s", suffix):
            raise _error(422, "Is invalid", "doi")
        return doi

    def _new_doi(self, prefix: str) -> str:
        """Generate a random DOI under ``prefix`` (``xxxx-xxxx`` suffix, as DataCite)."""
        while True:
            chars = "".join(secrets.choice(SUFFIX_ALPHABET) for _ in range(8))
            doi = f"{prefix}/{chars[:4]}-{chars[4:]}"
            if doi not in self._dois:
                return doi

    def _save(
        self,
        path_doi: str | None,
        attributes: dict[str, Any],
        record: RecordedRequest,
    ) -> tuple[int, dict[str, Any]]:
        """Create (POST: path_doi None) or update/upsert (PUT) a DOI, as DataCite."""
        doi = self._resolve_doi(path_doi, attributes)
        record.doi = doi
        if path_doi is None and doi in self._dois:
            raise _error(422, "This DOI has already been taken", "doi")
        # As DataCite, a PUT to an unknown DOI creates it (and answers 201).
        creating = doi not in self._dois
        event = attributes.get("event")
        if event is not None and event not in TRANSITIONS:
            raise _error(422, f"Unknown event {event!r}", "event")

        current = self._dois.get(doi, {"state": DRAFT})
        merged = {
            **current,
            **{k: v for k, v in attributes.items() if k not in READ_ONLY_KEYS | {"event"}},
        }
        prefix, _, suffix = doi.partition("/")
        merged.update(doi=doi, prefix=prefix, suffix=suffix)
        merged["state"] = TRANSITIONS.get(event or "", {}).get(current["state"], current["state"])

        errors: list[dict[str, str]] = []
        url = merged.get("url")
        if url and not URL_PATTERN.match(str(url)):
            errors.append({"source": "url", "title": "Is invalid"})
        if merged["state"] in (REGISTERED, FINDABLE):
            if not url:
                errors.append({"source": "url", "title": "Can't be blank"})
            errors.extend(validate_metadata(merged))
            record.valid = not errors
        if errors:
            record.valid = False
            raise _Reply(422, [{"status": "422", **e} for e in errors])

        self._dois[doi] = merged
        return (201 if creating else 200), self._document(merged)

    @staticmethod
    def _document(attributes: dict[str, Any]) -> dict[str, Any]:
        """JSON:API document for a DOI, shaped like DataCite's responses."""
        attrs = copy.deepcopy(attributes)
        attrs.setdefault("url", None)
        attrs["isActive"] = attrs["state"] == FINDABLE
        relationships = {"media": {"data": []}}
        return {
            "data": {
                "id": attrs["doi"],
                "type": "dois",
                "attributes": attrs,
                "relationships": relationships,
            },
            # ``DataCiteRESTClient.get_media`` reads a top-level relationships key.
            "relationships": relationships,
        }


class _HTTPServer(ThreadingHTTPServer):
    """ThreadingHTTPServer that knows its DataCiteTestServer and stays quiet."""

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        app: DataCiteTestServer,
    ) -> None:
        self.app = app
        super().__init__(address, handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore connection errors (clients hanging up) instead of printing them."""


class _Handler(BaseHTTPRequestHandler):
    """Turns HTTP requests into ``DataCiteTestServer.handle`` calls."""

    server: _HTTPServer
    server_version = "DataCiteTestServer/1.0"

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status, payload = self.server.app.handle(
            self.command, self.path, self.headers.get("Authorization"), body
        )
        self.send_response(status, HTTPStatus(status).phrase)
        if payload is None:
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        data = json.dumps(payload).encode()
        self.send_header("Content-Type", "application/vnd.api+json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        if status == 401:
            self.send_header("WWW-Authenticate", 'Basic realm="DataCite"')
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Do not log requests to stderr."""
