#!/usr/bin/env bash
# Benchmark: hash a tree of 10,000 files / 1 GB as a `tree` source, against sha256sum over
# the same files run in parallel on all cores, in the same run (best of 3 each, warm cache).
#
#   bash bench/tree_hash.sh [FILES] [KB_PER_FILE]     (default 10000 files of 100 KB)
set -euo pipefail
cd "$(dirname "$0")/.."
files=${1:-10000}
kb=${2:-100}
cargo build --release --locked --bin crosscheck >&2
bin=$PWD/target/release/crosscheck
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "writing $files files of $kb KB…" >&2
mkdir -p "$work/tree"
python3 - "$work/tree" "$files" "$kb" <<'PY'
import os, sys
root, files, kb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
block = os.urandom(kb * 1024)
for i in range(files):
    d = os.path.join(root, f"d{i % 100:02d}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{i:05d}.bin"), "wb") as f:
        f.write(block[i % 997:] + block[: i % 997])
PY
mkdir -p "$work/project/rules"
printf 'sources:\n  assets:\n    tree: %s\n' "$work/tree" >"$work/project/crosscheck.yaml"
printf 'rules:\n  - name: hashed\n    type: row_count\n    table: assets.files\n    min: %s\n' "$files" >"$work/project/rules/r.yaml"
cat "$work/tree"/*/* >/dev/null   # warm the page cache for both contestants

best() { sort -n | head -1; }
seconds() { local s e; s=$(date +%s.%N); "$@" >/dev/null; e=$(date +%s.%N); echo "$e - $s" | bc; }
cores=$(nproc)
floor=$(for _ in 1 2 3; do seconds sh -c "find '$work/tree' -type f -print0 | xargs -0 -P $cores -n 100 sha256sum"; done | best)
ours=$(for _ in 1 2 3; do seconds sh -c "cd '$work/project' && '$bin' run -q --no-progress"; done | best)
(cd "$work/project" && "$bin" run -q --no-progress) || { echo "the run failed" >&2; exit 1; }
printf 'files: %s × %s KB on %s cores\n' "$files" "$kb" "$cores"
printf 'floor (sha256sum, %s in parallel): %.3fs\n' "$cores" "$floor"
printf 'crosscheck tree source:           %.3fs\n' "$ours"
printf 'ratio: %.2fx the floor\n' "$(echo "$ours / $floor" | bc -l)"
