#!/usr/bin/env bash
# Neo4j backups to Azure Blob, one step per container of the backup/restore Jobs:
#
#   neo4j-backup.sh backup     (Neo4j image)      neo4j-admin backup (Enterprise) or dump (Community) of each
#                                                 database in BACKUP_DATABASES into BACKUP_WORK_DIR
#   neo4j-backup.sh upload     (Azure CLI image)  uploads them, then marks each blob backup_complete=true
#   neo4j-backup.sh download   (Azure CLI image)  fetches RESTORE_BLOB_NAME, refusing one not marked complete
#   neo4j-backup.sh load       (Neo4j image)      neo4j-admin load (.dump) or restore (.backup) of it, after a
#                                                 trial load into a scratch directory (a refused archive
#                                                 leaves the database as it was)
#
# Blob names: [<BACKUP_PREFIX>/]<BACKUP_ENVIRONMENT>/<db>/<db>-<yyyymmddTHHMMSSZ>.<dump|backup> (UTC).
# Auth: workload identity (AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE injected by the AKS
# webhook) against BACKUP_BLOB_ENDPOINT; when AZURE_STORAGE_CONNECTION_STRING is set (tests against
# Azurite), the Azure CLI reads it from the environment instead. No secret is ever put on a command line
# or printed (no xtrace).
set -euo pipefail

NEO4J_ADMIN="${NEO4J_ADMIN:-neo4j-admin}"
AZ="${AZ:-az}"
WORK="${BACKUP_WORK_DIR:?BACKUP_WORK_DIR is required}"
MANIFEST="$WORK/manifest"

log() { printf '%s neo4j-backup: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

blob_name() {  # <db> <stamp> <ext>
  local head="${BACKUP_PREFIX:-}"
  head="${head#/}"; head="${head%/}"
  printf '%s%s/%s/%s-%s.%s' "${head:+$head/}" "${BACKUP_ENVIRONMENT:?BACKUP_ENVIRONMENT is required}" "$1" "$1" "$2" "$3"
}

databases() { tr ', ' '\n' <<<"${BACKUP_DATABASES:-neo4j}" | sed '/^$/d'; }

consistency_check() {  # <db> <dir holding the artifact>
  [ "${BACKUP_CONSISTENCY_CHECK:-true}" = "true" ] || return 0
  log "checking consistency of $1"
  mkdir -p "$WORK/check-tmp"
  "$NEO4J_ADMIN" database check "$1" --from-path="$2" --temp-path="$WORK/check-tmp" \
    --report-path="$WORK/check-report-$1" >&2
}

cmd_backup() {
  local stamp db dir artifact
  stamp="${BACKUP_TIMESTAMP:-$(date -u +%Y%m%dT%H%M%SZ)}"
  mkdir -p "$WORK"
  : >"$MANIFEST.partial"
  for db in $(databases); do
    dir="$WORK/$db"
    rm -rf "$dir"
    mkdir -p "$dir"
    case "${BACKUP_EDITION:-community}" in
      enterprise)
        log "online backup of $db from ${BACKUP_FROM:?BACKUP_FROM (host:port of the backup server) is required}"
        "$NEO4J_ADMIN" database backup "$db" --from="$BACKUP_FROM" --to-path="$dir" --type=FULL >&2
        artifact="$(find "$dir" -maxdepth 1 -name '*.backup' -printf '%T@ %p\n' | sort -rn | head -n1 | cut -d' ' -f2-)"
        [ -n "$artifact" ] || die "neo4j-admin database backup wrote no .backup artifact for $db"
        consistency_check "$db" "$dir"
        mv "$artifact" "$dir/$db-$stamp.backup"
        echo "$db $stamp backup" >>"$MANIFEST.partial"
        ;;
      community)
        log "dump of $db (the DBMS must be stopped: Community has no online backup)"
        "$NEO4J_ADMIN" database dump "$db" --to-path="$dir" >&2
        [ -s "$dir/$db.dump" ] || die "neo4j-admin database dump wrote no $db.dump"
        consistency_check "$db" "$dir"
        mv "$dir/$db.dump" "$dir/$db-$stamp.dump"
        echo "$db $stamp dump" >>"$MANIFEST.partial"
        ;;
      *) die "BACKUP_EDITION must be community or enterprise" ;;
    esac
  done
  mv "$MANIFEST.partial" "$MANIFEST"
  log "artifacts ready: $(wc -l <"$MANIFEST")"
}

# The Azure CLI arguments that select the account and the auth.
az_auth() {
  export AZURE_CONFIG_DIR="${AZURE_CONFIG_DIR:-$WORK/.azure}"
  export AZURE_CORE_COLLECT_TELEMETRY=false
  if [ -n "${AZURE_STORAGE_CONNECTION_STRING:-}" ]; then
    AZ_ARGS=()
    return
  fi
  [ -n "${AZURE_FEDERATED_TOKEN_FILE:-}" ] || die "no workload identity token (is the pod labelled azure.workload.identity/use=true and its ServiceAccount annotated with the client id?)"
  "$AZ" login --service-principal --username "${AZURE_CLIENT_ID:?}" --tenant "${AZURE_TENANT_ID:?}" \
    --federated-token "$(cat "$AZURE_FEDERATED_TOKEN_FILE")" --allow-no-subscriptions --output none --only-show-errors
  AZ_ARGS=(--blob-endpoint "${BACKUP_BLOB_ENDPOINT:?BACKUP_BLOB_ENDPOINT is required}" --auth-mode login)
}

