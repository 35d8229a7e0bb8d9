"""Bad input through the REST API: clear 400s naming the fields, nothing half-written."""

from deposit import create_draft, specimen_metadata


def test_publishing_without_required_fields_names_each_field(depositor):
    draft = depositor.post(
        "/api/records",
        json={"access": {"record": "public", "files": "public"}, "files": {"enabled": False}},
    )
    assert draft.status_code == 201, draft.text
    draft_id = draft.json()["id"]

    response = depositor.post(f"/api/records/{draft_id}/draft/actions/publish")
    assert response.status_code == 400, response.text
    body = response.json()
    fields = {error["field"] for error in body["errors"]}
    for required in (
        "metadata.title",
        "metadata.resource_type",
        "metadata.creators",
        "metadata.publication_date",
    ):
        assert required in fields, (required, body["errors"])
    assert all(error["messages"] for error in body["errors"])

    # Nothing was published: the record does not exist, the draft is still there.
    assert depositor.get(f"/api/records/{draft_id}").status_code == 404
    assert depositor.get(f"/api/records/{draft_id}/draft").status_code == 200


def test_malformed_date_is_named(depositor):
    metadata = specimen_metadata("Sheet with a bad date")
    metadata["metadata"]["publication_date"] = "31/31/2020"
    draft = depositor.post("/api/records", json=metadata)
    # InvenioRDM saves partial drafts and reports what is wrong with them.
    assert draft.status_code == 201, draft.text
    errors = {error["field"]: error["messages"] for error in draft.json()["errors"]}
    assert "metadata.publication_date" in errors
    publish = depositor.post(f"/api/records/{draft.json()['id']}/draft/actions/publish")
    assert publish.status_code == 400
    assert "metadata.publication_date" in {e["field"] for e in publish.json()["errors"]}


def test_unknown_vocabulary_value_is_refused(depositor):
    metadata = specimen_metadata("Sheet with an unknown resource type")
    metadata["metadata"]["resource_type"] = {"id": "no-such-type"}
    response = depositor.post("/api/records", json=metadata)
    assert response.status_code == 400
    assert "no-such-type" in response.json()["message"]


def test_publishing_with_files_enabled_but_no_file_is_refused(depositor):
    draft = create_draft(depositor, "Sheet without its image")
    response = depositor.post(f"/api/records/{draft['id']}/draft/actions/publish")
    assert response.status_code == 400, response.text
    assert "files.enabled" in {error["field"] for error in response.json()["errors"]}
