#!/usr/bin/env bash
# Build the storage servers the backup-store tests run against, from the Go module proxy, into a cache.
#
#   hack/storage-binaries.sh [--only versitygw|fake-gcs-server] [--print-dir]
#
# versitygw        an S3 gateway over a POSIX directory (real S3 API: signatures, multipart uploads)
# fake-gcs-server  the Google Cloud Storage emulator (JSON API, resumable uploads)
#
# Cache: ${ETCD_K8S_CACHE:-$HOME/.cache/etcd-k8s-operator}
#   storage/versitygw-vX.Y.Z/versitygw
#   storage/fake-gcs-server-vX.Y.Z/fake-gcs-server
#   storage/versions.json        {"versitygw":{"version":…,"path":…},"fake-gcs-server":{…}}
#   storage/logs/<tool>-<version>.log   output of the last build of that tool
#
# Neither module has replace directives, so `go install module/cmd@version` builds them
# (GOTOOLCHAIN=local, CGO_ENABLED=0). A binary whose embedded build info (`go version -m`) names the
# pinned module version is reused; otherwise it is built under a temporary name and renamed into
# place. One line per binary, e.g.
#   versitygw v1.8.0: /root/.cache/etcd-k8s-operator/storage/versitygw-v1.8.0/versitygw (built in 95s)
# --print-dir prints only the directory of each selected binary (one per line) instead.
set -euo pipefail

VERSITYGW_VERSION=v1.8.0
FAKE_GCS_VERSION=v1.56.1
declare -A PINNED=([versitygw]=$VERSITYGW_VERSION [fake-gcs-server]=$FAKE_GCS_VERSION)

CACHE=${ETCD_K8S_CACHE:-$HOME/.cache/etcd-k8s-operator}
STORAGE=$CACHE/storage

export GOTOOLCHAIN=local CGO_ENABLED=0 GO111MODULE=on GOWORK=off GOFLAGS="${GOFLAGS:-} -mod=mod"

die() {
  echo "storage-binaries: $*" >&2
  exit 1
}

# A build goes into a staging directory next to its final place (so the rename is atomic);
# staging directories are removed on exit, and leftovers of killed runs at the next build.
STAGING=""
trap '[[ -z $STAGING ]] || rm -rf -- "$STAGING"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# built_from BIN MODULE VERSION: BIN is executable and its build info says MODULE at VERSION.
built_from() {
  [[ -x $1 && -f $1 ]] || return 1
  go version -m "$1" 2>/dev/null | awk -v m="$2" -v v="$3" '$1 == "mod" && $2 == m && $3 == v { ok = 1 } END { exit !ok }'
}

# build TOOL MODULE PACKAGE VERSION [LDFLAGS]: go install PACKAGE@VERSION into storage/TOOL-VERSION/.
# A Go older than the module's go directive fails the build with Go's own message (GOTOOLCHAIN=local).
build() {
  local tool=$1 module=$2 pkg=$3 version=$4 ldflags="-s -w ${5:-}" dir bin start log state
  dir=$STORAGE/$tool-$version
  bin=$dir/$tool
  if ! built_from "$bin" "$module" "$version"; then
    start=$SECONDS
    mkdir -p "$dir" "$STORAGE/logs"
    rm -rf -- "$dir"/.staging-*
    STAGING=$(mktemp -d "$dir/.staging-XXXXXX")
    log=$STORAGE/logs/$tool-$version.log
    # Outside any module, so that go.mod files around the cache or the checkout play no part.
    if ! (cd "$STAGING" && GOBIN=$STAGING/bin go install -buildvcs=false -trimpath -ldflags "$ldflags" "$pkg@$version") >"$log" 2>&1; then
      die "building $tool $version failed: $(grep -v '^[[:space:]]*$' "$log" | tail -n 1) (full log: $log)"
    fi
    built_from "$STAGING/bin/$tool" "$module" "$version" || die "the $tool built does not carry $module $version in its build info"
    mv -f -- "$STAGING/bin/$tool" "$bin"
    rm -rf -- "$STAGING"
    STAGING=""
    state="built in $((SECONDS - start))s"
  else
    state=cached
  fi
  if ((PRINT_DIR)); then echo "$dir"; else echo "$tool $version: $bin ($state)"; fi
}

# versions.json names every pinned binary in the cache (what sandbox/storage-servers.ts reads).
write_versions_json() {
  local out=$STORAGE/versions.json tmp tool version sep=""
  tmp=$(mktemp "$out.XXXXXX")
  {
    echo "{"
    for tool in "${!PINNED[@]}"; do
      version=${PINNED[$tool]}
      [[ -x $STORAGE/$tool-$version/$tool ]] || continue
      printf '%s  "%s": { "version": "%s", "path": "%s" }' "$sep" "$tool" "$version" "$STORAGE/$tool-$version/$tool"
      sep=$',\n'
    done
    printf '\n}\n'
  } >"$tmp"
  chmod 644 "$tmp"
  if cmp -s "$tmp" "$out"; then rm -f -- "$tmp"; else mv -f -- "$tmp" "$out"; fi
}

ONLY=""
PRINT_DIR=0
while (($#)); do
  case $1 in
    --only) (($# >= 2)) || die "--only needs a value: versitygw or fake-gcs-server"; ONLY=$2; shift ;;
    --only=*) ONLY=${1#--only=} ;;
    --print-dir) PRINT_DIR=1 ;;
    -h | --help) sed -n '2,20s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) die "unknown argument '$1' (usage: hack/storage-binaries.sh [--only versitygw|fake-gcs-server] [--print-dir])" ;;
  esac
  shift
done
[[ -z $ONLY || -n ${PINNED[$ONLY]:-} ]] || die "--only wants versitygw or fake-gcs-server, got '$ONLY'"
command -v go >/dev/null || die "go is not installed (needed to build the storage servers)"

mkdir -p "$STORAGE"
# One run at a time per cache (a second run waits, then finds the binaries built).
exec 9>"$STORAGE/.lock"
flock 9

# Version stamps as in versitygw's Makefile (main.Version, main.Build, main.BuildTime).
[[ -n $ONLY && $ONLY != versitygw ]] ||
  build versitygw github.com/versity/versitygw github.com/versity/versitygw/cmd/versitygw "$VERSITYGW_VERSION" \
    "-X=main.Version=$VERSITYGW_VERSION -X=main.Build=gomod -X=main.BuildTime=none"
[[ -n $ONLY && $ONLY != fake-gcs-server ]] ||
  build fake-gcs-server github.com/fsouza/fake-gcs-server github.com/fsouza/fake-gcs-server "$FAKE_GCS_VERSION"
write_versions_json
