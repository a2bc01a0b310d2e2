#!/usr/bin/env bash
# Builds kube-apiserver from Debian's `kubernetes` source package, as described in
# docs/TESTING.md, and caches the binary under
#   ${XDG_CACHE_HOME:-~/.cache}/sva/kube-apiserver-<version>/kube-apiserver
# Idempotent: when the cached binary exists it only prints its path. The integration tests in
# test/integration/kubernetes/ find it there (or through SVA_KUBE_APISERVER).
#
# About 150 s of CPU on 2 cores the first time (1.2 GB of Go build cache, 110 MB binary).
# The system's apt sources are left untouched: the deb-src entry lives in a private folder.
set -euo pipefail

VERSION="1.20.5+really1.20.2"
# Build tag: r2 = vendored github.com/modern-go/reflect2 replaced by 1.0.2. The 1.0.1 the
# source vendors crashes the apiserver (SIGSEGV in reflect2.UnsafeMapType.UnsafeIterate) as
# soon as it serves a custom resource when built with Go >= 1.18; 1.0.2 is the upstream fix.
BUILD="r2"
CACHE_ROOT="${XDG_CACHE_HOME:-$HOME/.cache}/sva"
OUT_DIR="$CACHE_ROOT/kube-apiserver-$VERSION-$BUILD"
BIN="$OUT_DIR/kube-apiserver"

if [ -x "$BIN" ] && "$BIN" --version >/dev/null 2>&1; then
  echo "$BIN"
  exit 0
fi

SUDO=''
if [ "$(id -u)" != 0 ]; then SUDO='sudo'; fi
export DEBIAN_FRONTEND=noninteractive

# 1. Tools: Go 1.19, dpkg-source, etcd (for the tests), reflect2 1.0.2's source.
REFLECT2=/usr/share/gocode/src/github.com/modern-go/reflect2
missing=()
command -v go >/dev/null 2>&1 || missing+=(golang-go)
[ -f "$REFLECT2/reflect2.go" ] || missing+=(golang-github-modern-go-reflect2-dev)
command -v dpkg-source >/dev/null 2>&1 || missing+=(dpkg-dev)
command -v etcd >/dev/null 2>&1 || missing+=(etcd-server)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing ${missing[*]}" >&2
  $SUDO apt-get install -y --no-install-recommends "${missing[@]}" ||
    { $SUDO apt-get update -qq && $SUDO apt-get install -y --no-install-recommends "${missing[@]}"; }
fi

# 2. The source package, through a private sources folder and private lists.
WORK="$CACHE_ROOT/build-kube-apiserver-$VERSION"
APT_DIR="$WORK/apt"
SRC_PARENT="$WORK/source"
SRC="$SRC_PARENT/kubernetes-$VERSION"
mkdir -p "$APT_DIR/parts" "$APT_DIR/lists/partial" "$SRC_PARENT"
if [ ! -f "$SRC/go.mod" ] || [ ! -d "$SRC/vendor" ]; then
  system_sources=/etc/apt/sources.list.d/debian.sources
  if [ -f "$system_sources" ]; then
    sed 's/^Types:.*/Types: deb-src/' "$system_sources" >"$APT_DIR/parts/debian-src.sources"
  else
    grep -h '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' >"$APT_DIR/parts/debian-src.list"
  fi
  apt_opts=(
    -o "Dir::Etc::SourceList=/dev/null"
    -o "Dir::Etc::SourceParts=$APT_DIR/parts"
    -o "Dir::State::Lists=$APT_DIR/lists"
  )
  apt-get "${apt_opts[@]}" update -qq 2>&1 | grep -v '^W: Download is performed unsandboxed' || true
  rm -rf "$SRC"
  (cd "$SRC_PARENT" && apt-get "${apt_opts[@]}" source kubernetes 2>&1 | grep -v '^W: Download is performed unsandboxed' | tail -n 3) || true
  if [ ! -f "$SRC/go.mod" ]; then
    echo "apt-get source kubernetes did not give version $VERSION (found: $(ls "$SRC_PARENT"))" >&2
    exit 1
  fi
fi

# The vendored reflect2 1.0.1 crashes under Go >= 1.18 (see BUILD above): use Debian's 1.0.2.
rm -rf "$SRC/vendor/github.com/modern-go/reflect2"
cp -r "$REFLECT2" "$SRC/vendor/github.com/modern-go/reflect2"
rm -rf "$SRC/vendor/github.com/modern-go/reflect2/"*_test.go

# 3. GOPATH mode: $GOPATH/src/k8s.io/kubernetes is a link to the source tree.
export GOPATH="$WORK/gopath"
export GO111MODULE=off CGO_ENABLED=0 GOFLAGS=''
mkdir -p "$GOPATH/src/k8s.io" "$WORK/bin"
ln -sfn "$SRC" "$GOPATH/src/k8s.io/kubernetes"
cd "$GOPATH/src/k8s.io/kubernetes"

# 4. pkg/generated/openapi/zz_generated.openapi.go is not in the tarball: generate it with the
#    vendored openapi-gen over the same packages as Makefile.generated_files (KUBE_OPENAPI_DIRS).
OPENAPI_FILE=pkg/generated/openapi/zz_generated.openapi.go
if [ ! -s "$OPENAPI_FILE" ]; then
  go build -o "$WORK/bin/openapi-gen" k8s.io/kubernetes/vendor/k8s.io/kube-openapi/cmd/openapi-gen
  input_dirs=$(
    find -H . \( -path './_*' -o -path './.*' -o -path ./vendor -o -path ./debian \) -prune \
      -o -type f -name '*.go' -print |
      sed -e 's|^\./staging/src/|vendor/|' -e 's|^\./||' |
      grep -v -e '^vendor/k8s.io/code-generator/' -e '^vendor/k8s.io/sample-apiserver/' |
      xargs grep -l '^// *+k8s:' | xargs grep -l '+k8s:openapi-gen=' |
      xargs -n1 dirname | LC_ALL=C sort -u | sed 's|^|k8s.io/kubernetes/|' | paste -sd, -
  )
  "$WORK/bin/openapi-gen" \
    --logtostderr \
    -i "$input_dirs" \
    -p k8s.io/kubernetes/pkg/generated/openapi \
    -O zz_generated.openapi \
    -h vendor/k8s.io/code-generator/hack/boilerplate.go.txt \
    -r "$WORK/openapi-violations.report"
  test -s "$OPENAPI_FILE"
fi

# 5. The binary, stripped, with its version stamped (as the release build does).
UPSTREAM="${VERSION#*really}"
PKG_VERSION=k8s.io/kubernetes/vendor/k8s.io/component-base/version
LDFLAGS="-s -w -X $PKG_VERSION.gitVersion=v$UPSTREAM -X $PKG_VERSION.gitMajor=${UPSTREAM%%.*}"
LDFLAGS="$LDFLAGS -X $PKG_VERSION.gitMinor=$(echo "$UPSTREAM" | cut -d. -f2) -X $PKG_VERSION.gitTreeState=clean"
mkdir -p "$OUT_DIR"
go build -ldflags "$LDFLAGS" -o "$BIN.tmp" k8s.io/kubernetes/cmd/kube-apiserver
mv "$BIN.tmp" "$BIN"
"$BIN" --version >&2

# The source tree and GOPATH are no longer needed (the Go build cache stays in Go's own cache).
rm -rf "$WORK"
echo "$BIN"
