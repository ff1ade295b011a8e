#!/usr/bin/env bash
# Install the Debian packages that the system tests use (the tests start their own
# server processes: redis-server, a PostgreSQL cluster, autoscope serve, start-re-manager,
# caproto IOCs).
set -euo pipefail
need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
# initdb/postgres live in /usr/lib/postgresql/<version>/bin on Debian (not on $PATH)
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    need+=(postgresql)
fi
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
    else
        echo "missing Debian packages: ${need[*]} (install them with apt-get)" >&2
    fi
fi
