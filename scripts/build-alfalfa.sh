#!/usr/bin/env bash
# Build ExCamera's rebase tools (xc-enc, xc-dump and friends) from an excamera/alfalfa source
# folder, as static x86-64 Linux executables that run on Lambda as they are, into OUT_DIR.
# Needs (Debian/Ubuntu): autoconf automake libtool yasm pkg-config g++ make libx264-dev
#   libboost-dev libjpeg-dev zlib1g-dev libglew-dev libglfw3-dev libglu1-mesa-dev
# Usage: scripts/build-alfalfa.sh SRC_DIR [OUT_DIR]   (OUT_DIR defaults to ./alfalfa-bin)
set -euo pipefail

TOOLS=(xc-enc xc-dump comp-states xc-framesize xc-terminate-chunk xc-decode-bundle xc-ssim)

die() { echo "build-alfalfa: $*" >&2; exit 2; }

[ $# -ge 1 ] && [ $# -le 2 ] || die "usage: $0 SRC_DIR [OUT_DIR]"
SRC=$1
OUT=${2:-alfalfa-bin}
[ -d "$SRC" ] || die "no source folder '$SRC' (unpack excamera/alfalfa there first)"
[ -f "$SRC/configure.ac" ] && [ -d "$SRC/src/frontend" ] || die "'$SRC' is not an alfalfa source tree (no configure.ac or src/frontend)"
for tool in autoreconf make g++ yasm pkg-config; do
  command -v "$tool" >/dev/null || die "'$tool' is not installed (see the package list at the top of $0)"
done
# libx264's internal pixel functions are only in its static library.
X264_A=$(find /usr/lib /usr/local/lib -name libx264.a 2>/dev/null | head -n 1)
[ -n "$X264_A" ] || die "libx264.a not found (install libx264-dev)"

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
JOBS=$(nproc 2>/dev/null || echo 2)
cd "$SRC"
./autogen.sh
./configure --disable-vp8play --enable-all-static X264_LIBS="$X264_A -lpthread -ldl -lm"
# Only what the frontend tools link; src/display is needed because xc-enc.cc includes display.hh.
for dir in util decoder display input encoder; do make -j"$JOBS" -C "src/$dir"; done
make -j"$JOBS" -C src/frontend "${TOOLS[@]}"
for tool in "${TOOLS[@]}"; do
  install -m 0755 "src/frontend/$tool" "$OUT/$tool"
  strip "$OUT/$tool" 2>/dev/null || true
done
echo "build-alfalfa: ${TOOLS[*]} in $OUT" >&2
