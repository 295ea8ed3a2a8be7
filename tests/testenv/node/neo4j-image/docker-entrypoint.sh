#!/usr/bin/env bash
# Entrypoint of the project's Neo4j test fixture image. Written for this project; it implements the part of
# the official neo4j image's documented contract (https://neo4j.com/docs/operations-manual/5/docker/) that
# the collection's chart relies on, so the real-pod tests exercise the same rules:
#   * every NEO4J_* variable (except the image's own control variables) becomes a neo4j.conf setting:
#     prefix removed, "_" -> ".", "__" -> "_" (NEO4J_server_memory_heap_max__size -> server.memory.heap.max_size);
#     empty values are skipped, names starting with a digit are skipped with a warning; the setting replaces
#     any line of the same name. Neo4j's strict configuration validation stays on, so an unknown name (for
#     example one Kubernetes service links inject: NEO4J_PORT_7687_TCP_PORT) stops the server with its message;
#   * NEO4J_AUTH_PATH (a file) or NEO4J_AUTH: "none" turns authentication off, "neo4j/<password>[/true]"
#     sets the initial password (applied by Neo4j on the first start only);
#   * NEO4J_PLUGINS: a JSON list of plugin names; nothing can be downloaded here, so only plugins baked into
#     /var/lib/neo4j/labs are installed (copied into the plugins directory), any other name fails;
#   * directories: /data, /logs (writable), /conf (copied over the image's conf when mounted), uid/gid 7474;
#     started as root, the entrypoint hands the mounts to neo4j and drops to uid 7474;
#   * command "neo4j" runs `neo4j console` in the foreground (tini is PID 1), any other command runs as is.
set -euo pipefail

NEO4J_HOME="${NEO4J_HOME:-/var/lib/neo4j}"
CONF="$NEO4J_HOME/conf/neo4j.conf"
cmd="${1:-neo4j}"

fail() { echo "docker-entrypoint: $*" >&2; exit 1; }

check_writable() {
  local dir=$1
  [ -d "$dir" ] || return 0
  if ! [ -w "$dir" ]; then
    fail "Folder $dir is not accessible for user: $(id -u) or group $(id -g) or groups $(id -G); this is commonly a file permissions issue on the mounted folder (uid/gid 7474 must be able to write it)."
  fi
}

# --- root: hand the writable mounts to neo4j and drop privileges ---------------------------------------------
if [ "$(id -u)" = 0 ]; then
  for dir in /data /logs "$NEO4J_HOME/conf" "$NEO4J_HOME/run" "$NEO4J_HOME/plugins"; do
    [ -d "$dir" ] && [ "$(stat -c %u "$dir")" != 7474 ] && chown -R 7474:7474 "$dir"
  done
  exec setpriv --reuid=7474 --regid=7474 --init-groups "$0" "$@"
fi

[ "$cmd" = neo4j ] || [ "$cmd" = dump-config ] || exec "$@"

# --- conf ---------------------------------------------------------------------------------------------------
if [ -d /conf ]; then
  check_writable "$NEO4J_HOME/conf"
  find /conf -maxdepth 1 -type f -exec cp {} "$NEO4J_HOME/conf/" \;
fi
if [ "$cmd" = dump-config ]; then
  [ -w /conf ] || fail "You must mount a writable /conf folder to dump the configuration."
  cp -R "$NEO4J_HOME/conf/." /conf/
  exit 0
fi
check_writable "$NEO4J_HOME/conf"
check_writable /data
check_writable /logs

# Defaults of the official image, applied before the variables are read.
: "${NEO4J_server_memory_pagecache_size:=512M}"
: "${NEO4J_server_default__listen__address:=0.0.0.0}"
export NEO4J_server_memory_pagecache_size NEO4J_server_default__listen__address

# Variables of the image itself, not settings.
not_settings=" NEO4J_ACCEPT_LICENSE_AGREEMENT NEO4J_AUTH NEO4J_AUTH_PATH NEO4J_DEBUG NEO4J_EDITION NEO4J_HOME \
NEO4J_PLUGINS NEO4J_SHA256 NEO4J_TARBALL NEO4J_DEPRECATION_WARNING NEO4J_CONF "

