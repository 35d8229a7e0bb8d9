"""Record dumps without a signature inspection per hook call.

invenio-records' `RecordBase.dumps` and its system-fields extension ask
`inspect.signature(hook).parameters` before every `pre_dump` / `post_dump` / `dump` call, to
support hooks written before v1.6 that take no `data` argument. A specimen record has about 30
system fields and nested file records, so one search dump makes ~120 signature inspections:
a quarter of the CPU of indexing a record (measured with cProfile on a published specimen).

The hooks are methods of classes, so their signatures never change: this module gives those
two invenio-records modules an `inspect` whose `signature` is memoised on the underlying
function (a bound method's `__func__`). The legacy branch still works: a hook without `data`
has no `data` parameter, memoised or not.
"""

import functools
import inspect as _inspect
from types import ModuleType

import invenio_records.api as records_api
import invenio_records.systemfields.base as systemfields_base

PATCHED_MODULES = (records_api, systemfields_base)


@functools.lru_cache(maxsize=4096)
def _signature_of(function) -> _inspect.Signature:
    return _inspect.signature(function)


def signature(obj) -> _inspect.Signature:
    """`inspect.signature(obj)`, memoised per function. For a bound method the signature of its
    function is returned, which includes `self`: the callers only ask whether a parameter
    named `data` exists."""
    function = getattr(obj, "__func__", obj)
    try:
        return _signature_of(function)
    except TypeError:  # not hashable: no memo
        return _inspect.signature(obj)


class _MemoisedInspect(ModuleType):
    """The `inspect` module with a memoised `signature`."""

    def __init__(self):
        """A stand-in named like the module it stands in for."""
        super().__init__("inspect")
        self.signature = signature

    def __getattr__(self, name):
        return getattr(_inspect, name)


MEMOISED_INSPECT = _MemoisedInspect()


def install() -> None:
    """Give invenio-records' dump code the memoised `inspect` (idempotent)."""
    for module in PATCHED_MODULES:
        module.inspect = MEMOISED_INSPECT
