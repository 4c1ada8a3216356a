#!/usr/bin/env bash
# Provide etcd, etcdctl and etcdutl binaries for several etcd minors in a cache directory.
#
#   hack/etcd-binaries.sh [--versions 3.4,3.5,3.6] [--print-dir]
#
#   --versions LIST  comma-separated etcd minors to provide (default: 3.4,3.5,3.6)
#   --print-dir      print the cache root and exit (builds nothing)
#
# Cache root: ${ETCD_K8S_CACHE:-$HOME/.cache/etcd-k8s-operator}
# Layout:     $CACHE/etcd/vX.Y.Z/{etcd,etcdctl,etcdutl}   (3.4 has no etcdutl)
#             $CACHE/etcd/versions.json                   {"3.4":"3.4.23","3.5":"…","3.6":"…"}
#
# 3.5 and 3.6 are built from the Go module proxy through the pinned modules in
# hack/etcd/v3.5 and hack/etcd/v3.6 (go.mod "tool" directives; never `go install pkg@v`, because
# etcd's own go.mod files have replace directives). Bump a minor with, in its directory:
#   go get -tool go.etcd.io/etcd/{server,etcdctl,etcdutl}/v3@v3.X.Y && go mod tidy
# (never `go get -u` in hack/etcd/v3.5: newer otelgrpc removed APIs etcd 3.5 calls).
# 3.4 is Debian's etcd-server/etcd-client package (3.4.23), copied into the cache.
#
# Idempotent: binaries already present are checked by the version they print and reused.
# New binaries are written to a staging directory and renamed into place.
set -euo pipefail

readonly ALL_MINORS="3.4,3.5,3.6"
readonly DEBIAN_VERSION="3.4.23"
readonly GIT_SHA="gomod" # what `etcd --version` reports as "Git SHA": built from Go modules

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
readonly SCRIPT_DIR
readonly MODULES_DIR="$SCRIPT_DIR/etcd"
CACHE="${ETCD_K8S_CACHE:-${HOME:?HOME is not set}/.cache/etcd-k8s-operator}"
readonly ETCD_DIR="$CACHE/etcd"

die() {
  echo "etcd-binaries: error: $*" >&2
  exit 1
}

usage() {
  sed -n '2,8s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

# --- arguments ---------------------------------------------------------------------------------
minors_arg="$ALL_MINORS"
print_dir=0
while (($#)); do
  case "$1" in
    --versions) (($# >= 2)) || die "--versions needs a value, e.g. --versions 3.5,3.6"; minors_arg="$2"; shift 2 ;;
    --versions=*) minors_arg="${1#--versions=}"; shift ;;
    --print-dir) print_dir=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument '$1' (usage: hack/etcd-binaries.sh [--versions 3.4,3.5,3.6] [--print-dir])" ;;
  esac
done

if ((print_dir)); then
  echo "$CACHE"
  exit 0
fi

minors=()
IFS=',' read -r -a _requested <<<"$minors_arg"
for m in "${_requested[@]}"; do
  m="${m// /}"
  m="${m#v}"
  [[ -z "$m" ]] && continue
  case "$m" in
    3.4 | 3.5 | 3.6) ;;
    *) die "unsupported etcd minor '$m' (supported: $ALL_MINORS)" ;;
  esac
  [[ " ${minors[*]-} " == *" $m "* ]] || minors+=("$m")
done
((${#minors[@]})) || die "--versions is empty (supported: $ALL_MINORS)"

# --- helpers -----------------------------------------------------------------------------------

# Version a binary prints, or "" when it is missing or does not run.
#   binary_version PATH etcd|etcdctl|etcdutl
binary_version() {
  local bin="$1" kind="$2" out
  [[ -x "$bin" && -f "$bin" ]] || return 0
  case "$kind" in
    etcd) out=$(timeout 20 "$bin" --version 2>/dev/null) || return 0
      sed -n 's/^etcd Version: *//p' <<<"$out" | head -n1 ;;
    etcdctl) out=$(env -u ETCDCTL_API timeout 20 "$bin" version 2>/dev/null) || return 0
      sed -n 's/^etcdctl version: *//p' <<<"$out" | head -n1 ;;
    etcdutl) out=$(timeout 20 "$bin" version 2>/dev/null) || return 0
      sed -n 's/^etcdutl version: *//p' <<<"$out" | head -n1 ;;
  esac
}

binaries_for() { # minor
  if [[ "$1" == 3.4 ]]; then echo "etcd etcdctl"; else echo "etcd etcdctl etcdutl"; fi
}

