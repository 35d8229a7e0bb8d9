"""DataCite DOIs through InvenioRDM's DataCite provider, with a configurable API URL.

InvenioRDM's `DataCiteClient` only knows DataCite's two public endpoints. Ours also reads
`DATACITE_URL` (a test server in `tests/`, or a proxy) and `DATACITE_TIMEOUT`. Metadata is sent
as InvenioRDM's DataCite 4.5 JSON plus the taxon, place and date of specimen records
(`specimen_rdm_specimens.specimen_datacite`).

Without credentials the provider still mints DOIs under the configured prefix, but keeps them
reserved in the local PID store: nothing is sent to DataCite, a warning names the DOI each
time it would have been sent, and nothing is retried. `make run` starts in that mode unless
`DATACITE_USERNAME`, `DATACITE_PASSWORD` and `DATACITE_PREFIX` are set.
"""

from datacite import DataCiteRESTClient
from flask import current_app
from invenio_i18n import lazy_gettext as _
from invenio_pidstore.models import PIDStatus
from invenio_rdm_records.services.pids import providers
from invenio_rdm_records.services.pids.providers.datacite import DataCiteClient

from specimen_rdm_specimens.specimen_datacite import SpecimenDataCite45JSONSerializer


class SpecimenDataCiteClient(DataCiteClient):
    """DataCite REST client that honours `DATACITE_URL` and `DATACITE_TIMEOUT`."""

    def has_credentials(self) -> bool:
        """Whether a username, a password and a prefix are configured."""
        return bool(self.cfg("username") and self.cfg("password") and self.cfg("prefix"))

    def check_credentials(self, **kwargs) -> None:
        """Local-only mode is legitimate here; the provider logs it per DOI instead."""

    @property
    def api(self) -> DataCiteRESTClient:
        """DataCite REST API client pointing at the configured URL."""
        if self._api is None:
            url = self.cfg("url")
            self._api = DataCiteRESTClient(
                self.cfg("username"),
                self.cfg("password"),
                self.cfg("prefix"),
                test_mode=self.cfg("test_mode", True) and not url,
                url=url,
                timeout=self.cfg("timeout", 10),
            )
        return self._api


class SpecimenDataCitePIDProvider(providers.DataCitePIDProvider):
    """DataCite provider that keeps DOIs reserved locally when no credentials are configured."""

    def _local_only(self, pid, action: str) -> bool:
        if self.client.has_credentials():
            return False
        current_app.logger.warning(
            "DataCite credentials are not configured: DOI %s stays reserved locally "
            "(%s not sent to DataCite).",
            pid.pid_value,
            action,
        )
        return True

    def register(self, pid, record, **kwargs) -> bool:
        """Register with DataCite, or keep the DOI reserved when running without credentials."""
        if self._local_only(pid, "registration"):
            if pid.status == PIDStatus.NEW:
                pid.reserve()
            return False
        return super().register(pid, record, **kwargs)

    def update(self, pid, record, url=None, **kwargs) -> bool:
        """Update DataCite metadata, unless running without credentials."""
        if self._local_only(pid, "update"):
            return False
        return super().update(pid, record, url=url, **kwargs)

    def delete(self, pid, **kwargs) -> bool:
        """Delete remotely when registered there; locally only without credentials."""
        if not self.client.has_credentials():
            return super(providers.DataCitePIDProvider, self).delete(pid, **kwargs)
        return super().delete(pid, **kwargs)

    def restore(self, pid, **kwargs) -> None:
        """Show a hidden DOI again, unless running without credentials."""
        if not self._local_only(pid, "restore"):
            super().restore(pid, **kwargs)


def _datacite_client() -> SpecimenDataCiteClient:
    return SpecimenDataCiteClient("datacite", config_prefix="DATACITE")


PERSISTENT_IDENTIFIER_PROVIDERS = [
    SpecimenDataCitePIDProvider(
        "datacite",
        client=_datacite_client(),
        serializer=SpecimenDataCite45JSONSerializer(),
        label=_("DOI"),
    ),
    providers.ExternalPIDProvider(
        "external",
        "doi",
        validators=[providers.BlockedPrefixes(config_names=["DATACITE_PREFIX"])],
        label=_("DOI"),
    ),
    providers.OAIPIDProvider("oai", label=_("OAI ID")),
]
"""Record PID providers: our DataCite provider, external DOIs, OAI identifiers."""

PARENT_PERSISTENT_IDENTIFIER_PROVIDERS = [
    SpecimenDataCitePIDProvider(
        "datacite",
        client=_datacite_client(),
        serializer=SpecimenDataCite45JSONSerializer(is_parent=True),
        label=_("Concept DOI"),
    ),
]
"""Parent PID providers: the concept DOI shared by all versions."""

PERSISTENT_IDENTIFIERS_DOI_PROVIDERS = ["datacite", "external"]
"""DOI providers offered for records (Crossref is not used by this instance)."""
