#!/usr/bin/env bash
# Installs the Debian (bookworm) packages the test suite needs. Run as root.
# Safe to run repeatedly; always refreshes the package lists so it works on a fresh machine.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive

packages=(
  ca-certificates
  curl
  make
  git                 # also ships git-http-backend, used by test/harness/git-http.ts
  postgresql-15       # initdb/pg_ctl/postgres for test/harness/postgres.ts
  nginx               # Debian's core binary, built --with-http_dav_module (test/harness/nginx.ts)
  chromium            # headless screenshots of the HTML report
  fonts-liberation    # so chromium renders text without the recommended font packages
  procps              # ps, to check that tests leave no servers behind
  python3-pip         # the python builder's pip (test/commands/process-python.test.ts)
  git-lfs             # LFS=fetch (test/git/git-client.test.ts, test/commands/process-lfs.test.ts)
)

# Package postinst scripts would start a system nginx on :80 and a PostgreSQL cluster on :5432.
# The tests start their own servers on free ports, so forbid service starts during the install
# (https://people.debian.org/~hmh/invokerc.d-policyrc.d-specification.txt, exit 101 = action forbidden).
policy=/usr/sbin/policy-rc.d
created_policy=false
if [[ ! -e "$policy" ]]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  created_policy=true
fi
cleanup() {
  if [[ "$created_policy" == true ]]; then rm -f "$policy"; fi
}
trap cleanup EXIT

echo "install.sh: apt-get update"
apt-get update -qq
echo "install.sh: apt-get install ${packages[*]}"
apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null

if ! nginx -V 2>&1 | grep -q -- '--with-http_dav_module'; then
  echo "install.sh: nginx was built without http_dav_module; the WebDAV tests need it" >&2
  exit 1
fi
if [[ ! -x /usr/lib/postgresql/15/bin/initdb ]]; then
  echo "install.sh: /usr/lib/postgresql/15/bin/initdb is missing after installing postgresql-15" >&2
  exit 1
fi
echo "install.sh: done ($(nginx -v 2>&1), $(git --version), PostgreSQL $(/usr/lib/postgresql/15/bin/postgres --version | awk '{print $3}'))"
