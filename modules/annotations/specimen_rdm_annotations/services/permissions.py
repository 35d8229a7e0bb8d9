"""Who may do what with annotations: decided by the access of the record they target.

Nobody sees annotations of a record (or of files) they cannot see; anyone who can see the record
may propose annotations and corrections; the record's curators (RDM's `curate` action: owners,
community curators, editors by grant) accept, reject and delete them.
"""

from flask_principal import ActionNeed, UserNeed
from invenio_access.permissions import superuser_access
from invenio_rdm_records.proxies import current_rdm_records_service
from invenio_records_permissions import RecordPermissionPolicy
from invenio_records_permissions.generators import (
    AnyUser,
    AuthenticatedUser,
    ConditionalGenerator,
    Generator,
    SystemProcess,
)
from invenio_search.engine import dsl

from ..target_access import resolve_target, target_access


def _target_recid(record=None, data=None) -> str | None:
    source = record if record is not None else data
    return ((source or {}).get("target") or {}).get("record")


class IfTargetPublic(ConditionalGenerator):
    """`then_` when the targeted record and its files are public, `else_` otherwise."""

    def _condition(self, record=None, data=None, **kwargs):
        recid = _target_recid(record, data)
        return bool(recid) and target_access(recid)["visibility"] == "public"


class TargetRecordAction(Generator):
    """The needs RDM's own policy grants for `action` on the targeted record."""

    def __init__(self, action: str):
        self.action = action

    def _policy(self, record=None, data=None):
        recid = _target_recid(record, data)
        target = resolve_target(recid) if recid else None
        if target is None:
            return None
        policy_cls = current_rdm_records_service.config.permission_policy_cls
        return policy_cls(self.action, record=target)

    def needs(self, record=None, data=None, **kwargs):
        """Needs of RDM's `action` on the target; none when the target does not resolve."""
        policy = self._policy(record, data)
        return policy.needs if policy is not None else []

    def excludes(self, record=None, data=None, **kwargs):
        """Excludes of RDM's `action` on the target."""
        policy = self._policy(record, data)
        return policy.excludes if policy is not None else []


class AnnotationCreator(Generator):
    """The user who created the annotation."""

    def needs(self, record=None, **kwargs):
        """The creator's user need, for annotations created by a person."""
        creator = (record or {}).get("creator") or {}
        if creator.get("type") == "person" and creator.get("user"):
            return [UserNeed(int(creator["user"]))]
        return []


class VisibleTargets(Generator):
    """Search filter of `can_read`: annotations whose target record the identity may see.

    Public targets, targets the user owns, targets in a community the user is a member of;
    administrators see everything. Records shared by grant or secret link are reached through a
    record-scoped search (`record=<id>`), which checks the record itself (see the service).
    It grants no need: reading one annotation is decided by the other `can_read` generators.
    """

    def needs(self, **kwargs):
        """Nothing: this generator only filters searches."""
        return []

    def query_filter(self, identity=None, **kwargs):
        """OpenSearch filter on the access summary copied into each annotation document."""
        provides = identity.provides if identity is not None else set()
        if ActionNeed(superuser_access.value) in provides:
            return dsl.Q("match_all")
        clauses = [dsl.Q("term", **{"target.access.visibility": "public"})]
        for need in provides:
            if need.method == "id":
                clauses.append(dsl.Q("term", **{"target.access.owners": str(need.value)}))
            elif need.method == "community":
                clauses.append(dsl.Q("term", **{"target.access.communities": str(need.value)}))
        return dsl.Q("bool", should=clauses, minimum_should_match=1)


class AnnotationPermissionPolicy(RecordPermissionPolicy):
    """Permissions of the annotation service."""

    # Searches filter with the query filters of `can_read` (records-resources' default).
    can_read = [
        IfTargetPublic(then_=[AnyUser()], else_=[TargetRecordAction("view")]),
        VisibleTargets(),
        SystemProcess(),
    ]
    can_search = [AnyUser(), SystemProcess()]
    can_create = [
        IfTargetPublic(then_=[AuthenticatedUser()], else_=[TargetRecordAction("view")]),
        SystemProcess(),
    ]
    can_update = can_create
    can_review = [TargetRecordAction("curate"), SystemProcess()]
    can_delete = [TargetRecordAction("curate"), AnnotationCreator(), SystemProcess()]
    can_import = can_create
