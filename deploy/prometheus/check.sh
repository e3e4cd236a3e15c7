#!/usr/bin/env bash
# Checks deploy/prometheus with Prometheus's own tool: both scrape
# configurations load with their rule files, every rule file parses, and the
# alert rules pass their unit tests (tests/*.test.yml). Installs Debian's
# `prometheus` package (prometheus and promtool) when either is missing,
# without letting its service start; `--install` stops after that.
# tests/e2e/observability.rs then runs that Prometheus against the suite.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1; then
  echo "-- prometheus: installing Debian's package"
  # The package would start its own Prometheus on :9090; policy-rc.d
  # forbids that while it installs (Debian's containers ship one already).
  added_policy=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    added_policy=1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  if [ -n "$added_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi
fi
prometheus --version 2>&1 | head -n1
[ "${1:-}" = "--install" ] && exit 0

echo "-- prometheus: rule files"
promtool check rules rules/*.yml

echo "-- prometheus: the configuration for concord serve (prometheus.yml)"
promtool check config prometheus.yml

echo "-- prometheus: the configuration of deploy/k8s/overlays/dev, as its ConfigMap lays it out"
mounted=$(mktemp -d)
trap 'rm -rf "$mounted"' EXIT
cp kubernetes.yml "$mounted/prometheus.yml"
cp rules/*.yml "$mounted/"
promtool check config "$mounted/prometheus.yml"

echo "-- prometheus: the configuration of deploy/compose.yaml"
promtool check config ../compose/prometheus.yml

echo "-- prometheus: unit tests of the rules"
promtool test rules tests/*.test.yml