# True when DIR holds every binary of MINOR, each printing VERSION.
#   is_complete DIR MINOR VERSION
is_complete() {
  local dir="$1" minor="$2" version="$3" b
  for b in $(binaries_for "$minor"); do
    [[ "$(binary_version "$dir/$b" "$b")" == "$version" ]] || return 1
  done
}

# The etcd version pinned in hack/etcd/vMINOR/go.mod (server, etcdctl and etcdutl must agree).
pinned_version() {
  local minor="$1" gomod="$MODULES_DIR/v$1/go.mod" mod v version=""
  [[ -f "$gomod" ]] || die "missing $gomod"
  for mod in server etcdctl etcdutl; do
    v=$(awk -v m="go.etcd.io/etcd/$mod/v3" '$1 == m && $2 ~ /^v3\./ {print substr($2, 2); exit}' "$gomod")
    [[ -n "$v" ]] || die "$gomod does not require go.etcd.io/etcd/$mod/v3"
    [[ "$v" == "$minor".* ]] || die "$gomod pins go.etcd.io/etcd/$mod/v3 v$v, not a $minor release"
    [[ -z "$version" || "$v" == "$version" ]] || die "$gomod pins different versions of etcd modules ($version, $v)"
    version="$v"
  done
  echo "$version"
}

version_ge() { # a >= b (dotted versions)
  [[ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n1)" == "$2" ]]
}

staging=""
policy_rc_created=0
HOW=""
cleanup() {
  [[ -n "$staging" && -d "$staging" ]] && rm -rf -- "$staging"
  if ((policy_rc_created)); then rm -f /usr/sbin/policy-rc.d; fi
  return 0
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

new_staging() { # fresh staging dir on the cache filesystem, so the final mv is a rename
  [[ -n "$staging" && -d "$staging" ]] && rm -rf -- "$staging"
  staging=$(mktemp -d "$ETCD_DIR/.staging.XXXXXX")
}

# Move the verified binaries from $staging into DIR, one rename each.
publish() { # dir minor
  local dir="$1" b
  mkdir -p "$dir"
  for b in $(binaries_for "$2"); do
    mv -f -- "$staging/$b" "$dir/$b"
  done
  rm -rf -- "$staging"
  staging=""
}

# --- 3.5 / 3.6: go build from the pinned modules ------------------------------------------------
build_from_modules() { # minor version dir; sets HOW
  local minor="$1" version="$2" dir="$3" moddir="$MODULES_DIR/v$1" need have b pkg log start
  command -v go >/dev/null 2>&1 || die "go is not installed (needed to build etcd v$version)"
  need=$(awk '$1 == "go" {print $2; exit}' "$moddir/go.mod")
  have=$(GOTOOLCHAIN=local go env GOVERSION 2>/dev/null) || die "cannot run 'go env GOVERSION'"
  have="${have#go}"
  have="${have%%[-+ ]*}"
  if [[ -n "$need" ]] && ! version_ge "$have" "$need"; then
    die "etcd v$version needs Go >= $need (hack/etcd/v$minor/go.mod), installed Go is $have"
  fi

  new_staging
  log="$ETCD_DIR/build-v$version.log"
  : >"$log"
  start=$SECONDS
  for b in etcd etcdctl etcdutl; do
    case "$b" in
      etcd) pkg=go.etcd.io/etcd/server/v3 ;;
      etcdctl) pkg=go.etcd.io/etcd/etcdctl/v3 ;;
      etcdutl) pkg=go.etcd.io/etcd/etcdutl/v3 ;;
    esac
    if ! (
      cd "$moddir" &&
        env GOTOOLCHAIN=local GOWORK=off GOFLAGS="${GOFLAGS:-} -mod=readonly" CGO_ENABLED=0 \
          go build -trimpath \
          -ldflags "-X go.etcd.io/etcd/api/v3/version.GitSHA=$GIT_SHA" \
          -o "$staging/$b" "$pkg"
    ) >>"$log" 2>&1; then
      echo "etcd-binaries: error: go build of $b v$version failed (full log: $log)" >&2
      tail -n 15 "$log" | sed 's/^/  /' >&2
      exit 1
    fi
    local got
    got=$(binary_version "$staging/$b" "$b")
    [[ "$got" == "$version" ]] || die "freshly built $b reports version '${got:-?}', expected $version (log: $log)"
  done
  publish "$dir" "$minor"
  rm -f -- "$log"
  HOW="built in $((SECONDS - start))s"
}

# --- 3.4: Debian's etcd-server / etcd-client ----------------------------------------------------
etcd_service_running() {
  if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1; then
    systemctl is-active --quiet etcd.service 2>/dev/null && return 0
  fi
  # A daemon started by the package runs as the "etcd" user.
  pgrep -u etcd -x etcd >/dev/null 2>&1
}