while IFS= read -r name; do
  case "$not_settings" in *" $name "*) continue ;; esac
  value="${!name}"
  [ -n "$value" ] || continue
  setting="${name#NEO4J_}"
  setting="${setting//_/.}"
  setting="${setting//../_}"
  if [[ "$setting" =~ ^[0-9] ]]; then
    echo "WARNING: ${setting} not written to conf file. Settings that start with a number are not permitted" >&2
    continue
  fi
  # Remove the setting's lines, then append it (repeatable settings given by variable replace the image's).
  awk -v key="$setting=" 'index($0, key) != 1' "$CONF" > "$CONF.new"
  cat "$CONF.new" > "$CONF"; rm -f "$CONF.new"
  printf '%s=%s\n' "$setting" "$value" >> "$CONF"
done < <(compgen -e | grep '^NEO4J_' | sort -r)

# --- auth ---------------------------------------------------------------------------------------------------
auth=""
if [ -n "${NEO4J_AUTH_PATH:-}" ]; then
  [ -f "$NEO4J_AUTH_PATH" ] || fail "The password file '${NEO4J_AUTH_PATH}' does not exist"
  [ -r "$NEO4J_AUTH_PATH" ] || fail "File ${NEO4J_AUTH_PATH} is not readable for user: $(id -u) or group $(id -g)"
  auth="$(cat "$NEO4J_AUTH_PATH")"
else
  auth="${NEO4J_AUTH:-}"
fi
if [ "$auth" = none ]; then
  printf 'dbms.security.auth_enabled=false\n' >> "$CONF"
elif [[ "$auth" =~ ^([^/]+)/([^/]+)/?([tT][rR][uU][eE])?$ ]]; then
  user="${BASH_REMATCH[1]}" password="${BASH_REMATCH[2]}" reset="${BASH_REMATCH[3]}"
  [ "$user" = neo4j ] || fail "Invalid admin username, it must be neo4j."
  [ "$password" != neo4j ] || fail "Invalid value for password. It cannot be 'neo4j', which is the default."
  min_length="$(sed -n 's/^dbms\.security\.auth_minimum_password_length=\(.*\)/\1/p' "$CONF" | tail -1)"
  if [ "${#password}" -lt "${min_length:-8}" ]; then
    echo "Invalid value for password. The minimum password length is ${min_length:-8} characters." >&2
  fi
  extra=()
  [ -z "$reset" ] || extra+=(--require-password-change)
  # Neo4j applies an initial password only when it creates the system database; once that exists the
  # official image's call is a no-op, skipped here to save a JVM start on every restart.
  data_dir="$(sed -n 's/^server\.directories\.data=\(.*\)/\1/p' "$CONF" | tail -1)"
  if ! [ -d "${data_dir:-/data}/databases/system" ]; then
    neo4j-admin dbms set-initial-password "$password" "${extra[@]}" >/dev/null
  fi
  unset password
elif [ -n "$auth" ]; then
  fail "Invalid value for NEO4J_AUTH: it must be 'none' or 'neo4j/<password>'"
fi
unset auth

# --- plugins (baked in only) --------------------------------------------------------------------------------
if [ -n "${NEO4J_PLUGINS:-}" ]; then
  plugins_dir="$(sed -n 's/^server\.directories\.plugins=\(.*\)/\1/p' "$CONF" | tail -1)"
  plugins_dir="${plugins_dir:-$NEO4J_HOME/plugins}"
  check_writable "$plugins_dir"
  for plugin in $(echo "$NEO4J_PLUGINS" | tr -d '[]"' | tr ',' ' '); do
    jar="$(find "$NEO4J_HOME/labs" -maxdepth 1 -name "$plugin-*.jar" 2>/dev/null | sort | head -1)"
    [ -n "$jar" ] || fail "NEO4J_PLUGINS: plugin '$plugin' is not baked into this image (it cannot be downloaded here); baked in: $(find "$NEO4J_HOME/labs" -maxdepth 1 -type f -printf '%f ' 2>/dev/null)"
    cp "$jar" "$plugins_dir/"
  done
fi

unset NEO4J_AUTH NEO4J_AUTH_PATH
exec neo4j console