az_blob() { "$AZ" storage "$@" "${AZ_ARGS[@]}" --only-show-errors; }

cmd_upload() {
  local container="${BACKUP_CONTAINER:?BACKUP_CONTAINER is required}" db stamp ext file blob local_size remote_size
  [ -s "$MANIFEST" ] || die "no manifest in $WORK: the backup step did not finish"
  az_auth
  az_blob container create --name "$container" --output none
  while read -r db stamp ext; do
    file="$WORK/$db/$db-$stamp.$ext"
    blob="$(blob_name "$db" "$stamp" "$ext")"
    log "uploading $blob"
    az_blob blob upload --container-name "$container" --name "$blob" --file "$file" --overwrite false --no-progress --output none
    local_size="$(stat -c %s "$file")"
    remote_size="$(az_blob blob show --container-name "$container" --name "$blob" --query properties.contentLength --output tsv)"
    [ "$local_size" = "$remote_size" ] || die "$blob: uploaded $remote_size bytes of $local_size; not marked complete"
    # Last: only a fully uploaded blob is ever marked complete (retention and restore trust this flag).
    az_blob blob metadata update --container-name "$container" --name "$blob" --output none \
      --metadata backup_complete=true "database=$db" "environment=$BACKUP_ENVIRONMENT" "created=$stamp" \
      "edition=${BACKUP_EDITION:-community}"
    log "complete: $blob ($local_size bytes)"
  done <"$MANIFEST"
}

cmd_download() {
  local container="${BACKUP_CONTAINER:?BACKUP_CONTAINER is required}" blob="${RESTORE_BLOB_NAME:?RESTORE_BLOB_NAME is required}"
  local db="${RESTORE_DATABASE:?RESTORE_DATABASE is required}" ext flag file
  ext="${blob##*.}"
  case "$ext" in dump|backup) ;; *) die "$blob is not a .dump or .backup artifact" ;; esac
  az_auth
  flag="$(az_blob blob metadata show --container-name "$container" --name "$blob" --query backup_complete --output tsv)"
  [ "${flag,,}" = "true" ] || die "$blob is not marked backup_complete=true (incomplete upload): refusing to restore it"
  rm -rf "$WORK/restore"
  mkdir -p "$WORK/restore"
  file="$WORK/restore/$db.$ext"  # neo4j-admin database load reads <database>.dump from --from-path
  log "downloading $blob"
  az_blob blob download --container-name "$container" --name "$blob" --file "$file" --no-progress --output none
  [ "$(stat -c %s "$file")" = "$(az_blob blob show --container-name "$container" --name "$blob" --query properties.contentLength --output tsv)" ] \
    || die "$blob: download is short"
  log "downloaded $(stat -c %s "$file") bytes"
}

# A trial load into a scratch data directory first: neo4j-admin's --overwrite-destination removes the database
# before it reads the archive, so an archive it then refuses (corrupt, truncated, not a dump) would leave an empty
# database. Only an archive that loaded in the scratch directory is loaded over the real one.
verify_archive() {  # <db> <load|restore> <source>
  local scratch="$WORK/verify" conf="${NEO4J_CONF:-${NEO4J_HOME:-/var/lib/neo4j}/conf}"
  rm -rf "$scratch"
  mkdir -p "$scratch/conf" "$scratch/data"
  { grep -v '^server.directories.data=' "$conf/neo4j.conf" 2>/dev/null || true
    echo "server.directories.data=$scratch/data"; } >"$scratch/conf/neo4j.conf"
  log "trial $2 of $1 into a scratch directory (the database is not touched yet)"
  if [ "$2" = load ]; then
    NEO4J_CONF="$scratch/conf" "$NEO4J_ADMIN" database load "$1" --from-path="$3" >&2 \
      || die "neo4j-admin refused the archive for $1 (see above): the database was left as it was"
  else
    NEO4J_CONF="$scratch/conf" "$NEO4J_ADMIN" database restore "$1" --from-path="$3" >&2 \
      || die "neo4j-admin refused the backup for $1 (see above): the database was left as it was"
  fi
  rm -rf "$scratch"
}

cmd_load() {
  local db="${RESTORE_DATABASE:?RESTORE_DATABASE is required}"
  if [ -f "$WORK/restore/$db.dump" ]; then
    verify_archive "$db" load "$WORK/restore"
    log "loading $db (overwrites the database)"
    "$NEO4J_ADMIN" database load "$db" --from-path="$WORK/restore" --overwrite-destination=true >&2
  elif [ -f "$WORK/restore/$db.backup" ]; then
    verify_archive "$db" restore "$WORK/restore/$db.backup"
    log "restoring $db (overwrites the database)"
    "$NEO4J_ADMIN" database restore "$db" --from-path="$WORK/restore/$db.backup" --overwrite-destination=true >&2
  else
    die "nothing downloaded for $db in $WORK/restore"
  fi
  log "loaded $db"
}

case "${1:-}" in
  backup) cmd_backup ;;
  upload) cmd_upload ;;
  download) cmd_download ;;
  load) cmd_load ;;
  *) die "usage: $0 backup|upload|download|load" ;;
esac
