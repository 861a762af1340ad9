#!/usr/bin/env bash
# kube-apiserver + kube-controller-manager for the Kubernetes test harness (tests/harness/kube.py).
# Debian bookworm ships no kube-apiserver binary, but its `kubernetes` source package (1.20.2) builds one.
# Cached under $ANSWER_NINJA_CACHE/kube/bin: a second run only checks the binaries are there.
# From nothing (a fresh machine, as root): enable deb-src from the machine's own Debian sources, install the Go
# toolchain, download the source package, `make WHAT=...` (plain `go build` fails on this tree).
set -euo pipefail
cache=${ANSWER_NINJA_CACHE:-$HOME/.cache/answer-ninja}/kube
bin=$cache/bin
if [[ -x $bin/kube-apiserver && -x $bin/kube-controller-manager ]]; then
  echo "kube binaries cached in $bin"
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "building kube-apiserver needs root (apt-get); run as root or put the binaries in $bin" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive

# deb-src entries mirror the machine's configured Debian sources (no host is named here).
src_list=/etc/apt/sources.list.d/answer-ninja-deb-src.sources
if [[ ! -e $src_list ]]; then
  if [[ -e /etc/apt/sources.list.d/debian.sources ]]; then
    sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources >"$src_list"
  else
    grep -E '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' >/etc/apt/sources.list.d/answer-ninja-deb-src.list
    src_list=/etc/apt/sources.list.d/answer-ninja-deb-src.list
  fi
  apt-get update -qq
fi
apt-get install -y -qq --no-install-recommends golang-go rsync jq etcd-server dpkg-dev xz-utils make >/dev/null

work=$cache/build
rm -rf "$work"
mkdir -p "$work" "$bin"
cd "$work"
apt-get source --download-only kubernetes >/dev/null 2>&1 || apt-get source --download-only kubernetes
orig=$(ls kubernetes_*.orig.tar.* | head -1)
tar -xf "$orig"
tree=$(find . -maxdepth 1 -mindepth 1 -type d | head -1)
cd "$tree"
echo "building kube-apiserver and kube-controller-manager (several minutes cold)"
HOME=$work/home GOCACHE=$work/gocache GOPATH=$work/gopath CGO_ENABLED=0 GOFLAGS=-mod=vendor \
  nice -n 10 make WHAT="cmd/kube-apiserver cmd/kube-controller-manager" >"$work/build.log" 2>&1 ||
  { tail -40 "$work/build.log" >&2; exit 1; }
install -m 0755 _output/bin/kube-apiserver _output/bin/kube-controller-manager "$bin/"
cd /
rm -rf "$work"
echo "kube binaries built into $bin"
