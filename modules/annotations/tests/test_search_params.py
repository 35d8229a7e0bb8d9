"""URL filters of the annotation search become the right OpenSearch filters."""

import pytest
from invenio_records_resources.services.errors import ValidationErrorGroup
from invenio_search.engine import dsl

from specimen_rdm_annotations.services.search_params import AnnotationFilterParam


def _filters(**params) -> list[dict]:
    search = AnnotationFilterParam(None).apply(None, dsl.Search(), params)
    return search.to_dict().get("query", {}).get("bool", {}).get("filter", [])


def test_term_filters_map_to_indexed_fields_and_repeat_as_any_of():
    filters = _filters(record="abc-123", category=["ruler", "color_card"], creator_type=["machine"])
    assert {"terms": {"target.record": ["abc-123"]}} in filters
    assert {"terms": {"body.category": ["ruler", "color_card"]}} in filters
    assert {"terms": {"creator.type": ["model"]}} in filters


def test_text_is_a_full_text_match_and_scores_a_range():
    filters = _filters(text=["Nepal"], score_min="0.5", score_max="0.9")
    assert {"match": {"body.text.value": {"query": "Nepal", "operator": "and"}}} in filters
    assert {"range": {"score": {"gte": 0.5, "lte": 0.9}}} in filters


def test_no_parameters_no_filters():
    assert _filters() == []


@pytest.mark.parametrize(
    "params, field",
    [
        ({"score_min": "high"}, "score_min"),
        ({"score_max": "1.5"}, "score_max"),
        ({"creator_type": ["robot"]}, "creator_type"),
    ],
)
def test_bad_values_name_the_parameter(params, field):
    with pytest.raises(ValidationErrorGroup) as raised:
        _filters(**params)
    assert raised.value.errors[0]["field"] == field
