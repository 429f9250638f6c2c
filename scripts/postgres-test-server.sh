#!/usr/bin/env bash
# Start a local PostgreSQL for the store and sync tests, idempotently.
#
# Installs the Debian `postgresql` package when it is missing, starts the
# newest installed cluster, creates the role `cmr` and the database `cmr_test`
# (both only when missing) and prints the URL on stdout as its last line:
#
#   export CMR_TEST_POSTGRES_URL="$(scripts/postgres-test-server.sh | tail -n1)"
#
# Listens on 127.0.0.1 only. Environment: CMR_TEST_PG_PASSWORD (default
# cmr-test-only), CMR_TEST_PG_PORT (default: the cluster's port).
set -euo pipefail

password="${CMR_TEST_PG_PASSWORD:-cmr-test-only}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
    sudo_cmd=(sudo)
fi

log() { echo "postgres-test-server: $*" >&2; }

if ! command -v pg_lsclusters >/dev/null 2>&1 || [ -z "$(ls /usr/lib/postgresql 2>/dev/null)" ]; then
    log "installing postgresql with apt-get"
    "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
    "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2
fi

version="$(ls /usr/lib/postgresql | sort -n | tail -n1)"
if [ -z "$version" ]; then
    log "no PostgreSQL version found under /usr/lib/postgresql"
    exit 1
fi
if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "$version main"; then
    log "creating cluster $version main"
    "${sudo_cmd[@]}" pg_createcluster "$version" main >&2
fi
port="${CMR_TEST_PG_PORT:-$(pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $3}')}"
status="$(pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $4}')"
if [ "$status" != "online" ]; then
    log "starting cluster $version main on port $port"
    "${sudo_cmd[@]}" pg_ctlcluster "$version" main start >&2
fi

# Run one SQL statement as the postgres superuser (SQL on stdin: no nested quoting).
psql_as_postgres() {
    if [ "$(id -u)" -eq 0 ]; then
        printf '%s\n' "$1" | su postgres -c "psql -p $port -v ON_ERROR_STOP=1 -qtA"
    else
        printf '%s\n' "$1" | sudo -u postgres psql -p "$port" -v ON_ERROR_STOP=1 -qtA
    fi
}

for _ in $(seq 1 30); do
    if psql_as_postgres "select 1" >/dev/null 2>&1; then break; fi
    sleep 1
done

if [ "$(psql_as_postgres "select 1 from pg_roles where rolname = 'cmr'")" != "1" ]; then
    log "creating role cmr"
    psql_as_postgres "create role cmr login password '$password'" >&2
else
    psql_as_postgres "alter role cmr login password '$password'" >&2
fi
if [ "$(psql_as_postgres "select 1 from pg_database where datname = 'cmr_test'")" != "1" ]; then
    log "creating database cmr_test"
    psql_as_postgres "create database cmr_test owner cmr" >&2
fi

echo "postgres://cmr:${password}@127.0.0.1:${port}/cmr_test"
