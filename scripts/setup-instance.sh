#!/usr/bin/env bash
# Prepares an instance once per database: tables, search indices, custom fields, file locations,
# roles, queues, vocabulary fixtures and an administrator. Each finished step leaves a stamp in
# var/setup/<database>/ so that a second run skips it.
# Environment: the INVENIO_* service URLs (services/env.sh), ADMIN_EMAIL, ADMIN_PASSWORD
# (generated and printed once when unset), SPECIMEN_DATA_DIR and SPECIMEN_ARCHIVE_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
source services/env.sh
export PATH="$PWD/.venv/bin:$PATH"

stamps="var/setup/${POSTGRES_DB}"
mkdir -p "$stamps" var/log
log="var/log/setup-${POSTGRES_DB}.log"
: "${SPECIMEN_DATA_DIR:=var/data}"
: "${SPECIMEN_ARCHIVE_DIR:=var/archive}"
: "${ADMIN_EMAIL:=admin@example.org}"

once() {
  local name=$1 what=$2; shift 2
  [ -f "$stamps/$name" ] && return 0
  echo "setup: $what"
  if ! "$@" >>"$log" 2>&1; then
    tail -n 40 "$log" >&2; echo "setup: '$what' failed (log: $log)" >&2; exit 1
  fi
  touch "$stamps/$name"
}

create_indices() {
  # A previous, interrupted run may have left some of this instance's indices behind.
  invenio index destroy --force --yes-i-know || true
  invenio index init
}
custom_fields() {
  invenio rdm-records custom-fields init
  invenio communities custom-fields init
}
admin_role() {
  invenio roles create admin
  invenio access allow superuser-access role admin
}
fixtures() {
  # Vocabulary fixtures are Celery tasks: run them eagerly in this process.
  INVENIO_CELERY_TASK_ALWAYS_EAGER=True invenio rdm-records fixtures
  INVENIO_CELERY_TASK_ALWAYS_EAGER=True invenio rdm fixtures
}

once db "creating database tables" invenio db create
once indices "creating search indices" create_indices
once custom-fields "initialising custom fields" custom_fields
once locations "creating file locations" \
  invenio specimens locations --data "$SPECIMEN_DATA_DIR" --archive "$SPECIMEN_ARCHIVE_DIR"
once roles "creating the admin role" admin_role
once queues "declaring queues" invenio queues declare
once fixtures "loading vocabularies (first time: several minutes)" fixtures
once specimens "adding the specimen resource type and duplicate-lookup indexes" \
  invenio specimens setup
once annotations "creating the annotation table, index and record-search fields" \
  invenio annotations setup
once bulk "creating the bulk-deposit tables" invenio specimens bulk-setup
# Again for instances set up before the claim index of bulk items.
once bulk-claim-index "adding the claim index of bulk items" invenio specimens bulk-setup
once mlmodels "adding the model-record fields and the ratings table" invenio mlmodels setup
# Again for instances set up before annotation text became part of plain-word record search.
once annotations-fulltext "adding annotation text to plain-word record search" \
  invenio annotations setup
once mlmodels-builtin "publishing the built-in models (image features, label OCR)" \
  env INVENIO_CELERY_TASK_ALWAYS_EAGER=True invenio mlmodels builtin

if [ ! -f "$stamps/admin" ]; then
  generated=""
  if [ -z "${ADMIN_PASSWORD:-}" ]; then
    ADMIN_PASSWORD=$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(12))')
    generated=1
  fi
  once admin "creating the administrator $ADMIN_EMAIL" \
    invenio specimens user --email "$ADMIN_EMAIL" --password "$ADMIN_PASSWORD" --admin
  if [ -n "$generated" ]; then
    echo "setup: administrator $ADMIN_EMAIL, password $ADMIN_PASSWORD (shown once)"
  fi
fi
