"""Record dumps with memoised hook signatures."""

import inspect
import warnings

import invenio_records.api as records_api
import invenio_records.systemfields.base as systemfields_base
from invenio_records.api import Record
from invenio_records.systemfields import SystemField, SystemFieldsMixin

from specimen_rdm import dump_signatures


class _Stamp(SystemField):
    """Writes its key into a dump (current hook signature)."""

    def pre_dump(self, record, data, dumper=None):
        data[self.key] = "stamped"


class _LegacyStamp(SystemField):
    """A hook written before invenio-records 1.6: no `data` argument."""

    def pre_dump(self, record, dumper=None):
        record.legacy_called = True


class _Record(Record, SystemFieldsMixin):
    stamp = _Stamp("stamp")
    legacy = _LegacyStamp("legacy")


def test_signature_is_memoised_per_function():
    class Hooks:
        def pre_dump(self, record, data, dumper=None):
            pass

    first, second = Hooks().pre_dump, Hooks().pre_dump
    assert first is not second
    assert dump_signatures.signature(first) is dump_signatures.signature(second)
    assert "data" in dump_signatures.signature(first).parameters
    assert "data" not in dump_signatures.signature(_LegacyStamp().pre_dump).parameters
    assert dump_signatures.signature(len) == inspect.signature(len)


def test_installed_dumps_are_unchanged_and_legacy_hooks_still_run():
    before = (records_api.inspect, systemfields_base.inspect)
    try:
        record = _Record({"title": "Quercus robur"})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            expected = record.dumps()
        dump_signatures.install()
        dump_signatures.install()  # idempotent
        assert records_api.inspect.signature is dump_signatures.signature
        assert systemfields_base.inspect.getmro is inspect.getmro
        record = _Record({"title": "Quercus robur"})
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DeprecationWarning)
            assert record.dumps() == expected == {"title": "Quercus robur", "stamp": "stamped"}
        assert record.legacy_called is True
        assert any("positional argument data" in str(w.message) for w in caught)
    finally:
        records_api.inspect, systemfields_base.inspect = before
