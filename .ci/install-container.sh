#!/usr/bin/env bash
# Installs what `npm run test:container` needs on a fresh Debian (bookworm) machine: rootful podman
# with runc (crun fails on these hosts' cgroups), buildah, and debootstrap for the stand-in base
# image (scripts/container-base.sh). Run as root; safe to run repeatedly.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
packages=(podman buildah runc debootstrap)

echo "install-container.sh: apt-get update"
apt-get update -qq
echo "install-container.sh: apt-get install ${packages[*]}"
apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
echo "install-container.sh: done ($(podman --version 2>&1), $(buildah --version 2>&1 | cut -d' ' -f1-3), $(runc --version | sed -n 1p))"
