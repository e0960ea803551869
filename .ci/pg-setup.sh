#!/usr/bin/env bash
# Create the owner role (runs migrations), the app role (owns nothing, no
# BYPASSRLS: row-level security applies to it) and a database owned by the owner.
# Usage: .ci/pg-setup.sh DBNAME   (idempotent; needs a superuser over trust auth)
set -euo pipefail
DB="${1:-advocate_test}"
PGHOST="${PGHOST:-127.0.0.1}"; PGPORT="${PGPORT:-5432}"; PGSUPER="${PGSUPER:-postgres}"
psql_super() { psql -h "$PGHOST" -p "$PGPORT" -U "$PGSUPER" -v ON_ERROR_STOP=1 -qtA "$@"; }
psql_super -d postgres <<'SQL'
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'advocate_owner') THEN
    CREATE ROLE advocate_owner LOGIN NOSUPERUSER NOBYPASSRLS CREATEDB;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'advocate_app') THEN
    CREATE ROLE advocate_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
  END IF;
END $$;
SQL
if [ "$(psql_super -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$DB'")" != "1" ]; then
  psql_super -d postgres -c "CREATE DATABASE \"$DB\" OWNER advocate_owner"
fi
psql_super -d "$DB" -c "ALTER SCHEMA public OWNER TO advocate_owner; REVOKE CREATE ON SCHEMA public FROM PUBLIC; GRANT USAGE ON SCHEMA public TO advocate_app;"
