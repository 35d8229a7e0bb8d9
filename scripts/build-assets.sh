#!/usr/bin/env bash
# Builds the front end (React/Semantic UI through invenio-assets' rspack project) into the
# instance folder: collect static files, write the rspack project, add the instance's own
# assets/ and static/, install npm packages, build. Output: .venv/var/instance/static/dist.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
instance=$(.venv/bin/python -c 'import sys; print(sys.prefix)')/var/instance
log=var/log/assets.log
mkdir -p var/log
: >"$log"
step() { echo "assets: $1"; shift; "$@" >>"$log" 2>&1 || { tail -n 40 "$log"; echo "assets: failed (log: $log)" >&2; exit 1; }; }

step "collecting static files" invenio collect
step "writing the rspack project" invenio webpack create
cp -r assets/. "$instance/assets/"
cp -r static/. "$instance/static/"
# The npm registry reachable here lacks the `warcio` release that the newest
# @webrecorder/wabac (pulled in by invenio-previewer's replaywebpage) depends on; 2.27.1 is the
# newest wabac whose dependencies resolve. `invenio webpack create` rewrites package.json, so
# the override is added after it, every build.
step "pinning npm overrides" .venv/bin/python - "$instance/assets/package.json" <<'PY'
import json, sys
path = sys.argv[1]
package = json.load(open(path))
package.setdefault("overrides", {})["@webrecorder/wabac"] = "2.27.1"
json.dump(package, open(path, "w"), indent=2)
PY
step "installing npm packages (first time: ~2 min)" invenio webpack install
step "building with rspack" invenio webpack build
# rspack can exit 0 and still write a manifest that says the build failed.
if ! .venv/bin/python - "$instance/static/dist/manifest.json" <<'PY'
import json, sys
manifest = json.load(open(sys.argv[1]))
if manifest.get("status") != "done":
    sys.exit(f"assets: build failed: {manifest.get('error')}: {manifest.get('message', '')[:2000]}")
PY
then
  exit 1
fi
echo "assets: built into $instance/static/dist"
