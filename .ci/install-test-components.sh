#!/usr/bin/env bash
# The real servers the integration tests run against: Debian's Prometheus and etcd, and a
# kube-apiserver built from Debian's kubernetes source package (cached under ~/.cache/sva).
# Each step is idempotent and returns at once when its component is there, so `npm test` runs
# this first and works on a fresh machine (a few minutes the first time).
set -euo pipefail
cd "$(dirname "$0")"
bash ./install-prometheus.sh
bash ./install-etcd.sh
bash ./build-kube-apiserver.sh >/dev/null
