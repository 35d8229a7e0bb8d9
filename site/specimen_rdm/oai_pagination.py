"""Fix of invenio-oaiserver's last page: no resumption token when nothing follows.

Its pagination says there is a next page when `page × page size <= total`, so when the number of
records is a multiple of the page size the last full page carries a resumption token and the
harvester then receives a ListRecords (or ListIdentifiers) page with no record: invalid against
the OAI-PMH schema (a list needs at least one item). The wrapper recomputes "is there a next
page" as `page × page size < total` before the response is written.
"""

import invenio_oaiserver.response as oai_response

_original_get_records = oai_response.get_records


def has_next(page: int, per_page: int, total: int) -> bool:
    """Whether records follow page `page` (1-based) of `per_page` out of `total`."""
    return page * per_page < total


def get_records(**kwargs):
    """invenio-oaiserver's page of records, with `has_next` computed right."""
    pagination = _original_get_records(**kwargs)
    # `has_next` is a cached property: replacing the cached value is what later reads see.
    pagination.__dict__["has_next"] = has_next(
        pagination.page, pagination.per_page, pagination.total
    )
    pagination.__dict__.pop("next_num", None)
    return pagination


def install() -> None:
    """Use the fixed pagination in the OAI-PMH responses (idempotent)."""
    oai_response.get_records = get_records