install_debian_etcd() {
  ((EUID == 0)) || die "etcd $DEBIAN_VERSION comes from Debian's etcd-server/etcd-client packages; installing them needs root (or install them first: apt-get install -y etcd-server etcd-client)"
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found: etcd $DEBIAN_VERSION is taken from Debian's etcd-server/etcd-client packages"
  # Keep the package from starting (and leaving running) an etcd service on 2379.
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    policy_rc_created=1
  fi
  local log="$ETCD_DIR/apt-v$DEBIAN_VERSION.log"
  : >"$log"
  if ! { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends etcd-server etcd-client; } >>"$log" 2>&1; then
    echo "etcd-binaries: error: apt-get install etcd-server etcd-client failed (full log: $log)" >&2
    tail -n 15 "$log" | sed 's/^/  /' >&2
    exit 1
  fi
  if ((policy_rc_created)); then rm -f /usr/sbin/policy-rc.d; policy_rc_created=0; fi
  # Make sure nothing from the package keeps running or starts at boot.
  if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1; then
    systemctl disable --now etcd.service >>"$log" 2>&1 || true
  elif command -v update-rc.d >/dev/null 2>&1 && [[ -e /etc/init.d/etcd ]]; then
    /etc/init.d/etcd stop >>"$log" 2>&1 || true
    update-rc.d etcd disable >>"$log" 2>&1 || true
  fi
  if etcd_service_running; then
    die "installing etcd-server left an etcd service running; stop it (systemctl disable --now etcd) and rerun"
  fi
  rm -f -- "$log"
}

provide_debian() { # dir; sets HOW
  local dir="$1" how="copied from /usr/bin" b v
  if [[ "$(binary_version /usr/bin/etcd etcd)" != "$DEBIAN_VERSION" ||
    "$(binary_version /usr/bin/etcdctl etcdctl)" != "$DEBIAN_VERSION" ]]; then
    install_debian_etcd
    how="installed Debian etcd-server/etcd-client $(dpkg-query -W -f='${Version}' etcd-server 2>/dev/null || true)"
  fi
  new_staging
  for b in etcd etcdctl; do
    v=$(binary_version "/usr/bin/$b" "$b")
    [[ "$v" == "$DEBIAN_VERSION" ]] || die "/usr/bin/$b reports version '${v:-?}', expected $DEBIAN_VERSION (Debian's etcd-server/etcd-client)"
    cp -- "/usr/bin/$b" "$staging/$b" # a copy, so removing the package does not break the cache
    chmod 0755 "$staging/$b"
  done
  publish "$dir" 3.4
  HOW="$how"
}

# --- main --------------------------------------------------------------------------------------
mkdir -p "$ETCD_DIR" || die "cannot create $ETCD_DIR"
# One run at a time per cache (parallel test workers may all call this).
exec 9>"$ETCD_DIR/.lock"
if command -v flock >/dev/null 2>&1; then
  flock 9 || die "cannot lock $ETCD_DIR/.lock"
fi
rm -rf -- "$ETCD_DIR"/.staging.* # leftovers of an interrupted run (we hold the lock)

declare -A expected=([3.4]="$DEBIAN_VERSION")
for m in 3.5 3.6; do
  if [[ -f "$MODULES_DIR/v$m/go.mod" ]]; then expected[$m]=$(pinned_version "$m"); fi
done

for m in "${minors[@]}"; do
  v="${expected[$m]:-}"
  [[ -n "$v" ]] || die "no pinned version for etcd $m (missing $MODULES_DIR/v$m/go.mod)"
  dir="$ETCD_DIR/v$v"
  if is_complete "$dir" "$m" "$v"; then
    HOW="cached"
  elif [[ "$m" == 3.4 ]]; then
    provide_debian "$dir"
  else
    build_from_modules "$m" "$v" "$dir"
  fi
  echo "etcd v$v: $dir ($HOW)"
done

# versions.json: every minor whose pinned version is complete in the cache.
json=""
for m in 3.4 3.5 3.6; do
  v="${expected[$m]:-}"
  [[ -n "$v" ]] || continue
  if [[ " ${minors[*]} " == *" $m "* ]] || is_complete "$ETCD_DIR/v$v" "$m" "$v"; then
    json+="${json:+,}\"$m\":\"$v\""
  fi
done
json="{$json}"
if [[ "$(cat "$ETCD_DIR/versions.json" 2>/dev/null || true)" != "$json" ]]; then
  tmp=$(mktemp "$ETCD_DIR/.versions.json.XXXXXX")
  echo "$json" >"$tmp"
  chmod 0644 "$tmp"
  mv -f -- "$tmp" "$ETCD_DIR/versions.json"
fi
