#!/usr/bin/env bash
# Rewrites link/symbol-order.txt: the functions of the operator that a bench run executes, in
# the order of their addresses in the current build. build.rs hands the file to the linker
# so that the release binary's code in use shares a few pages (README, Performance).
#
# Symbol names carry a hash of the exact rustc version and of each crate's version: run it
# after a change of toolchain, of dependencies or of this crate's version, or when the bench's
# file-backed RSS grows. `--check` only counts how many of the file's functions the release
# binary has (it fails under 90%). Needs valgrind (callgrind), nm and python3; takes about
# 5 minutes on 2 cores.
#   bash scripts/update-symbol-order.sh [OBJECTS | --check]
set -euo pipefail
cd "$(dirname "$0")/.."

binary=target/release/scaleway-serverless-operator
cargo build --release --bin scaleway-serverless-operator

if [[ "${1:-}" == "--check" ]]; then
  nm --defined-only "$binary" | python3 -c '
import sys
present = {line.split()[-1] for line in sys.stdin if line.strip()}
listed = [line.strip() for line in open("link/symbol-order.txt") if line.strip()]
found = sum(name in present for name in listed)
print(f"link/symbol-order.txt: {found} of {len(listed)} functions are in {sys.argv[1]}")
sys.exit(0 if found >= 0.9 * len(listed) else 1)
' "$binary"
  exit
fi

objects="${1:-1000}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The bench ends its operator with SIGKILL, which callgrind cannot write its output on, so it
# is asked to dump every few seconds instead: each dump holds what ran since the last one.
BENCH_OPERATOR_WRAPPER="valgrind --tool=callgrind --callgrind-out-file=$work/callgrind.out --demangle=no --dump-instr=no --compress-strings=no" \
  "$binary" bench --objects "$objects" --resync-period 10s --steady-periods 6 --timeout 15m \
  >"$work/bench.txt" 2>&1 &
bench=$!
while kill -0 "$bench" 2>/dev/null; do
  sleep 5
  for pid in $(pgrep -f -- "--callgrind-out-file=$work/callgrind.out" || true); do
    callgrind_control --dump "$pid" >/dev/null 2>&1 || true
  done
done
if ! wait "$bench"; then
  cat "$work/bench.txt" >&2
  echo "the bench run failed" >&2
  exit 1
fi

nm --defined-only --print-size "$binary" >"$work/symbols.txt"
python3 - "$work" link/symbol-order.txt <<'EOF'
import glob, sys

work, out = sys.argv[1], sys.argv[2]
ran = set()
for dump in glob.glob(f"{work}/callgrind.out*"):
    with open(dump, errors="replace") as lines:
        for line in lines:
            if line.startswith(("fn=", "cfn=")):
                name = line.split("=", 1)[1].strip()
                if name.startswith("("):  # "(id) name" when names are compressed
                    name = name.split(") ", 1)[-1]
                ran.add(name)
functions = {}
with open(f"{work}/symbols.txt") as lines:
    for line in lines:
        parts = line.split()
        if len(parts) == 4 and parts[2] in "tTwW" and parts[3] in ran:
            functions.setdefault(parts[3], int(parts[0], 16))
if len(functions) < 1000:
    sys.exit(f"only {len(functions)} functions of the binary were seen running: not written")
with open(out, "w") as file:
    for name in sorted(functions, key=functions.get):
        file.write(name + "\n")
print(f"{out}: {len(functions)} functions")
EOF
