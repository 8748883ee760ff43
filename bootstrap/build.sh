#!/bin/sh
# The static release build of rget-bootstrap: static-pie glibc, opt-level "z", fat LTO, one codegen
# unit, panic=abort, stripped ([profile.bootstrap] in the workspace Cargo.toml, with sha2 at
# opt-level 3), paths remapped, SOURCE_DATE_EPOCH set, dependencies locked.
#
#   bootstrap/build.sh            # uses pinned/ (or $RGET_PINNED_DIR)
#
# Prints the output path, `file` and `ldd` results, the size and the SHA-256. Fails if the binary
# is not statically linked or is larger than 2.75 MiB.
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
target=x86_64-unknown-linux-gnu
target_dir=${CARGO_TARGET_DIR:-$root/target}
cargo_home=${CARGO_HOME:-$HOME/.cargo}
# The commit time, so that two builds of one commit agree; 0 outside a git checkout.
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
export SOURCE_DATE_EPOCH
# -z pack-relative-relocs: RELR relative relocations (glibc >= 2.36 applies them in static-pie
# start-up too): the ~100 KB .rela.dyn of a static-pie shrinks to a few KB.
# --icf=all (rustc links x86_64 Linux with LLD): identical functions, mostly generic instantiations
# that monomorphised to the same machine code, are kept once (-16 KB). Rust makes no promise that
# two functions have distinct addresses, and nothing here compares function addresses.
# --target makes RUSTFLAGS apply to the binary only, not to build scripts (which must run on the host).
RUSTFLAGS="-C target-feature=+crt-static -C link-arg=-Wl,-z,pack-relative-relocs -C link-arg=-Wl,--icf=all --remap-path-prefix=$root=/rget --remap-path-prefix=$cargo_home=/cargo --remap-path-prefix=$target_dir=/target"
export RUSTFLAGS
# RGET_BUILD_PROFILE=dev: a fast unoptimised build for tests of the release process (no size limit).
profile=${RGET_BUILD_PROFILE:-bootstrap}
cargo build --locked --profile "$profile" --target "$target" -p rget-bootstrap
case $profile in dev) out=$target_dir/$target/debug/rget-bootstrap ;; *) out=$target_dir/$target/$profile/rget-bootstrap ;; esac
size=$(stat -c %s "$out")
max=2883584 # 2.75 MiB
echo "output: $out"
echo "file:   $(file -b "$out")"
echo "ldd:    $(ldd "$out" 2>&1 | tr -d '\t' | head -n1)"
echo "size:   $size bytes ($(awk "BEGIN{printf \"%.2f\", $size/1048576}") MiB; limit $max)"
echo "sha256: $(sha256sum "$out" | cut -d' ' -f1)"
case $(file -b "$out") in
*static-pie\ linked* | *statically\ linked*) ;;
*) echo "error: $out is not statically linked" >&2; exit 1 ;;
esac
if [ "$profile" = bootstrap ] && [ "$size" -gt "$max" ]; then
  echo "error: $out is $size bytes, more than 2.75 MiB" >&2
  exit 1
fi
