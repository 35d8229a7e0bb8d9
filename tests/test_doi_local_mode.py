"""Without DataCite credentials DOIs are minted, kept reserved locally and never sent."""

from conftest import DATACITE_PREFIX

# Runs inside `invenio shell` of the test instance; Celery tasks (the DOI registration) run
# eagerly in that process, which has no DataCite credentials.
PUBLISH_AND_REGISTER = """
from invenio_access.permissions import system_identity
from invenio_pidstore.models import PersistentIdentifier
from invenio_rdm_records.proxies import current_rdm_records_service as service

draft = service.create(system_identity, {
    "access": {"record": "public", "files": "public"},
    "files": {"enabled": False},
    "metadata": {
        "resource_type": {"id": "image-photo"},
        "title": "Sheet deposited without DataCite credentials",
        "publication_date": "2026-11-22",
        "publisher": "Specimen RDM",
        "creators": [{"person_or_org": {"type": "personal", "given_name": "Ian",
                                        "family_name": "Hore-Lacy"}}],
    },
})
record = service.publish(system_identity, draft.id)
service.pids.register_or_update(system_identity, record.id, "doi")
doi = record["pids"]["doi"]["identifier"]
print("RESULT", doi, PersistentIdentifier.get("doi", doi).status.value)
"""


def test_doi_is_reserved_locally_and_not_sent(live, datacite):
    env = live.env
    env.pop("INVENIO_DATACITE_USERNAME")
    env.pop("INVENIO_DATACITE_PASSWORD")
    env["INVENIO_CELERY_TASK_ALWAYS_EAGER"] = "True"

    output = live.invenio("shell", "--no-term-title", "-c", PUBLISH_AND_REGISTER, env=env)

    result = next(line for line in output.splitlines() if line.startswith("RESULT"))
    _, doi, status = result.split()
    assert doi.startswith(f"{DATACITE_PREFIX}/specimen-rdm.")
    assert status == "K"  # PIDStatus.RESERVED: minted here, not registered anywhere
    assert not any(request.doi == doi.lower() for request in datacite.requests)
    assert doi.lower() not in datacite.dois
