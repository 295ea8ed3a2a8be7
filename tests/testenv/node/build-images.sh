#!/usr/bin/env bash
# Builds the container images of the test environment's real node, once per version, into
# $NEO4J_AKS_CACHE/node-images (default ~/.cache/neo4j-azure-aks), as OCI archives for
# `ctr -n k8s.io images import`. No registry is reachable, so every image a pod uses is built here:
#   pause         the pod sandbox process (tests/testenv/node/pause, static Go binary)
#   neo4j         test fixture laid out like the official neo4j image: Debian bookworm (debootstrap
#                 --variant=minbase) + openjdk-17-jre-headless + tini + the Neo4j jars that
#                 components/neo4j_server.py caches from Maven Central + our own entrypoint
#                 (tests/testenv/node/neo4j-image/docker-entrypoint.sh)
#                 and APOC Core baked into labs/ (NEO4J_PLUGINS='["apoc"]' installs it: nothing can be downloaded)
#   azcli         the Azure CLI image of the backup and restore Jobs (stand-in for mcr.microsoft.com/azure-cli):
#                 Debian bookworm minbase + python3 + the azure-cli release from PyPI in /opt/az, `az` on PATH
# Usage: build-images.sh pause|rootfs|neo4j|azcli ...   Prints "<name> <archive>" per image.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
CACHE="${NEO4J_AKS_CACHE:-$HOME/.cache/neo4j-azure-aks}"
OUT="$CACHE/node-images"
NEO4J_VERSION="${NEO4J_VERSION:?NEO4J_VERSION is required (components/neo4j_server.py sets it)}"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
ROOTFS_VERSION=bookworm-jre17-1   # bump when the package list below changes
PAUSE_TAG=1.0
PAUSE_IMAGE="docker.io/library/testenv-pause:$PAUSE_TAG"
NEO4J_IMAGE="docker.io/library/neo4j-fixture:$NEO4J_VERSION"
APOC_VERSION="${APOC_VERSION:-5.26.19}"   # newest APOC Core 5.26 on Maven Central (2026-12-02)
APOC_BUILD=2                               # bump when build_apoc changes
AZCLI_VERSION="${AZCLI_VERSION:-2.91.0}"  # the version of roles/backup's default backup_cli_image
AZCLI_BUILD=1                              # bump when build_azcli changes
AZCLI_IMAGE="docker.io/library/azure-cli-fixture:$AZCLI_VERSION"
mkdir -p "$OUT"
exec 9>"$OUT/.build.lock"; flock 9
log() { echo "[node-images] $(date +%H:%M:%S) $*" >&2; }
die() { echo "node-images: $*" >&2; exit 1; }
# Content key of the fixture's own files: an entrypoint change rebuilds the (small) top layer only.
fixture_key() { (cd "$HERE" && cat neo4j-image/* oci_image.py build-images.sh | sha256sum | cut -c1-12); }

build_pause() {
  local dir="$OUT/pause-$PAUSE_TAG" archive="$OUT/pause-$PAUSE_TAG.tar"
  if [ -f "$archive" ]; then echo "$PAUSE_IMAGE $archive"; return; fi
  command -v go >/dev/null || die "pause: the Go toolchain is missing (install Go >= 1.26)"
  log "building the pause image"
  rm -rf "$dir"; mkdir -p "$dir/root"
  (cd "$HERE/pause" && GOTOOLCHAIN=local CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$dir/root/pause" .)
  tar -C "$dir/root" --numeric-owner --owner=0 --group=0 -cf "$dir/layer.tar" pause
  echo '{"Entrypoint": ["/pause"], "User": "65535:65535"}' > "$dir/config.json"
  python3 "$HERE/oci_image.py" --name "$PAUSE_IMAGE" --config "$dir/config.json" --out "$archive" "$dir/layer.tar" >/dev/null
  echo "$PAUSE_IMAGE $archive"
}

build_rootfs() {
  local layer="$OUT/rootfs-$ROOTFS_VERSION.tar" dir="$OUT/rootfs-$ROOTFS_VERSION"
  if [ -f "$layer" ]; then echo "rootfs $layer"; return; fi
  command -v debootstrap >/dev/null || die "rootfs: debootstrap is missing; run tests/testenv/node/install-host-packages.sh"
  [ "$(id -u)" = 0 ] || die "rootfs: debootstrap needs root"
  log "debootstrap --variant=minbase bookworm + openjdk-17-jre-headless tini procps (cold: about 2-4 min)"
  rm -rf "$dir"; mkdir -p "$dir"
  debootstrap --variant=minbase bookworm "$dir" "$DEBIAN_MIRROR" >"$OUT/rootfs-debootstrap.log" 2>&1 \
    || die "rootfs: debootstrap failed, see $OUT/rootfs-debootstrap.log"
  mount -t proc proc "$dir/proc"
  trap 'umount "$dir/proc" 2>/dev/null || true' RETURN
  chroot "$dir" /usr/bin/env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    openjdk-17-jre-headless tini procps >"$OUT/rootfs-apt.log" 2>&1 || die "rootfs: apt-get in the rootfs failed, see $OUT/rootfs-apt.log"
  chroot "$dir" apt-get clean
  umount "$dir/proc"; trap - RETURN
  rm -rf "${dir:?}"/var/lib/apt/lists/* "${dir:?}"/usr/share/doc/* "${dir:?}"/usr/share/man/* \
    "${dir:?}"/var/cache/debconf/*-old "${dir:?}"/var/log/* "${dir:?}"/dev/* "${dir:?}"/tmp/*
  tar -C "$dir" --numeric-owner --xattrs -cf "$layer.partial" .
  mv "$layer.partial" "$layer"
  rm -rf "$dir"
  echo "rootfs $layer"
}

# APOC Core and its runtime dependencies from Maven Central, merged into one jar (as the release's
# apoc-<version>-core.jar): jars whose artifact the server's lib already has are left out (the server's copy wins).
build_apoc() {
  local dir="$CACHE/apoc-$APOC_VERSION-$APOC_BUILD-neo4j-$NEO4J_VERSION"
  local jar="$dir/apoc-$APOC_VERSION-core.jar"
  if [ -f "$jar" ]; then echo "apoc $jar"; return; fi
  command -v mvn >/dev/null || die "apoc: mvn is missing; install Maven (apt-get install maven)"
  log "fetching APOC Core $APOC_VERSION and its runtime dependencies with Maven"
  rm -rf "$dir"; mkdir -p "$dir/deps"
  mvn -q -B -f "$HERE/neo4j-image/apoc-pom.xml" dependency:copy-dependencies -DincludeScope=runtime \
    -Dapoc.version="$APOC_VERSION" -DoutputDirectory="$dir/deps" >"$dir/mvn.log" 2>&1 \
    || die "apoc: mvn dependency:copy-dependencies failed, see $dir/mvn.log"
  python3 - "$dir/deps" "$CACHE/neo4j-$NEO4J_VERSION/lib" "$jar.partial" <<'PY'
import re, sys, zipfile
from pathlib import Path
deps, lib, out = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
artifact = lambda name: re.sub(r"-[0-9][^-]*(-[A-Za-z0-9.]+)?\.jar$", "", name)
present = {artifact(j.name) for j in lib.glob("*.jar")}
seen = set()
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as merged:
    # APOC's own modules first: their manifest and service files are the plugin's.
    # apoc-core's manifest first: apoc.version() reads its Implementation-Version.
    for jar in sorted(deps.glob("*.jar"), key=lambda j: (not j.name.startswith("apoc-core-"),
                                                         not j.name.startswith("apoc-"), j.name)):
        if artifact(jar.name) in present:
            continue
        with zipfile.ZipFile(jar) as part:
            for entry in part.infolist():
                name = entry.filename
                if name in seen or re.match(r"META-INF/[^/]+\.(SF|RSA|DSA|EC)$", name):
                    continue
                if name.startswith("META-INF/services/") and not name.endswith("/"):
                    continue  # merged below
                seen.add(name)
                merged.writestr(entry, part.read(name))
    services = {}
    for jar in sorted(deps.glob("*.jar")):
        if artifact(jar.name) in present:
            continue
        with zipfile.ZipFile(jar) as part:
            for name in part.namelist():
                if name.startswith("META-INF/services/") and not name.endswith("/"):
                    services.setdefault(name, []).append(part.read(name).decode().strip())
    for name, parts in services.items():
        merged.writestr(name, "\n".join(parts) + "\n")
PY
  mv "$jar.partial" "$jar"
  echo "apoc $jar"
}

build_neo4j() {
  local key; key="$(fixture_key)"
  local dir="$OUT/neo4j-$NEO4J_VERSION-$key" archive="$OUT/neo4j-fixture-$NEO4J_VERSION-$key.tar"
  if [ -f "$archive" ]; then echo "$NEO4J_IMAGE $archive"; return; fi
  local lib="$CACHE/neo4j-$NEO4J_VERSION/lib"
  [ -f "$CACHE/neo4j-$NEO4J_VERSION/.complete" ] || die "neo4j: the Neo4j jars are not cached in $lib yet (the neo4j component builds them first)"
  local base; base="$(build_rootfs | cut -d' ' -f2)"
  local apoc; apoc="$(build_apoc | cut -d' ' -f2)"
  log "building the Neo4j $NEO4J_VERSION fixture image ($key)"
  rm -rf "$dir"; mkdir -p "$dir/root"
  local r="$dir/root" h="$dir/root/var/lib/neo4j"
  mkdir -p "$h/bin" "$h/conf" "$h/lib" "$h/labs" "$h/plugins" "$h/run" "$h/licenses" "$h/import" "$r/startup" \
    "$r/data" "$r/logs" "$r/import" "$r/licenses" "$r/metrics" "$r/etc" "$r/var/lib/neo4j-fixture"
  cp "$lib"/*.jar "$h/lib/"
  cp "$apoc" "$h/labs/"
  install -m 0755 "$HERE/neo4j-image/docker-entrypoint.sh" "$r/startup/docker-entrypoint.sh"
  install -m 0755 "$HERE/neo4j-image/neo4j" "$h/bin/neo4j"
  install -m 0755 "$HERE/neo4j-image/neo4j" "$h/bin/neo4j-admin"
  install -m 0644 "$HERE/neo4j-image/neo4j.conf" "$h/conf/neo4j.conf"
  # The user of the official image: neo4j, uid/gid 7474, home /var/lib/neo4j.
  mkdir -p "$dir/base-etc"; tar -C "$dir/base-etc" -xf "$base" ./etc/passwd ./etc/group
  cp "$dir/base-etc/etc/passwd" "$dir/base-etc/etc/group" "$r/etc/"
  echo "neo4j:x:7474:7474:neo4j:/var/lib/neo4j:/bin/bash" >> "$r/etc/passwd"
  echo "neo4j:x:7474:" >> "$r/etc/group"
  mkdir -p "$r/usr/local/bin"
  ln -s /var/lib/neo4j/bin/neo4j "$r/usr/local/bin/neo4j"; ln -s /var/lib/neo4j/bin/neo4j-admin "$r/usr/local/bin/neo4j-admin"
  ln -s /data "$h/data"; ln -s /logs "$h/logs"; ln -s /metrics "$h/metrics"
  chown -R 7474:7474 "$h" "$r/data" "$r/logs" "$r/import" "$r/licenses" "$r/metrics"
  tar -C "$r" --numeric-owner -cf "$dir/layer.tar" .
  cat > "$dir/config.json" <<JSON
{"Entrypoint": ["/usr/bin/tini", "-g", "--", "/startup/docker-entrypoint.sh"], "Cmd": ["neo4j"],
 "Env": ["PATH=/var/lib/neo4j/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
         "JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64", "NEO4J_HOME=/var/lib/neo4j", "NEO4J_EDITION=community",
         "LANG=C.UTF-8"],
 "WorkingDir": "/var/lib/neo4j", "ExposedPorts": {"7474/tcp": {}, "7473/tcp": {}, "7687/tcp": {}},
 "Volumes": {"/data": {}, "/logs": {}}}
JSON
  python3 "$HERE/oci_image.py" --name "$NEO4J_IMAGE" --config "$dir/config.json" --out "$archive" "$base" "$dir/layer.tar" >/dev/null
  rm -rf "$r" "$dir/base-etc" "$dir/layer.tar"
  # Older fixture builds of this version are superseded.
  find "$OUT" -maxdepth 1 -name "neo4j-fixture-$NEO4J_VERSION-*.tar" ! -name "$(basename "$archive")" -delete
  find "$OUT" -maxdepth 1 -type d -name "neo4j-$NEO4J_VERSION-*" ! -name "$(basename "$dir")" -exec rm -rf {} +
  echo "$NEO4J_IMAGE $archive"
}

build_azcli() {
  local key="$AZCLI_VERSION-$AZCLI_BUILD" dir archive
  dir="$OUT/azcli-$key"; archive="$OUT/azure-cli-fixture-$key.tar"
  if [ -f "$archive" ]; then echo "$AZCLI_IMAGE $archive"; return; fi
  command -v debootstrap >/dev/null || die "azcli: debootstrap is missing; run tests/testenv/node/install-host-packages.sh"
  [ "$(id -u)" = 0 ] || die "azcli: debootstrap needs root"
  log "building the Azure CLI $AZCLI_VERSION image: debootstrap + python3, pip install azure-cli (cold: about 5-8 min)"
  rm -rf "$dir"; mkdir -p "$dir/root"
  local r="$dir/root"
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates bookworm "$r" "$DEBIAN_MIRROR" \
    >"$OUT/azcli-debootstrap.log" 2>&1 || die "azcli: debootstrap failed, see $OUT/azcli-debootstrap.log"
  # pip inside the rootfs reaches PyPI as the host's pip does: the host's resolver and CA bundle, for the build only.
  cp /etc/resolv.conf "$r/etc/resolv.conf"
  mkdir -p "$r/tmp/build-ca"; cp "${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}" "$r/tmp/build-ca/ca.crt"
  local pipenv=(/usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/root LANG=C.UTF-8 PIP_CERT=/tmp/build-ca/ca.crt
                PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_DEFAULT_TIMEOUT="${PIP_DEFAULT_TIMEOUT:-180}" PIP_NO_CACHE_DIR=1)
  chroot "$r" "${pipenv[@]}" python3 -m venv /opt/az >"$OUT/azcli-pip.log" 2>&1 || die "azcli: python3 -m venv failed, see $OUT/azcli-pip.log"
  chroot "$r" "${pipenv[@]}" /opt/az/bin/pip install -q "azure-cli==$AZCLI_VERSION" >>"$OUT/azcli-pip.log" 2>&1 \
    || die "azcli: pip install azure-cli==$AZCLI_VERSION failed, see $OUT/azcli-pip.log"
  ln -s /opt/az/bin/az "$r/usr/local/bin/az"
  chroot "$r" /opt/az/bin/az version --output none >>"$OUT/azcli-pip.log" 2>&1 || die "azcli: az does not start, see $OUT/azcli-pip.log"
  rm -rf "${r:?}/tmp/"* "${r:?}/root/.azure" "${r:?}"/var/lib/apt/lists/* "${r:?}"/usr/share/doc/* "${r:?}"/usr/share/man/* \
    "${r:?}"/var/log/* "${r:?}"/dev/*
  : >"$r/etc/resolv.conf"
  tar -C "$r" --numeric-owner -cf "$dir/layer.tar" .
  cat > "$dir/config.json" <<JSON
{"Cmd": ["bash"], "Env": ["PATH=/opt/az/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"],
 "WorkingDir": "/"}
JSON
  python3 "$HERE/oci_image.py" --name "$AZCLI_IMAGE" --config "$dir/config.json" --out "$archive" "$dir/layer.tar" >/dev/null
  rm -rf "$dir"
  echo "$AZCLI_IMAGE $archive"
}

[ $# -gt 0 ] || set -- pause neo4j azcli
for image in "$@"; do "build_$image"; done
