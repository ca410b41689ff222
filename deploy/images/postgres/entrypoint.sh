#!/bin/sh
# First start: initdb with a password for TCP clients (scram-sha-256; trust only for the superuser on
# the container's own socket), then POSTGRES_DB created. Every start, when POSTGRES_APP_USER is set:
# that login role made or updated (not a superuser, password POSTGRES_APP_PASSWORD) and given
# POSTGRES_DB and everything in it, so the services and their migrations never need the
# superuser; a database made before the role existed is handed over. Then postgres in the foreground.
set -eu
socket=/run/postgresql
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}"
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
  initdb -D "$PGDATA" -U postgres --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  rm -f "$pwfile"
  fresh=1
fi
# Rewritten every start: an older volume (with broader rules) is brought in line.
cat > "$PGDATA/pg_hba.conf" <<'EOF'
local all postgres trust
host all all 0.0.0.0/0 scram-sha-256
host all all ::/0 scram-sha-256
EOF
if [ -n "${fresh:-}" ] || [ -n "${POSTGRES_APP_USER:-}" ]; then
  pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -k $socket" -w start >/dev/null
  sql() { psql -X -q -v ON_ERROR_STOP=1 -h "$socket" -U postgres "$@"; }
  db=${POSTGRES_DB:-postgres}
  if [ "$db" != postgres ] && [ "$(sql -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]; then
    createdb -h "$socket" -U postgres "$db"
  fi
  if [ -n "${POSTGRES_APP_USER:-}" ]; then
    : "${POSTGRES_APP_PASSWORD:?POSTGRES_APP_PASSWORD is required with POSTGRES_APP_USER}"
    # psql quotes the values (:'name', :"name"); they never reach a command line.
    sql -d "$db" -v role="$POSTGRES_APP_USER" -v pw="$POSTGRES_APP_PASSWORD" -v db="$db" <<'EOF'
SELECT format('CREATE ROLE %I LOGIN', :'role') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
ALTER ROLE :"role" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD :'pw';
ALTER DATABASE :"db" OWNER TO :"role";
SELECT format('ALTER TABLE public.%I OWNER TO %I', tablename, :'role') FROM pg_tables WHERE schemaname = 'public' AND tableowner <> :'role' \gexec
SELECT format('ALTER SEQUENCE public.%I OWNER TO %I', sequencename, :'role') FROM pg_sequences WHERE schemaname = 'public' AND sequenceowner <> :'role' \gexec
SELECT format('ALTER TYPE public.%I OWNER TO %I', t.typname, :'role') FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = 'public' AND t.typtype IN ('e', 'c', 'd') AND t.typrelid = 0 AND pg_get_userbyid(t.typowner) <> :'role' \gexec
EOF
  fi
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
fi
exec postgres -D "$PGDATA" -c listen_addresses="${POSTGRES_LISTEN:-*}" -p "$PGPORT" -k "$socket"
