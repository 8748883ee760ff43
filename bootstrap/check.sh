#!/bin/sh
# Checks the static, size, start-up and reproducibility properties of rget-bootstrap.
#
#   bootstrap/check.sh                   # two clean checkouts of HEAD, two fresh target dirs (slow)
#   bootstrap/check.sh --cache DIR       # build under DIR and keep the target dirs between runs
#   bootstrap/check.sh --runs N          # start-up: median of N runs of `--version` (default 200)
#   bootstrap/check.sh --same-cargo-home # the second build uses $CARGO_HOME too (see 2.)
#
# 1. Clones the current commit (HEAD; uncommitted changes are NOT included) twice, into two
#    temporary directories of different path lengths.
# 2. Builds each with its own bootstrap/build.sh and its own CARGO_TARGET_DIR; the second build
#    starts after the first has finished (and at least 2 s later), so the builds differ in path,
#    target directory and time. The second build also uses another CARGO_HOME: a copy of the
#    registry index and crate archives of $CARGO_HOME (~/.cargo) at another path, offline, so the
#    crates' sources are unpacked at another path too. Same toolchain; RGET_PINNED_DIR if set.
# 3. Checks that `file` says static-pie/statically linked, that `ldd` finds no dynamic dependency,
#    and that the size is at most 2.75 MiB (2,883,584 bytes).
# 4. Measures start-up: the median of N runs of `rget-bootstrap --version` (hyperfine -N if
#    installed, else a shell loop around `date +%s%N`, which includes the shell's fork).
# 5. Compares the two binaries byte for byte (cmp) and prints the SHA-256.
# Exits non-zero if any check fails. Temporary checkouts (and fresh target dirs) are removed at exit.
set -eu
runs=200
cache=
same_home=
while [ $# -gt 0 ]; do
  case $1 in
  --cache) cache=$2; shift 2 ;;
  --runs) runs=$2; shift 2 ;;
  --same-cargo-home) same_home=1; shift ;;
  -h | --help) sed -n '2,22p' "$0"; exit 0 ;;
  *) echo "usage: $0 [--cache DIR] [--runs N] [--same-cargo-home]" >&2; exit 2 ;;
  esac
done
repo=$(cd "$(dirname "$0")/.." && pwd)
commit=$(git -C "$repo" rev-parse HEAD)
if [ -n "$(git -C "$repo" status --porcelain --untracked-files=no)" ]; then
  echo "note: $repo has uncommitted changes; checking the commit $commit without them" >&2
fi
target=x86_64-unknown-linux-gnu
max=2883584 # 2.75 MiB

work=$(mktemp -d "${TMPDIR:-/tmp}/rget-check.XXXXXX")
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# Two checkouts whose paths differ in length (and in every component under $base). With --cache the
# checkouts (re-cloned every run), target dirs and second CARGO_HOME live at fixed paths under DIR, so
# that RUSTFLAGS (which name the paths to remap) stay the same and only the workspace crates rebuild.
base=$work
if [ -n "$cache" ]; then
  mkdir -p "$cache"
  base=$(cd "$cache" && pwd)
  rm -rf "$base/a" "$base/second-checkout"
  cleanup() { rm -rf "$work" "$base/a" "$base/second-checkout"; }
fi
src_a=$base/a
src_b=$base/second-checkout/of/rget-bootstrap
tgt_a=$base/target-a
tgt_b=$base/target-of-the-second-build
cargo_home=${CARGO_HOME:-$HOME/.cargo}

build() { # build SRC TARGET_DIR LOG CARGO_HOME
  git clone --quiet --no-checkout "$repo" "$1"
  git -C "$1" checkout --quiet --detach "$commit"
  echo "== build in $1 (CARGO_TARGET_DIR=$2, CARGO_HOME=$4), started $(date -u +%H:%M:%SZ)"
  start=$(date +%s)
  if ! CARGO_TARGET_DIR=$2 CARGO_HOME=$4 "$1/bootstrap/build.sh" >"$3" 2>&1; then
    cat "$3" >&2
    echo "error: the build in $1 failed" >&2
    exit 1
  fi
  echo "   finished $(date -u +%H:%M:%SZ) ($(($(date +%s) - start)) s)"
}

