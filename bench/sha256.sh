#!/usr/bin/env bash
# SHA-256 throughput of rget's core (through `rget sums FILE`, which streams the file through
# rget::core::digest) against GNU `sha256sum` and `openssl dgst -sha256`, on the same 1 GiB file,
# in one hyperfine run. The file is read once first so that every tool hashes from the page cache.
#
#   bench/sha256.sh            # writes bench/results/sha256.md and prints MB/s per tool
#   BENCH_FILE=/path bench/sha256.sh
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { echo "needs hyperfine (apt-get install hyperfine)"; exit 1; }
cargo build --release --locked --quiet
file=${BENCH_FILE:-${TMPDIR:-/tmp}/rget-bench-1GiB}
if [ ! -f "$file" ] || [ "$(stat -c %s "$file")" -ne 1073741824 ]; then
  head -c 1073741824 /dev/urandom > "$file"
fi
cat "$file" > /dev/null
mkdir -p bench/results
# The three tools must agree, or the comparison means nothing.
a=$(target/release/rget sums "$file" | cut -c1-64)
b=$(sha256sum "$file" | cut -c1-64)
c=$(openssl dgst -sha256 -r "$file" | cut -c1-64)
[ "$a" = "$b" ] && [ "$b" = "$c" ] || { echo "digests differ: $a $b $c"; exit 1; }
hyperfine --warmup 1 --runs 7 -N \
  --export-json bench/results/sha256.json --export-markdown bench/results/sha256.md \
  "target/release/rget sums $file" "sha256sum $file" "openssl dgst -sha256 $file"
python3 - <<'PY'
import json
r = json.load(open("bench/results/sha256.json"))["results"]
size = 1073741824
base = next(x for x in r if x["command"].startswith("openssl"))["median"]
for x in r:
    print(f'{x["command"].split()[0]:>22}: median {x["median"]:.3f} s = {size / x["median"] / 1e6:,.0f} MB/s; '
          f'time ratio to openssl {x["median"] / base:.2f}')
PY
