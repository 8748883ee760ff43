#!/bin/sh
# rget's own release process, for the host target:
#
#   bootstrap/release.sh --key SECRET-KEY --log URL --policy FILE --out DIR [--pinned DIR]
#                        [--cacert FILE] [--allow-http] [--state DIR]
#   bootstrap/release.sh --sigsum-key SSH-KEY --sigsum-policy FILE|NAME [--sigsum-token DOMAIN:KEYFILE]
#                        [--key SECRET-KEY] --out DIR [--pinned DIR] [--cacert FILE] [--allow-http]
#                        [--state DIR]
#
# 1. builds rget reproducibly (paths remapped, SOURCE_DATE_EPOCH from the commit, --locked), with
#    the release trust of the pin set (release.pub, policy, source) compiled in, as
#    DIR/rget-<version>-<target>; <version> is the package version in Cargo.toml;
# 2. appends its digest to the pin set's SHA256SUMS (never rewrites a line: the same name with
#    another digest is an error, since a rewritten pin is indistinguishable from a tampered one);
# 3. builds rget-bootstrap with bootstrap/build.sh against that pin set, as
#    DIR/rget-bootstrap-<version>-<target>;
# 4. runs `rget release DIR` with the new rget: SHA256SUMS for both binaries, signed with the
#    release key, submitted to the log, the proof verified under the policy; DIR then holds
#    everything to upload to the release directory the pin set's `source` names for <version>.
#    With --sigsum-key and --sigsum-policy, step 4 logs SHA256SUMS in the Sigsum logs of that policy
#    instead (`rget release --sigsum-...`: SHA256SUMS.proof; --sigsum-token for logs that rate-limit
#    by domain, as the public ones do); the pin set must then be a Sigsum one (release.pub: the
#    ssh-ed25519 public key; policy: the same Sigsum policy). --key (minisign) is then optional.
#
# The pin set (default pinned/) must already trust the key's public half (release.pub), the log
# and witnesses (policy) and name the release directory (source). Commit its updated SHA256SUMS.
# RGET_BUILD_PROFILE=dev builds both binaries with Cargo's dev profile (for tests: much faster,
# not a release).
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
pinned=$root/pinned
key= log= policy= out= cacert= allow_http= state= sigsum_key= sigsum_policy= sigsum_token=
while [ $# -gt 0 ]; do
  case $1 in
  --key) key=$2; shift 2 ;;
  --sigsum-key) sigsum_key=$2; shift 2 ;;
  --sigsum-policy) sigsum_policy=$2; shift 2 ;;
  --sigsum-token) sigsum_token=$2; shift 2 ;;
  --log) log=$2; shift 2 ;;
  --policy) policy=$2; shift 2 ;;
  --out) out=$2; shift 2 ;;
  --pinned) pinned=$2; shift 2 ;;
  --cacert) cacert=$2; shift 2 ;;
  --allow-http) allow_http=--allow-http; shift ;;
  --state) state=$2; shift 2 ;;
  -h | --help) sed -n '2,33p' "$0"; exit 0 ;;
  *) echo "release.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ -n "$sigsum_key$sigsum_policy" ]; then
  required="sigsum_key sigsum_policy out"
else
  required="key log policy out"
fi
for v in $required; do
  eval "val=\$$v"
  if [ -z "$val" ]; then echo "release.sh: --$(echo "$v" | tr _ -) is required (see --help)" >&2; exit 2; fi
done
for f in release.pub policy source SHA256SUMS; do
  if [ ! -f "$pinned/$f" ]; then echo "release.sh: $pinned/$f is missing" >&2; exit 2; fi
done
pinned=$(cd "$pinned" && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)

target=x86_64-unknown-linux-gnu
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1)
name=rget-$version-$target
profile=${RGET_BUILD_PROFILE:-release}
target_dir=${CARGO_TARGET_DIR:-$root/target}
cargo_home=${CARGO_HOME:-$HOME/.cargo}
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
export SOURCE_DATE_EPOCH

echo "== 1. rget $version for $target (profile $profile, pins $pinned)"
RGET_PINNED_DIR=$pinned \
RUSTFLAGS="--remap-path-prefix=$root=/rget --remap-path-prefix=$cargo_home=/cargo --remap-path-prefix=$target_dir=/target" \
  cargo build --locked --profile "$profile" --target "$target" -p rget --bin rget
case $profile in dev) dir=debug ;; *) dir=$profile ;; esac
cp "$target_dir/$target/$dir/rget" "$out/$name"
digest=$(sha256sum "$out/$name" | cut -d' ' -f1)
echo "$name sha256 $digest"

echo "== 2. pin it in $pinned/SHA256SUMS (append only)"
existing=$(awk -v n="$name" '$2 == n { print $1 }' "$pinned/SHA256SUMS")
if [ -z "$existing" ]; then
  printf '%s  %s\n' "$digest" "$name" >>"$pinned/SHA256SUMS"
elif [ "$existing" != "$digest" ]; then
  echo "release.sh: $pinned/SHA256SUMS already pins $name as $existing, not $digest: pins are never rewritten (bump the version)" >&2
  exit 1
fi

echo "== 3. rget-bootstrap pinned to it"
RGET_PINNED_DIR=$pinned bootstrap/build.sh
case $profile in dev) bdir=debug ;; *) bdir=bootstrap ;; esac
cp "$target_dir/$target/$bdir/rget-bootstrap" "$out/rget-bootstrap-$version-$target"

echo "== 4. rget release: SHA256SUMS, signature, log proof"
url=$(sed -n '1p' "$pinned/source" | sed "s/{version}/$version/")
if [ -n "$sigsum_key" ]; then
  set -- release "$out" --url "$url" --sigsum-key "$sigsum_key" --sigsum-policy "$sigsum_policy"
  [ -n "$sigsum_token" ] && set -- "$@" --sigsum-token "$sigsum_token"
  [ -n "$key" ] && set -- "$@" --key "$key"
else
  set -- release "$out" --key "$key" --url "$url" --log "$log" --policy "$policy"
fi
[ -n "$cacert" ] && set -- "$@" --cacert "$cacert"
[ -n "$allow_http" ] && set -- "$@" "$allow_http"
[ -n "$state" ] && set -- "$@" --state "$state"
"$out/$name" "$@"

echo "== done: upload $out/* to $url and commit $pinned/SHA256SUMS"
