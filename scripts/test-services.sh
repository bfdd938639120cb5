#!/usr/bin/env bash
# Services the test suite needs: Debian's Chromium (browser tests) and a PostgreSQL server (the database tests).
# Installs what is missing (as root, or with sudo), starts PostgreSQL, creates a fresh test database, and prints
# its URL on stdout. Everything else goes to stderr.
set -euo pipefail
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

need=()
[ -x /usr/bin/chromium ] || need+=(chromium chromium-driver)
command -v pg_ctlcluster >/dev/null 2>&1 || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]} from Debian's packages..." >&2
  as_root apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${need[@]}" >&2
fi

version=$(ls /usr/lib/postgresql | sort -n | tail -1)
if ! pg_lsclusters -h 2>/dev/null | awk '{print $4}' | grep -q online; then
  pg_lsclusters -h 2>/dev/null | grep -q "^$version main" || as_root pg_createcluster "$version" main >&2
  as_root pg_ctlcluster "$version" main start >&2
fi
port=$(pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" {print $3}')
psql_as_postgres() { as_root su postgres -c "psql -p $port -v ON_ERROR_STOP=1 -qAt -c \"$1\""; }
psql_as_postgres "SELECT 1 FROM pg_roles WHERE rolname = 'painpoint'" | grep -q 1 \
  || psql_as_postgres "CREATE ROLE painpoint LOGIN PASSWORD 'painpoint'" >&2
psql_as_postgres "DROP DATABASE IF EXISTS painpoint_test" >&2
psql_as_postgres "CREATE DATABASE painpoint_test OWNER painpoint" >&2
echo "postgresql://painpoint:painpoint@127.0.0.1:$port/painpoint_test"
