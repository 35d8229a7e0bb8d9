"""Darwin Core / Audubon Core term names as archives and spreadsheets write them.

Archives name their columns by term URI (`meta.xml`), spreadsheets by bare name. Archives made
before the 2009 standard use capitalised names (`ScientificName`) and a few terms that were
renamed when Darwin Core was ratified; `canonical_term` maps all of these to the ratified
`prefix:name` form used by our custom fields (`dwc:scientificName`).
"""

DWC_NAMESPACE = "http://rs.tdwg.org/dwc/terms/"
AC_NAMESPACE = "http://rs.tdwg.org/ac/terms/"
DC_TERMS_NAMESPACE = "http://purl.org/dc/terms/"

SPECIMEN_NAMESPACES = {"dwc": DWC_NAMESPACE, "ac": AC_NAMESPACE}
"""Custom-field namespaces of specimen records (`RDM_NAMESPACES` in invenio.cfg)."""

_NAMESPACE_PREFIXES = {
    DWC_NAMESPACE: "dwc",
    AC_NAMESPACE: "ac",
    DC_TERMS_NAMESPACE: "dcterms",
}

PRE_STANDARD_DWC_TERMS = {
    "collector": "recordedBy",
    "earliestDateCollected": "eventDate",
    "collectorNumber": "recordNumber",
    "identifiedby": "identifiedBy",
}
"""Pre-2009 Darwin Core names (lower-camel-cased) → the ratified term that replaced them."""


class UnknownTermNamespace(ValueError):
    """A term URI outside the namespaces that specimen records store."""

    def __init__(self, term: str) -> None:
        """Name the term in the message."""
        super().__init__(f"term {term!r}: namespace is not Darwin Core, Audubon Core or DC terms")
        self.term = term


def canonical_term(term: str) -> str:
    """Return `prefix:name` for a term URI or a bare Darwin Core name.

    >>> canonical_term("http://rs.tdwg.org/dwc/terms/ScientificName")
    'dwc:scientificName'
    >>> canonical_term("Collector")
    'dwc:recordedBy'
    """
    term = term.strip().lstrip("\ufeff")
    prefix = "dwc"
    if "://" in term:
        namespace, _, name = term.rpartition("/")
        namespace += "/"
        if namespace not in _NAMESPACE_PREFIXES:
            raise UnknownTermNamespace(term)
        prefix = _NAMESPACE_PREFIXES[namespace]
    elif ":" in term:
        prefix, _, name = term.partition(":")
    else:
        name = term
    name = name[:1].lower() + name[1:]
    if prefix == "dwc":
        name = PRE_STANDARD_DWC_TERMS.get(name, name)
    return f"{prefix}:{name}"