echo "commit:    $commit"
echo "toolchain: $(rustc --version), $(cargo --version)"
build "$src_a" "$tgt_a" "$work/build-a.log" "$cargo_home"
sleep 2
home_b=$cargo_home
if [ -z "$same_home" ]; then
  home_b=$base/another/cargo-home
  mkdir -p "$home_b/registry"
  for d in index cache; do
    [ -d "$cargo_home/registry/$d" ] && cp -R "$cargo_home/registry/$d" "$home_b/registry/"
  done
  export CARGO_NET_OFFLINE=true # only what the first build already fetched
fi
build "$src_b" "$tgt_b" "$work/build-b.log" "$home_b"
bin_a=$tgt_a/$target/bootstrap/rget-bootstrap
bin_b=$tgt_b/$target/bootstrap/rget-bootstrap

fail=0
bad() { echo "FAIL: $*" >&2; fail=1; }

# Static: `file` and `ldd`.
ftype=$(file -b "$bin_a")
echo "file:      $ftype"
case $ftype in
*static-pie\ linked* | *statically\ linked*) ;;
*) bad "file does not call it statically linked" ;;
esac
ldd_out=$(ldd "$bin_a" 2>&1 || true)
echo "ldd:       $(echo "$ldd_out" | tr -d '\t' | head -n1)"
case $ldd_out in
*"not a dynamic executable"* | *"statically linked"*) ;;
*) bad "ldd lists dynamic dependencies" ;;
esac
if readelf -d "$bin_a" 2>/dev/null | grep -q NEEDED; then bad "the binary has DT_NEEDED entries"; fi
if readelf -l "$bin_a" 2>/dev/null | grep -q INTERP; then bad "the binary has a PT_INTERP"; fi

# Size.
size=$(stat -c %s "$bin_a")
echo "size:      $size bytes ($(awk "BEGIN{printf \"%.2f\", $size/1048576}") MiB; limit $max)"
[ "$size" -le "$max" ] || bad "larger than 2.75 MiB"

# Start-up: median of $runs runs of `--version`.
"$bin_a" --version >/dev/null || bad "--version failed"
if command -v hyperfine >/dev/null; then
  hyperfine -N --warmup 20 --runs "$runs" --export-json "$work/startup.json" \
    "$bin_a --version" >/dev/null 2>&1
  startup=$(awk '/"median"/ {gsub(/[",]/, "", $2); printf "%.3f", $2 * 1000; exit}' "$work/startup.json")
  how="hyperfine -N, 20 warm-up"
else
  i=0
  while [ $i -lt "$runs" ]; do
    t0=$(date +%s%N)
    "$bin_a" --version >/dev/null
    t1=$(date +%s%N)
    echo $((t1 - t0))
    i=$((i + 1))
  done | sort -n >"$work/startup.txt"
  startup=$(awk '{a[NR]=$1} END{m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.3f", m/1e6}' "$work/startup.txt")
  how="shell loop around date +%s%N, includes a fork"
fi
echo "start-up:  median $startup ms over $runs runs of --version ($how)"

# Reproducibility.
sum_a=$(sha256sum "$bin_a" | cut -d' ' -f1)
sum_b=$(sha256sum "$bin_b" | cut -d' ' -f1)
if cmp -s "$bin_a" "$bin_b"; then
  echo "identical: yes, two builds in different directories at different times (cmp)"
  [ -n "$same_home" ] || echo "           (and with the crates unpacked under different CARGO_HOMEs)"
else
  bad "the two builds differ: $sum_a (in $src_a) and $sum_b (in $src_b)"
  cmp -l "$bin_a" "$bin_b" | wc -l | sed 's/^/           bytes differing: /' >&2
  if [ -n "$cache" ]; then
    cp "$bin_a" "$cache/rget-bootstrap.a"
    cp "$bin_b" "$cache/rget-bootstrap.b"
    echo "           both binaries kept in $cache" >&2
  fi
fi
echo "sha256:    $sum_a  rget-bootstrap"
exit $fail
