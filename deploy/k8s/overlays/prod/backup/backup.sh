#!/usr/bin/env bash
# Backs up every Concord service schema with pg_dump, as the concord-backup
# CronJob runs it (and as concord/tests/deploy.rs proves it restores).
#
# One pg_dump run covers every schema, so the backup is one consistent
# snapshot across the services; its custom-format archive still restores one
# schema alone (restore.sh). Each schema holds a service's tables, its audit
# trail, idempotency records, scheduled actions and migration history.
#
# Environment:
#   DATABASE_URL      the suite's PostgreSQL (required), or
#   DATABASE_URL_FILE a file holding it (the CronJob mounts the Secret)
#   BACKUP_DIR        where backups go, one folder per run (required)
#   CONCORD_SCHEMAS   the schemas (default: every target with a database)
#   BACKUP_KEEP_DAYS  remove backups older than this (default 14)
set -euo pipefail

if [ -n "${DATABASE_URL_FILE:-}" ]; then
  DATABASE_URL=$(<"$DATABASE_URL_FILE")
fi
: "${DATABASE_URL:?DATABASE_URL or DATABASE_URL_FILE is required}"
: "${BACKUP_DIR:?BACKUP_DIR is required}"
schemas=${CONCORD_SCHEMAS:-"directory notices decisions feedback emergency appraisal training"}
keep_days=${BACKUP_KEEP_DAYS:-14}

# Only the schemas that exist: a target that was never deployed has none.
present=()
for schema in $schemas; do
  if ! [[ $schema =~ ^[a-z0-9_]+$ ]]; then
    echo "backup: schema name '$schema' must be lowercase letters, digits and _" >&2
    exit 2
  fi
  found=$(psql --dbname="$DATABASE_URL" -X -A -t -q -v ON_ERROR_STOP=1 \
    -c "SELECT 1 FROM pg_namespace WHERE nspname = '$schema'")
  if [ "$found" = 1 ]; then
    present+=("$schema")
  else
    echo "backup: schema $schema does not exist; skipped" >&2
  fi
done
if [ ${#present[@]} -eq 0 ]; then
  echo "backup: none of the schemas ($schemas) exists" >&2
  exit 1
fi

stamp=$(date -u +%Y%m%dT%H%M%SZ)
partial="$BACKUP_DIR/.$stamp.partial"
mkdir -p "$partial"
selected=()
for schema in "${present[@]}"; do selected+=("--schema=$schema"); done
pg_dump --dbname="$DATABASE_URL" --format=custom --compress=6 \
  --no-owner --no-privileges "${selected[@]}" --file="$partial/concord.dump"
# Reading the table of contents back proves the archive is whole.
pg_restore --list "$partial/concord.dump" >"$partial/contents.txt"
printf '%s\n' "${present[@]}" >"$partial/schemas.txt"
# Only complete backups carry a final name.
mv "$partial" "$BACKUP_DIR/$stamp"
echo "backup: $BACKUP_DIR/$stamp (${present[*]})"

find "$BACKUP_DIR" -mindepth 1 -maxdepth 1 -type d -name '20*Z' -mtime +"$keep_days" \
  -print -exec rm -rf {} +
