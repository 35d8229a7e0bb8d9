"""End-to-end fixtures: one live instance (web server + Celery worker) per test session."""

from pathlib import Path

import pytest

from datacite_server import DataCiteTestServer
from deposit import Api
from live_instance import ROOT, LiveInstance

DATACITE_PREFIX = "10.80000"
OAI_PAGE_SIZE = 3
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="session")
def datacite():
    """A DataCite REST API test server that validates and records every request."""
    with DataCiteTestServer("SPECIMEN.TEST", "datacite-secret", DATACITE_PREFIX) as server:
        yield server


@pytest.fixture(scope="session")
def live(datacite):
    """The running test instance, registering DOIs with the DataCite test server."""
    instance = LiveInstance(
        extra_env={
            "INVENIO_DATACITE_USERNAME": "SPECIMEN.TEST",
            "INVENIO_DATACITE_PASSWORD": "datacite-secret",
            "INVENIO_DATACITE_PREFIX": DATACITE_PREFIX,
            "INVENIO_DATACITE_URL": datacite.url,
            "INVENIO_OAISERVER_PAGE_SIZE": str(OAI_PAGE_SIZE),
        }
    )
    # The ML tests register pipelines by writing this file (re-read by the workers).
    instance.prepare()
    try:
        instance.start()
        yield instance
    finally:
        instance.stop()


@pytest.fixture(scope="session")
def depositor(live) -> Api:
    """API client of a depositor with a personal access token."""
    return Api(live.url, live.token("depositor@example.org"))


@pytest.fixture(scope="session")
def admin(live) -> Api:
    """API client of the instance's administrator."""
    return Api(live.url, live.token("admin@example.org"))


@pytest.fixture(scope="session")
def anonymous(live) -> Api:
    """API client without credentials."""
    return Api(live.url)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Folder for screenshots and other test artifacts (git-ignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
