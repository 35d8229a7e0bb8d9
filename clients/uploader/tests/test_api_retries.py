"""Retries of the HTTP client against a local server that fails the way proxies do."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from specimen_upload.api import ApiError, BulkApi


class Script:
    """What the server answers, request after request."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.seen = []


def serve(script: Script):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _answer(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            script.seen.append((self.command, self.path, dict(self.headers), body))
            answer = script.answers.pop(0) if script.answers else (200, {}, {"ok": True})
            if answer == "drop":
                self.close_connection = True
                self.connection.shutdown(2)
                return
            status, headers, payload = answer
            data = json.dumps(payload).encode()
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = _answer

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def make_api():
    servers = []

    def factory(answers, **kwargs):
        script = Script(answers)
        server = serve(script)
        servers.append(server)
        causes = []
        api = BulkApi(
            f"http://127.0.0.1:{server.server_port}",
            "secret",
            backoff=0.01,
            on_retry=causes.append,
            **kwargs,
        )
        return api, script, causes

    yield factory
    for server in servers:
        server.shutdown()


def test_retries_5xx_drops_and_429_then_succeeds(make_api):
    answers = [
        (502, {}, {"message": "bad gateway"}),
        "drop",
        (429, {"Retry-After": "0"}, {"message": "slow down"}),
        (504, {}, {}),
        (202, {}, {"id": "job-1", "state": "open"}),
    ]
    api, script, causes = make_api(answers)
    job = api.submit([{"id": "k1", "dwc": {"catalogNumber": "1"}}], token="tok-1")
    assert job["id"] == "job-1"
    assert causes == ["502", "connection", "429", "504"]
    assert len(script.seen) == 5
    # Every attempt carried the same Idempotency-Key and the same body.
    assert {seen[2]["Idempotency-Key"] for seen in script.seen if seen[2]} == {"tok-1"}
    assert {seen[3] for seen in script.seen} == {b'{"id": "k1", "dwc": {"catalogNumber": "1"}}\n'}
    assert script.seen[0][2]["Authorization"] == "Bearer secret"


def test_client_errors_are_not_retried(make_api):
    body = {"message": "The batch has 1 problem(s)", "errors": [
        {"line": 2, "field": "files.0.sha256", "messages": ["must be 64 hex digits"]}]}  # fmt: skip
    api, script, causes = make_api([(400, {}, body)])
    with pytest.raises(ApiError) as error:
        api.submit([{"id": "k"}], token="t")
    assert error.value.status == 400
    assert "line 2 files.0.sha256: must be 64 hex digits" in str(error.value)
    assert causes == [] and len(script.seen) == 1


def test_gives_up_after_max_retries(make_api):
    api, script, causes = make_api([(503, {}, {})] * 10, max_retries=3)
    with pytest.raises(ApiError, match="gave up after 3 retries"):
        api.job("job-1")
    assert len(script.seen) == 4
