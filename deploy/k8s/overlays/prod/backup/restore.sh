#!/usr/bin/env bash
# Restores a backup made by backup.sh into the PostgreSQL at DATABASE_URL.
#
#   DATABASE_URL=postgres://... restore.sh BACKUP_DIR/STAMP [SCHEMA...]
#
# Restores every schema of the backup, or only those named. Each must not
# exist yet in the target database: restore into a fresh database and point
# the suite's DATABASE_URL at it, or stop the suite and drop the schemas
# first. Everything is restored in one transaction: all or nothing.
set -euo pipefail

: "${DATABASE_URL:?DATABASE_URL is required}"
backup=${1:?usage: restore.sh BACKUP_DIR/STAMP [SCHEMA...]}
shift
archive="$backup/concord.dump"
if [ ! -f "$archive" ]; then
  echo "restore: $archive not found" >&2
  exit 2
fi
if [ $# -gt 0 ]; then
  schemas=("$@")
else
  mapfile -t schemas <"$backup/schemas.txt"
fi

for schema in "${schemas[@]}"; do
  if ! grep -qx "$schema" "$backup/schemas.txt"; then
    echo "restore: schema $schema is not in $backup" >&2
    exit 2
  fi
  found=$(psql --dbname="$DATABASE_URL" -X -A -t -q -v ON_ERROR_STOP=1 \
    -c "SELECT 1 FROM pg_namespace WHERE nspname = '$schema'")
  if [ "$found" = 1 ]; then
    echo "restore: schema $schema already exists; restore into a fresh database, or stop the suite and DROP SCHEMA $schema CASCADE first" >&2
    exit 1
  fi
done

# pg_restore writes the SQL, psql applies it in one transaction. A named
# subset leaves out the schemas' own CREATE SCHEMA entries, so they are
# created first, in the same transaction.
selected=()
create=""
if [ $# -gt 0 ]; then
  for schema in "${schemas[@]}"; do
    selected+=("--schema=$schema")
    create+="CREATE SCHEMA $schema;"$'\n'
  done
fi
{
  printf '%s' "$create"
  pg_restore --file=- --no-owner --no-privileges "${selected[@]}" "$archive"
} | psql --dbname="$DATABASE_URL" -X -q --single-transaction -v ON_ERROR_STOP=1 >/dev/null
echo "restore: ${schemas[*]} from $backup"
