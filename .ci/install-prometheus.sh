#!/usr/bin/env bash
# Installs Debian's Prometheus (2.42) for the integration tests in test/integration/prometheus,
# unless /usr/bin/prometheus is already there. Idempotent.
#
# The tests start their own Prometheus on 127.0.0.1 with ephemeral ports and temporary data
# folders, so the package's own service never matters to them; it does not start on CI machines
# (no systemd), and where systemd runs, the service this script just installed is stopped and
# disabled so that it does not hold port 9090 and /var/lib/prometheus for nothing.
set -euo pipefail

BIN=/usr/bin/prometheus
if [ -x "$BIN" ]; then
  echo "prometheus present: $("$BIN" --version 2>&1 | head -n 1)"
  exit 0
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  SUDO=(sudo)
fi

"${SUDO[@]}" apt-get update
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus

if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  "${SUDO[@]}" systemctl disable --now prometheus.service >/dev/null 2>&1 || true
fi

echo "prometheus installed: $("$BIN" --version 2>&1 | head -n 1)"
