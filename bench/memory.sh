#!/usr/bin/env bash
# Benchmark: the memory limit is a promise for the whole process. Diffs two shuffled CSV files
# of ROWS rows (145 MB each at the default 3,000,000), far larger than the limit, and prints
# crosscheck's peak resident memory against CROSSCHECK_MEMORY_LIMIT for a few limits, with
# the diff's counts (2 only in the source, 6 changed, whatever the limit).
#
#   bash bench/memory.sh [ROWS] [LIMITS…]        (default 3000000; 128 256 512 MiB)
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-3000000}
shift || true
limits=("${@:-128 256 512}")
read -ra limits <<<"${limits[*]}"

cargo build --release --locked --bin crosscheck >&2
bin=$PWD/target/release/crosscheck
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/s" "$work/t" "$work/tmp"

echo "writing 2 × $rows shuffled rows…" >&2
python3 - "$rows" "$work" <<'PY'
import random, sys
rows, work = int(sys.argv[1]), sys.argv[2]
def write(path, seed, change):
    ids = list(range(1, rows + 1))
    random.Random(seed).shuffle(ids)
    with open(path, "w") as f:
        f.write("id,name,amount,created_at,status\n")
        for i in ids:
            row = (f"{i},user_{i:08},{i * 37 % 1000}.{i % 100:02},2024-{i % 12 + 1:02}-{i % 28 + 1:02},"
                   f"{'closed' if i % 3 == 0 else 'active'}")
            row = change(i, row)
            if row is not None:
                f.write(row + "\n")
write(f"{work}/s/big.csv", 7, lambda i, r: r)
# Two rows dropped, six changed.
write(f"{work}/t/big.csv", 11, lambda i, r: None if i in (5, rows // 2) else
      (r.replace("active", "ACTIVE").replace("closed", "CLOSED") if i % (rows // 6) == 1 else r))
PY
printf 'rows: %s, file size %s\n\n' "$rows" "$(du -h "$work/s/big.csv" | cut -f1)"

for limit in "${limits[@]}"; do
    start=$(date +%s.%N)
    peak=$( { CROSSCHECK_MEMORY_LIMIT=$limit TMPDIR=$work/tmp /usr/bin/time -f %M \
        "$bin" diff "$work/s/big.csv" "$work/t/big.csv" --key id -q --no-progress \
        --json "$work/r.json" >/dev/null || true; } 2>&1 | tail -1)
    end=$(date +%s.%N)
    python3 - "$limit" "$peak" "$(echo "$end - $start" | bc)" "$work/r.json" <<'PY'
import json, sys
limit, peak_kb, secs, path = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
d = json.load(open(path))["rules"][0]["diff"]
peak = peak_kb / 1024
print(f"limit {limit:5d} MiB  peak RSS {peak:7.1f} MiB  ({peak / limit:4.2f}x limit)  {secs:6.1f}s  "
      f"only_in_source={d.get('only_in_source')} only_in_target={d.get('only_in_target')} changed={d.get('changed')}")
PY
done
