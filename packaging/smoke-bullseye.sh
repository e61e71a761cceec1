#!/usr/bin/env bash
# packaging/smoke.sh inside a minimal Debian 11 root (glibc 2.31, the floor of Ubuntu 20.04) that
# has no Python at all: the honest test that the binary needs neither Python nor a newer glibc.
#   packaging/smoke-bullseye.sh dist/avin-<version>-linux-x86_64.tar.gz     (root: chroot)
# The root (debootstrap --variant=minbase plus tmux) is kept in BUILD_ROOT between runs.
set -euo pipefail
cd "$(dirname "$0")/.."
archive=$(readlink -f "${1:?usage: smoke-bullseye.sh ARCHIVE.tar.gz}")
BUILD_ROOT=${BUILD_ROOT:-$(pwd)/build/binary}
ROOT=$BUILD_ROOT/bullseye-run
. packaging/debian-mirror.sh  # MIRROR
[ "$(id -u)" -eq 0 ] || { echo "smoke-bullseye.sh needs root (chroot)" >&2; exit 1; }
command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null; }
if [ ! -f "$ROOT/.avin-root-done" ]; then
  echo "== debootstrap a minimal bullseye (no Python) into $ROOT" >&2
  rm -rf "$ROOT"
  mkdir -p "$BUILD_ROOT"
  debootstrap --variant=minbase --include=tmux bullseye "$ROOT" "$MIRROR" \
    >"$BUILD_ROOT/debootstrap-run.log" 2>&1 || { tail -20 "$BUILD_ROOT/debootstrap-run.log" >&2; exit 1; }
  touch "$ROOT/.avin-root-done"
fi
if chroot "$ROOT" sh -c 'command -v python3 || command -v python || ls /usr/lib/python3*' >/dev/null 2>&1; then
  echo "the test root has a Python: this would not prove the binary needs none" >&2
  exit 1
fi
mounted=()
cleanup() {
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[$i]}" 2>/dev/null || true; done
  rm -rf "$ROOT/smoke"
}
trap cleanup EXIT
for m in proc dev dev/pts; do
  mountpoint -q "$ROOT/$m" && continue
  case $m in
    proc) mount -t proc proc "$ROOT/proc" ;;
    dev) mount --bind /dev "$ROOT/dev" ;;
    dev/pts) mount -t devpts -o newinstance,ptmxmode=0666 devpts "$ROOT/dev/pts" 2>/dev/null \
               || mount --bind /dev/pts "$ROOT/dev/pts" ;;
  esac
  mounted+=("$ROOT/$m")
done
mkdir -p "$ROOT/smoke"
cp "$archive" packaging/smoke.sh "$ROOT/smoke/"
echo "== in the bullseye root: $(chroot "$ROOT" /usr/bin/ldd --version | head -1)" >&2
chroot "$ROOT" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/root \
  bash /smoke/smoke.sh "/smoke/$(basename "$archive")"
