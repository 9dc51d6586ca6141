#!/usr/bin/env bash
# Checks terraform/ offline: fmt, init, validate and the mock-provider tests (terraform/tests/).
# The hashicorp/aws provider comes from the filesystem mirror only, never from the registry,
# through a CLI config file of our own. Works from a fresh clone: init creates .terraform/ and
# the lock file, both git-ignored. Fails loudly; never skips.
set -euo pipefail

repo_root="$(cd "$(dirname "$0")/.." && pwd)"
mirror="${TF_PROVIDER_MIRROR:-/opt/tf-plugins}"
# `override_during = plan` in the tests needs Terraform 1.11.
minimum_version="1.11.0"

fail() {
  echo "terraform.sh: $*" >&2
  exit 1
}

command -v terraform >/dev/null 2>&1 ||
  fail "terraform is not on PATH: install Terraform >= ${minimum_version} (e.g. /usr/local/bin/terraform)"

[[ -d "$mirror/registry.terraform.io/hashicorp/aws" ]] ||
  fail "the provider mirror $mirror/registry.terraform.io/hashicorp/aws is missing: fill it with \`terraform providers mirror $mirror\` on a machine with internet access (hashicorp/aws >= 5.60, < 6.0), or set TF_PROVIDER_MIRROR"

version="$(terraform version | sed -n 1p | sed -E 's/^Terraform v([0-9]+\.[0-9]+\.[0-9]+).*$/\1/')"
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "cannot read the Terraform version from \`terraform version\`"
if [[ "$(printf '%s\n%s\n' "$minimum_version" "$version" | sort -V | head -n 1)" != "$minimum_version" ]]; then
  fail "Terraform $version is too old: the tests need >= $minimum_version"
fi

cli_config="$(mktemp "${TMPDIR:-/tmp}/terraform-cli.XXXXXX.tfrc")"
trap 'rm -f "$cli_config"' EXIT
cat >"$cli_config" <<EOF
provider_installation {
  filesystem_mirror {
    path    = "$mirror"
    include = ["registry.terraform.io/hashicorp/aws"]
  }
}
EOF
export TF_CLI_CONFIG_FILE="$cli_config"
export TF_IN_AUTOMATION=1
export TF_INPUT=0
# A developer's plugin cache or extra arguments must not change what CI checks.
unset TF_PLUGIN_CACHE_DIR TF_CLI_ARGS TF_CLI_ARGS_init TF_CLI_ARGS_validate TF_CLI_ARGS_test TF_CLI_ARGS_fmt

cd "$repo_root/terraform"
echo "terraform.sh: Terraform $version, providers from $mirror"

echo "terraform.sh: fmt -check -recursive"
terraform fmt -check -recursive ||
  fail "files above are not formatted: run \`terraform fmt -recursive\` in terraform/"

echo "terraform.sh: init -backend=false"
terraform init -backend=false -input=false -no-color ||
  fail "terraform init failed (is a hashicorp/aws version within versions.tf's constraint in $mirror?)"

echo "terraform.sh: validate"
terraform validate -no-color

echo "terraform.sh: test"
terraform test -no-color

echo "terraform.sh: ok"
