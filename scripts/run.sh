#!/usr/bin/env bash
# Starts the web app (UI + REST API, gunicorn), a Celery worker with beat and the bulk-deposit
# workers, prints the URLs, and stops them cleanly on Ctrl-C. Services and setup are `make run`'s earlier steps.
set -euo pipefail
cd "$(dirname "$0")/.."
source services/env.sh
export PATH="$PWD/.venv/bin:$PATH"
mkdir -p var/log var/run
: "${WEB_WORKERS:=2}"
: "${CELERY_CONCURRENCY:=2}"
: "${BULK_CONCURRENCY:=2}"
queues=celery,indexing,low,pipelines-cpu,pipelines-gpu

celery -A invenio_app.celery worker --beat --schedule=var/run/celerybeat-schedule \
  -n "main@%h" -Q "$queues" --concurrency "$CELERY_CONCURRENCY" -l INFO >var/log/celery.log 2>&1 &
worker=$!
# Bulk deposit has its own worker: its jobs never hold up interactive tasks.
celery -A invenio_app.celery worker -n "bulk@%h" -Q bulk --prefetch-multiplier 1 \
  --concurrency "$BULK_CONCURRENCY" -l INFO >var/log/celery-bulk.log 2>&1 &
bulk_worker=$!
# What follows bulk-deposited records (DOI registration, IIIF tiles, pipelines), at a lower CPU
# priority: it uses the CPU that deposits leave idle.
nice -n 19 celery -A invenio_app.celery worker -n "bulk-followup@%h" -Q bulk-followup \
  --concurrency "$BULK_CONCURRENCY" -l INFO >var/log/celery-bulk-followup.log 2>&1 &
followup_worker=$!
gunicorn -b "${SPECIMEN_HOST}:${WEB_PORT}" -w "$WEB_WORKERS" --timeout 300 \
  --access-logfile var/log/web-access.log specimen_rdm.wsgi:application >var/log/web.log 2>&1 &
web=$!

stop() {
  trap - INT TERM
  echo; echo "run: stopping web app and worker"
  kill -TERM "$web" "$worker" "$bulk_worker" "$followup_worker" 2>/dev/null || true
  wait "$web" "$worker" "$bulk_worker" "$followup_worker" 2>/dev/null || true
  exit 0
}
trap stop INT TERM

for _ in $(seq 120); do
  curl -fs -o /dev/null "http://${SPECIMEN_HOST}:${WEB_PORT}/api/records" && break
  kill -0 "$web" 2>/dev/null || { tail -n 40 var/log/web.log; echo "run: web app died" >&2; exit 1; }
  sleep 1
done
cat <<MSG
run: Specimen RDM is up (Ctrl-C stops it)
  UI        http://${SPECIMEN_HOST}:${WEB_PORT}/
  REST API  http://${SPECIMEN_HOST}:${WEB_PORT}/api/records
  OAI-PMH   http://${SPECIMEN_HOST}:${WEB_PORT}/oai2d?verb=Identify
  IIIF      http://${SPECIMEN_HOST}:${WEB_PORT}/api/iiif/record:<id>/manifest
  bulk API  http://${SPECIMEN_HOST}:${WEB_PORT}/api/bulk/jobs (client: specimen-upload)
  logs      var/log/web.log, var/log/celery.log, var/log/celery-bulk*.log
MSG
wait -n "$web" "$worker" "$bulk_worker" "$followup_worker" || true
echo "run: a process exited; see the logs in var/log/" >&2
stop
