# Sourced (not run) by scripts/container-base.sh and test/container/: points rootful podman and
# buildah at a private configuration that works on this kind of host, and exports
# CONTAINERS_CONF and CONTAINERS_STORAGE_CONF. Nothing of the machine's own podman setup is used
# or changed. Override the cache location with MASS_INGEST_PODMAN_CACHE.
#
# Why each setting (see issue 7, "Container test"):
# - runtime runc: crun fails on this host's cgroups; cgroup_manager cgroupfs: there is no systemd.
# - default_ulimits: podman's default nofile is above this host's hard limit, and runc then cannot
#   start any container; we stay within `ulimit -Hn` / `ulimit -Hu`. Podman also lowers its own
#   (and so conmon's and runc's) nproc limit to kernel.pid_max when that is lower (32768 here), and
#   runc may only lower limits, so nproc stays within pid_max too.
# - netns none: containers get no network unless a command asks for one (builds use --network=host,
#   runs --network=none), so the default bridge never touches the host's IP forwarding.
# - runroot under /run in fewer than 50 characters: podman rejects a longer one in the cleanup
#   command conmon runs, and every `podman run` then hangs 20 s and leaves its --rm container.

mass_ingest_podman_cache="${MASS_INGEST_PODMAN_CACHE:-/var/tmp/mass-ingest-podman}"
mass_ingest_podman_runroot="/run/mass-ingest-podman"
mass_ingest_podman_tmpdir="/run/mass-ingest-libpod"

mass_ingest_ulimit() {
  local hard="$1" cap="$2"
  if [[ "$hard" == unlimited || "$hard" -gt "$cap" ]]; then echo "$cap"; else echo "$hard"; fi
}

mass_ingest_write_podman_conf() {
  local nofile nproc
  nofile="$(mass_ingest_ulimit "$(ulimit -Hn)" 65536)"
  nproc="$(mass_ingest_ulimit "$(ulimit -Hu)" "$(cat /proc/sys/kernel/pid_max 2>/dev/null || echo 32768)")"
  nproc="$(mass_ingest_ulimit "$nproc" 65536)"
  mkdir -p "$mass_ingest_podman_cache/storage" "$mass_ingest_podman_runroot" "$mass_ingest_podman_tmpdir"
  cat >"$mass_ingest_podman_cache/containers.conf.new" <<EOF
[containers]
netns = "none"
default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "${mass_ingest_podman_cache}/events.log"
tmp_dir = "${mass_ingest_podman_tmpdir}"
EOF
  cat >"$mass_ingest_podman_cache/storage.conf.new" <<EOF
[storage]
driver = "overlay"
graphroot = "${mass_ingest_podman_cache}/storage"
runroot = "${mass_ingest_podman_runroot}"
EOF
  mv -f "$mass_ingest_podman_cache/containers.conf.new" "$mass_ingest_podman_cache/containers.conf"
  mv -f "$mass_ingest_podman_cache/storage.conf.new" "$mass_ingest_podman_cache/storage.conf"
}

if [[ ${#mass_ingest_podman_runroot} -ge 50 ]]; then
  echo "podman-env.sh: runroot $mass_ingest_podman_runroot must be shorter than 50 characters" >&2
  return 1
fi
mass_ingest_write_podman_conf
export CONTAINERS_CONF="$mass_ingest_podman_cache/containers.conf"
export CONTAINERS_STORAGE_CONF="$mass_ingest_podman_cache/storage.conf"
