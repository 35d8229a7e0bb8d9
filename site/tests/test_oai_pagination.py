"""The OAI-PMH last page: no resumption token when no record follows."""

from functools import cached_property

import pytest

from specimen_rdm import oai_pagination


@pytest.mark.parametrize(
    "page, total, expected",
    [(1, 2, False), (1, 3, False), (1, 4, True), (2, 6, False), (2, 7, True), (3, 9, False)],
)
def test_next_page_only_when_records_follow(page, total, expected):
    assert oai_pagination.has_next(page, 3, total) is expected


class _UpstreamPagination:
    """invenio-oaiserver's pagination: reads `has_next` while it is built (to clear scrolls)."""

    page, per_page = 2, 3

    def __init__(self, total):
        self.total = total
        self.scroll_kept = self.has_next

    @cached_property
    def has_next(self):
        return self.page * self.per_page <= self.total

    @cached_property
    def next_num(self):
        return self.page + 1 if self.has_next else None


def test_the_wrapper_corrects_an_exact_multiple(monkeypatch):
    monkeypatch.setattr(oai_pagination, "_original_get_records", lambda **_: _UpstreamPagination(6))
    pagination = oai_pagination.get_records()
    assert pagination.has_next is False and pagination.next_num is None
    monkeypatch.setattr(oai_pagination, "_original_get_records", lambda **_: _UpstreamPagination(7))
    assert oai_pagination.get_records().next_num == 3
