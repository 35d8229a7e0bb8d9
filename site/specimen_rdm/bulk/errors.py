"""Errors of bulk deposit; the API turns each into a 4xx JSON body like InvenioRDM's."""


class BulkError(Exception):
    """A request that cannot be served; `errors` name the line and field of each problem."""

    status = 400

    def __init__(self, message: str, errors: list[dict] | None = None, status: int | None = None):
        """`errors`: `{"line": n, "field": "files.0.sha256", "messages": [reason]}` entries."""
        super().__init__(message)
        self.message = message
        self.errors = errors or []
        if status is not None:
            self.status = status

    def to_json(self) -> dict:
        """The response body."""
        body = {"status": self.status, "message": self.message}
        if self.errors:
            body["errors"] = self.errors
        return body


class NotFound(BulkError):
    """No such job or upload for this user."""

    status = 404


class Conflict(BulkError):
    """The request contradicts what the server already holds."""

    status = 409


class ChecksumMismatch(BulkError):
    """Received bytes do not match the checksum the client declared."""

    status = 422
