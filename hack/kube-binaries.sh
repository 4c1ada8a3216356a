#!/usr/bin/env bash
# Build kube-apiserver, kube-controller-manager, helm and krew from the Go module proxy into a local cache.
#
#   hack/kube-binaries.sh [--only kube-apiserver|kube-controller-manager|helm|krew] [--print-dir]
#   hack/kube-binaries.sh --update-kube vX.Y.Z   # regenerate hack/kube/apiserver/go.mod + go.sum
#
# Cache: ${ETCD_K8S_CACHE:-$HOME/.cache/etcd-k8s-operator}
#   kube/vX.Y.Z/{kube-apiserver,kube-controller-manager}
#   tools/helm-vX.Y.Z/helm
#   tools/krew-vX.Y.Z/{krew,validate-krew-manifest}
#   kube/versions.json          {"kube-apiserver":{"version":…,"path":…},"kube-controller-manager":…,"helm":…,…}
#   kube/logs/<tool>-<version>.log   output of the last build of that tool
#
# A binary that is present, runs and reports the expected version is reused; otherwise it is built
# under a temporary name and renamed into place. One line per binary on success, e.g.
#   kube-apiserver v1.37.2: /root/.cache/etcd-k8s-operator/kube/v1.37.2/kube-apiserver (built in 812s)
# --print-dir prints only the directory of each selected binary (one per line) instead.
#
# kube-apiserver and kube-controller-manager are built from hack/kube/apiserver/go.mod (pinned, with
# go.sum): it requires k8s.io/kubernetes and replaces every staging module (k8s.io/api, …) by its
# published v0.Y.Z tag.
# helm and krew have no replace directives, so `go install module/cmd/x@version` builds them.
# Running kube-apiserver for tests (a working command line) is in hack/kube/README.md.
set -euo pipefail

HELM_VERSION=v3.22.0
KREW_VERSION=v0.5.0

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
APISERVER_MOD=$ROOT/hack/kube/apiserver
CACHE=${ETCD_K8S_CACHE:-$HOME/.cache/etcd-k8s-operator}

export GOTOOLCHAIN=local CGO_ENABLED=0 GO111MODULE=on

die() {
  echo "kube-binaries: $*" >&2
  exit 1
}

usage() {
  sed -n '4,5p' "${BASH_SOURCE[0]}" | sed 's/^#  */usage: /' >&2
  exit 2
}

