#!/usr/bin/env bash
# Installs etcd (Debian's etcd-server, 3.4) for the Kubernetes integration tests when it is absent.
# Idempotent: does nothing when `etcd` is already on PATH.
set -euo pipefail

if command -v etcd >/dev/null 2>&1; then
  echo "etcd present: $(command -v etcd)"
  exit 0
fi

SUDO=''
if [ "$(id -u)" != 0 ]; then SUDO='sudo'; fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y --no-install-recommends etcd-server
echo "etcd installed: $(command -v etcd)"
