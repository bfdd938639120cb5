#!/usr/bin/env bash
# Services the test suite needs: Debian's Chromium (browser tests), a PostgreSQL server (the database tests) and
# nginx (the deployment test runs its own nginx process from a generated config; no system nginx is started).
# Installs what is missing (as root, or with sudo), starts PostgreSQL, creates a fresh test database, and prints
# its URL on stdout. Everything else goes to stderr.
set -euo pipefail
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

updated=
apt_install() {
  echo "installing $* from Debian's packages..." >&2
  [ -n "$updated" ] || as_root apt-get update -qq >&2
  updated=1
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >&2
}

need=()
[ -x /usr/bin/chromium ] || need+=(chromium chromium-driver)
command -v pg_ctlcluster >/dev/null 2>&1 || need+=(postgresql)
[ ${#need[@]} -eq 0 ] || apt_install "${need[@]}"

if [ ! -x /usr/sbin/nginx ]; then
  # The package would start (and enable) a system nginx on port 80: a temporary policy-rc.d stops that, unless
  # the machine already has one (Debian's container images do).
  policy=/usr/sbin/policy-rc.d
  if [ -e "$policy" ]; then
    apt_install nginx
  else
    trap 'as_root rm -f "$policy"' EXIT
    printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
    as_root chmod 755 "$policy"
    apt_install nginx
    as_root rm -f "$policy"
    trap - EXIT
    if [ -d /run/systemd/system ]; then as_root systemctl disable --quiet nginx >&2 || true; fi
  fi
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