# Temporary directories, removed on exit. WORK is scratch space outside the cache; a binary is
# built into a .tmp-* directory next to its final place so that the rename is atomic.
TMPDIRS=()
cleanup() {
  local d
  for d in ${TMPDIRS[@]+"${TMPDIRS[@]}"}; do rm -rf -- "$d"; done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
WORK=$(mktemp -d "${TMPDIR:-/tmp}/kube-binaries.XXXXXX")
TMPDIRS+=("$WORK")

# new_tmp_dir DIR: set TMP to a fresh DIR/.tmp-* (removed on exit); leftovers of killed runs go.
new_tmp_dir() {
  mkdir -p "$1"
  rm -rf -- "$1"/.tmp-*
  TMP=$(mktemp -d "$1/.tmp-XXXXXX")
  TMPDIRS+=("$TMP")
}

# json_field NAME: the first "NAME": "value" string from `go … -json` output on stdin.
json_field() {
  sed -n 's/^[[:space:]]*"'"$1"'": "\(.*\)",\{0,1\}$/\1/p' | head -n 1
}

# require_go VERSION: fail unless the local go is at least VERSION (a go.mod go directive).
require_go() {
  local have
  command -v go >/dev/null || die "go is not installed (need go >= $1)"
  have=$(go env GOVERSION)
  have=${have#go}
  have=${have%%[-+ ]*}
  if [[ $(printf '%s\n%s\n' "$1" "$have" | sort -V | head -n 1) != "$1" ]]; then
    die "$2 needs go >= $1 but $(go env GOVERSION) is installed (GOTOOLCHAIN=local: no toolchain download)"
  fi
}

# mod_download MOD@VER: `go mod download -json` output (verified against the checksum database).
mod_download() {
  local out
  if ! out=$(cd "$WORK" && go mod download -json "$1" 2>&1); then
    local err
    err=$(json_field Error <<<"$out")
    err=${err//\\n\\t/ }
    die "go mod download $1 failed: ${err:-$(tail -n 1 <<<"$out")}"
  fi
  printf '%s\n' "$out"
}

# run_build LOG DESC CMD…: run a build quietly, its output in LOG; on failure one line on stderr.
run_build() {
  local log=$1 desc=$2
  shift 2
  mkdir -p "$(dirname "$log")"
  if ! "$@" >"$log" 2>&1; then
    local last
    last=$(grep -v '^[[:space:]]*$' "$log" | tail -n 1)
    die "building $desc failed: ${last:-no output} (full log: $log)"
  fi
}

report() { # report TOOL VERSION PATH STATE
  if [[ $PRINT_DIR == 1 ]]; then
    dirname "$3"
  else
    echo "$1 $2: $3 ($4)"
  fi
}

# ---------------------------------------------------------------------------------------------
# kube-apiserver and kube-controller-manager (both `cmd/` packages of k8s.io/kubernetes)

KUBE_TOOLS=(kube-apiserver kube-controller-manager)

kube_version() {
  [[ -f $APISERVER_MOD/go.mod ]] || die "$APISERVER_MOD/go.mod is missing (run: $0 --update-kube vX.Y.Z)"
  local v
  v=$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ { print $2 } $1 == "require" && $2 == "k8s.io/kubernetes" { print $3 }' "$APISERVER_MOD/go.mod" | head -n 1)
  [[ $v =~ ^v1\.[0-9]+\.[0-9]+$ ]] || die "cannot read the k8s.io/kubernetes version from $APISERVER_MOD/go.mod"
  echo "$v"
}

kube_binary_ok() { # kube_binary_ok PATH VERSION
  [[ -x $1 ]] && [[ $("$1" --version 2>/dev/null) == "Kubernetes $2" ]]
}

build_kube() { # build_kube kube-apiserver|kube-controller-manager
  local name=$1 version dir bin start tmp info commit when minor
  version=$(kube_version)
  dir=$CACHE/kube/$version
  bin=$dir/$name
  if kube_binary_ok "$bin" "$version"; then
    report "$name" "$version" "$bin" cached
    return
  fi
  start=$SECONDS
  require_go "$(awk '$1 == "go" { print $2; exit }' "$APISERVER_MOD/go.mod")" "$name $version"

  # Version stamps as in kubernetes' hack/lib/version.sh: gitVersion, gitMajor/Minor, buildDate
  # (the tag's time, for reproducible builds) and gitCommit when the proxy reports it.
  info=$(mod_download "k8s.io/kubernetes@$version")
  commit=$(json_field Hash <<<"$info")
  when=$(sed -n 's/.*"Time": *"\([^"]*\)".*/\1/p' "$(json_field Info <<<"$info")")
  minor=${version#v1.}
  minor=${minor%%.*}
  local -a stamps=(gitVersion="$version" gitMajor=1 gitMinor="$minor")
  [[ -n $when ]] && stamps+=(buildDate="$(date -u -d "$when" +%Y-%m-%dT%H:%M:%SZ)")
  [[ -n $commit ]] && stamps+=(gitCommit="$commit" gitTreeState=clean)
  local ldflags="-s -w" kv
  for kv in "${stamps[@]}"; do
    ldflags+=" -X k8s.io/component-base/version.$kv -X k8s.io/client-go/pkg/version.$kv"
  done

  new_tmp_dir "$dir"
  tmp=$TMP
  run_build "$CACHE/kube/logs/$name-$version.log" "$name $version" \
    env -C "$APISERVER_MOD" go build -mod=readonly -buildvcs=false -trimpath \
    -tags selinux,notest,grpcnotrace -ldflags "$ldflags" \
    -o "$tmp/$name" "k8s.io/kubernetes/cmd/$name"
  kube_binary_ok "$tmp/$name" "$version" ||
    die "built $name does not report 'Kubernetes $version' (got: $("$tmp/$name" --version 2>&1 | head -n 1))"
  mv -f "$tmp/$name" "$bin"
  report "$name" "$version" "$bin" "built in $((SECONDS - start))s"
}

# --update-kube vX.Y.Z: write hack/kube/apiserver/go.mod + go.sum for that Kubernetes release.
# The staging module list is read offline from k8s.io/kubernetes' own .mod file (every
# `k8s.io/X => ./staging/src/k8s.io/X`) and each is pinned to its published tag v0.Y.Z.
update_kube_mod() {
  local version=$1 minor patch info gomod godir godebug tmp m
  [[ $version =~ ^v1\.([0-9]+)\.([0-9]+)$ ]] || die "--update-kube wants a release like v1.37.2, got '$version'"
  minor=${BASH_REMATCH[1]} patch=${BASH_REMATCH[2]}
  info=$(mod_download "k8s.io/kubernetes@$version")
  gomod=$(json_field GoMod <<<"$info")
  godir=$(awk '$1 == "go" { print $2; exit }' "$gomod")
  godebug=$(awk '$1 == "godebug" && $2 != "(" { print $2; exit }' "$gomod")
  require_go "$godir" "k8s.io/kubernetes $version"
  local -a staging
  mapfile -t staging < <(awk '$2 == "=>" && $3 ~ /^\.\/staging\// { print $1 }' "$gomod")
  ((${#staging[@]} > 0)) || die "no staging replace directives found in $gomod"

  local -a tools=()
  for m in "${KUBE_TOOLS[@]}"; do tools+=("k8s.io/kubernetes/cmd/$m@$version"); done

  new_tmp_dir "$WORK/update-kube"
  tmp=$TMP
  {
    echo "// Generated by hack/kube-binaries.sh --update-kube $version: do not edit by hand."
    echo "// Builds kube-apiserver and kube-controller-manager from k8s.io/kubernetes $version; its ${#staging[@]} staging modules"
    echo "// (replaced by ./staging/... upstream) are pinned to their published tags v0.$minor.$patch."
    echo
    echo "module etcd-k8s-operator/hack/kube/apiserver"
    echo
    echo "go $godir"
    [[ -n $godebug ]] && printf '\ngodebug %s\n' "$godebug"
    echo
    echo "replace ("
    for m in "${staging[@]}"; do printf '\t%s => %s v0.%s.%s\n' "$m" "$m" "$minor" "$patch"; done
    echo ")"
  } >"$tmp/go.mod"
  run_build "$CACHE/kube/logs/update-kube-$version.log" "go.mod for k8s.io/kubernetes $version" \
    env -C "$tmp" sh -c "go get -tool ${tools[*]} && go mod tidy"
  mkdir -p "$APISERVER_MOD"
  cp "$tmp/go.mod" "$tmp/go.sum" "$APISERVER_MOD/"
  echo "kube-apiserver: $APISERVER_MOD/go.mod now pins k8s.io/kubernetes $version (${#staging[@]} staging modules at v0.$minor.$patch)"
}

# ---------------------------------------------------------------------------------------------
# helm (v3) and krew: plain `go install`, version stamps as in their own Makefile / build script

helm_ok() { # helm_ok PATH VERSION
  [[ -x $1 ]] && [[ $("$1" version --template '{{.Version}}' 2>/dev/null) == "$2" ]]
}

build_helm() {
  local version=$HELM_VERSION dir bin start info gomod commit clientgo kmaj kmin tmp
  dir=$CACHE/tools/helm-$version
  bin=$dir/helm
  if helm_ok "$bin" "$version"; then
    report helm "$version" "$bin" cached
    return
  fi
  start=$SECONDS
  info=$(mod_download "helm.sh/helm/v3@$version")
  gomod=$(json_field GoMod <<<"$info")
  commit=$(json_field Hash <<<"$info")
  require_go "$(awk '$1 == "go" { print $2; exit }' "$gomod")" "helm $version"
  # helm's Makefile: .Capabilities.KubeVersion defaults to 1.<minor of its k8s.io/client-go v0.N>
  # (without these stamps helm v3 claims Kubernetes v1.20).
  clientgo=$(awk '$1 == "k8s.io/client-go" { print $2; exit }' "$gomod")
  [[ $clientgo =~ ^v0\.([0-9]+)\. ]] || die "cannot read helm $version's k8s.io/client-go version from $gomod"
  kmaj=1 kmin=${BASH_REMATCH[1]}
  local ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$version"
  ldflags+=" -X helm.sh/helm/v3/internal/version.metadata="
  [[ -n $commit ]] && ldflags+=" -X helm.sh/helm/v3/internal/version.gitCommit=$commit -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  local p
  for p in pkg/lint/rules pkg/chartutil; do
    ldflags+=" -X helm.sh/helm/v3/$p.k8sVersionMajor=$kmaj -X helm.sh/helm/v3/$p.k8sVersionMinor=$kmin"
  done

  new_tmp_dir "$dir"
  tmp=$TMP
  run_build "$CACHE/kube/logs/helm-$version.log" "helm $version" \
    env GOBIN="$tmp" go install -buildvcs=false -trimpath -ldflags "$ldflags" "helm.sh/helm/v3/cmd/helm@$version"
  helm_ok "$tmp/helm" "$version" ||
    die "built helm does not report $version (got: $("$tmp/helm" version --template '{{.Version}}' 2>&1 | head -n 1))"
  mv -f "$tmp/helm" "$bin"
  report helm "$version" "$bin" "built in $((SECONDS - start))s"
}

krew_ok() { # krew_ok DIR VERSION
  local root out
  [[ -x $1/krew && -x $1/validate-krew-manifest ]] || return 1
  # krew creates its directory tree under KREW_ROOT even for `version`: give it a throwaway one.
  root=$WORK/krew-root
  rm -rf -- "$root"
  out=$(KREW_ROOT=$root KREW_NO_UPGRADE_CHECK=1 "$1/krew" version 2>/dev/null) || return 1
  grep -Eq "^GitTag[[:space:]]+$2\$" <<<"$out" || return 1
  # validate-krew-manifest has no version flag: it must run and fail cleanly without --manifest.
  out=$("$1/validate-krew-manifest" 2>&1) && return 1
  grep -q 'manifest' <<<"$out"
}

build_krew() {
  local version=$KREW_VERSION dir start info gomod commit tmp b
  dir=$CACHE/tools/krew-$version
  if krew_ok "$dir" "$version"; then
    report krew "$version" "$dir/krew" cached
    [[ $PRINT_DIR == 1 ]] || report validate-krew-manifest "$version" "$dir/validate-krew-manifest" cached
    return
  fi
  start=$SECONDS
  info=$(mod_download "sigs.k8s.io/krew@$version")
  gomod=$(json_field GoMod <<<"$info")
  commit=$(json_field Hash <<<"$info")
  require_go "$(awk '$1 == "go" { print $2; exit }' "$gomod")" "krew $version"
  # krew's hack/make-binaries.sh: -tags netgo, gitTag and the short commit.
  local ldflags="-s -w -X sigs.k8s.io/krew/internal/version.gitTag=$version"
  [[ -n $commit ]] && ldflags+=" -X sigs.k8s.io/krew/internal/version.gitCommit=${commit:0:7}"

  new_tmp_dir "$dir"
  tmp=$TMP
  run_build "$CACHE/kube/logs/krew-$version.log" "krew $version" \
    env GOBIN="$tmp" go install -buildvcs=false -trimpath -tags netgo -ldflags "$ldflags" \
    "sigs.k8s.io/krew/cmd/krew@$version" "sigs.k8s.io/krew/cmd/validate-krew-manifest@$version"
  krew_ok "$tmp" "$version" || die "built krew in $tmp does not report GitTag $version"
  for b in krew validate-krew-manifest; do mv -f "$tmp/$b" "$dir/$b"; done
  report krew "$version" "$dir/krew" "built in $((SECONDS - start))s"
  [[ $PRINT_DIR == 1 ]] || report validate-krew-manifest "$version" "$dir/validate-krew-manifest" "built in $((SECONDS - start))s"
}

# ---------------------------------------------------------------------------------------------

json_str() { # a JSON string literal
  local s=${1//\\/\\\\}
  printf '"%s"' "${s//\"/\\\"}"
}

# versions.json lists every binary of the versions this script pins that is present in the cache.
write_versions_json() {
  local out=$CACHE/kube/versions.json tmp kv name version path sep=""
  local -a entries=()
  local kv_version
  kv_version=$(kube_version)
  for name in "${KUBE_TOOLS[@]}"; do
    [[ -x $CACHE/kube/$kv_version/$name ]] && entries+=("$name|$kv_version|$CACHE/kube/$kv_version/$name")
  done
  [[ -x $CACHE/tools/helm-$HELM_VERSION/helm ]] && entries+=("helm|$HELM_VERSION|$CACHE/tools/helm-$HELM_VERSION/helm")
  for name in krew validate-krew-manifest; do
    [[ -x $CACHE/tools/krew-$KREW_VERSION/$name ]] && entries+=("$name|$KREW_VERSION|$CACHE/tools/krew-$KREW_VERSION/$name")
  done
  mkdir -p "$CACHE/kube"
  tmp=$(mktemp "$out.XXXXXX")
  {
    echo "{"
    for kv in ${entries[@]+"${entries[@]}"}; do
      IFS='|' read -r name version path <<<"$kv"
      printf '%s  %s: { "version": %s, "path": %s }' "$sep" "$(json_str "$name")" "$(json_str "$version")" "$(json_str "$path")"
      sep=$',\n'
    done
    printf '\n}\n'
  } >"$tmp"
  chmod 644 "$tmp"
  mv -f "$tmp" "$out"
}

ONLY=""
PRINT_DIR=0
UPDATE_KUBE=""
while (($#)); do
  case $1 in
    --only)
      (($# >= 2)) || usage
      ONLY=$2
      shift 2
      ;;
    --only=*)
      ONLY=${1#--only=}
      shift
      ;;
    --print-dir)
      PRINT_DIR=1
      shift
      ;;
    --update-kube)
      (($# >= 2)) || usage
      UPDATE_KUBE=$2
      shift 2
      ;;
    -h | --help) usage ;;
    *)
      echo "kube-binaries: unknown argument '$1'" >&2
      usage
      ;;
  esac
done
case $ONLY in
  "" | kube-apiserver | kube-controller-manager | helm | krew) ;;
  *) die "--only wants kube-apiserver, kube-controller-manager, helm or krew, got '$ONLY'" ;;
esac

mkdir -p "$CACHE/kube" "$CACHE/tools"
# One run at a time per cache (a second run waits, then finds the binaries built).
exec 9>"$CACHE/kube/.kube-binaries.lock"
flock 9

if [[ -n $UPDATE_KUBE ]]; then
  update_kube_mod "$UPDATE_KUBE"
  exit 0
fi

for tool in "${KUBE_TOOLS[@]}"; do
  [[ -z $ONLY || $ONLY == "$tool" ]] && build_kube "$tool"
done
[[ -z $ONLY || $ONLY == helm ]] && build_helm
[[ -z $ONLY || $ONLY == krew ]] && build_krew
write_versions_json
