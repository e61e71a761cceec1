#!/usr/bin/env bash
# Builds dist/avin-<version>-linux-x86_64.tar.gz: a PyInstaller one-folder build made inside a
# Debian 11 (bullseye, glibc 2.31) root, so that it runs on Ubuntu 20.04 and every newer system.
#
#   packaging/build-linux-binary.sh            (what `make binary` runs; needs root for chroot)
#
# Steps, each skipped when its result is already there (BUILD_ROOT keeps them between builds):
#   1. a bullseye root made by debootstrap from Debian's packages, with the build tools;
#   2. CPython 3.11 compiled inside it from Debian's source package (bullseye ships only 3.9);
#   3. a venv inside it installed from the lock (requirements/lock.txt, hashes checked);
#   4. PyInstaller (packaging/avin.spec) on a copy of the work tree's tracked files;
#   5. every ELF file of the result checked for glibc symbols newer than 2.31, then archived
#      and its line put into dist/SHA256SUMS.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
BUILD_ROOT=${BUILD_ROOT:-$REPO/build/binary}
ROOT=$BUILD_ROOT/bullseye
. packaging/debian-mirror.sh  # MIRROR
PY_PREFIX=/opt/python3.11
GLIBC_MAX=2.31
VERSION=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' engine/__init__.py)
NAME=avin-$VERSION-linux-x86_64
log() { printf '== %s\n' "$*" >&2; }

[ "$(id -u)" -eq 0 ] || { echo "build-linux-binary.sh needs root (debootstrap, chroot)" >&2; exit 1; }
for tool in debootstrap objdump; do
  command -v "$tool" >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap binutils >/dev/null; }
done
mkdir -p "$BUILD_ROOT" dist

# --- 1. the bullseye root ---------------------------------------------------------------------
if [ ! -f "$ROOT/.avin-root-done" ]; then
  log "debootstrap bullseye into $ROOT"
  rm -rf "$ROOT"
  debootstrap --variant=minbase \
    --include=build-essential,libssl-dev,libffi-dev,zlib1g-dev,libbz2-dev,liblzma-dev,libsqlite3-dev,libncursesw5-dev,uuid-dev,ca-certificates,xz-utils,binutils \
    bullseye "$ROOT" "$MIRROR" >"$BUILD_ROOT/debootstrap.log" 2>&1 \
    || { tail -20 "$BUILD_ROOT/debootstrap.log" >&2; exit 1; }
  touch "$ROOT/.avin-root-done"
fi

mounted=()
cleanup() { for m in "${mounted[@]}"; do umount -l "$m" 2>/dev/null || true; done; }
trap cleanup EXIT
mountpoint -q "$ROOT/proc" || { mount -t proc proc "$ROOT/proc"; mounted+=("$ROOT/proc"); }
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
# The host's trust roots (a TLS-inspecting proxy's root among them) and proxy settings, for pip.
root_env=(HOME=/root PATH=$PY_PREFIX/bin:/usr/bin:/bin LANG=C.UTF-8)
for bundle in "${PIP_CERT:-}" "${SSL_CERT_FILE:-}" /etc/ssl/certs/ca-certificates.crt; do
  if [ -n "$bundle" ] && [ -f "$bundle" ]; then
    cp "$bundle" "$ROOT/etc/ssl/certs/avin-build-roots.pem"
    root_env+=(PIP_CERT=/etc/ssl/certs/avin-build-roots.pem SSL_CERT_FILE=/etc/ssl/certs/avin-build-roots.pem)
    break
  fi
done
for var in PIP_INDEX_URL http_proxy https_proxy HTTP_PROXY HTTPS_PROXY no_proxy NO_PROXY; do
  [ -n "${!var:-}" ] && [[ ${!var} != file:* ]] && root_env+=("$var=${!var}")
done
in_root() { chroot "$ROOT" /usr/bin/env -i "${root_env[@]}" "$@"; }

# --- 2. CPython 3.11 from Debian's source package ---------------------------------------------
if [ ! -x "$ROOT$PY_PREFIX/bin/python3.11" ]; then
  log "CPython 3.11 from Debian's source package (compiled in the root; takes several minutes)"
  src=$BUILD_ROOT/src
  mkdir -p "$src/lists"
  cat >"$src/deb-src.sources" <<EOF
Types: deb-src
URIs: $MIRROR
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  apt_src=(-o Dir::Etc::SourceParts=/dev/null -o "Dir::Etc::sourcelist=$src/deb-src.sources"
           -o "Dir::State::Lists=$src/lists")
  apt-get "${apt_src[@]}" update -qq
  (cd "$src" && apt-get "${apt_src[@]}" source --download-only -qq python3.11 >/dev/null 2>&1)
  tarball=$(ls "$src"/python3.11_*.orig.tar.* | head -1)
  rm -rf "$ROOT/tmp/cpython" && mkdir -p "$ROOT/tmp/cpython"
  tar -xf "$tarball" -C "$ROOT/tmp/cpython" --strip-components=1
  in_root sh -c "cd /tmp/cpython && ./configure --prefix=$PY_PREFIX --enable-shared \
      LDFLAGS=-Wl,-rpath,$PY_PREFIX/lib >/tmp/cpython.log 2>&1 \
    && make -j\$(nproc) >>/tmp/cpython.log 2>&1 && make install >>/tmp/cpython.log 2>&1" \
    || { tail -30 "$ROOT/tmp/cpython.log" >&2; exit 1; }
  rm -rf "$ROOT/tmp/cpython"
fi

# --- 3. the build venv, from the lock ---------------------------------------------------------
lock_sum=$(sha256sum requirements/lock.txt | cut -c1-16)
if [ ! -f "$ROOT/opt/venv/.lock-$lock_sum" ]; then
  log "venv from requirements/lock.txt"
  rm -rf "$ROOT/opt/venv"
  cp requirements/lock.txt "$ROOT/tmp/lock.txt"
  in_root $PY_PREFIX/bin/python3.11 -m venv /opt/venv
  in_root /opt/venv/bin/python -m pip install -q --disable-pip-version-check \
    --require-hashes -r /tmp/lock.txt
  touch "$ROOT/opt/venv/.lock-$lock_sum"
fi

# --- 4. PyInstaller on the tracked files of the work tree --------------------------------------
log "PyInstaller"
rm -rf "$ROOT/src" && mkdir -p "$ROOT/src"
git ls-files -z --cached --others --exclude-standard \
  | tar --null --ignore-failed-read -T - -cf - 2>/dev/null | tar -xf - -C "$ROOT/src"
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || commit="$commit+dirty"
printf '{"version": "%s", "commit": "%s", "built": "%s"}\n' "$VERSION" "$commit" \
  "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$ROOT/src/BUILD_INFO.json"
in_root sh -c "cd /src && AVIN_BUILD_INFO=/src/BUILD_INFO.json /opt/venv/bin/python -m PyInstaller \
  --noconfirm --log-level WARN --distpath /src/pyi-dist --workpath /src/pyi-work packaging/avin.spec"

# --- 5. glibc check, archive, checksum --------------------------------------------------------
stage=$BUILD_ROOT/stage
rm -rf "$stage" && mkdir -p "$stage"
mv "$ROOT/src/pyi-dist/avin" "$stage/$NAME"
# objdump fails on the files that are not ELF (its status is ignored, its output is what counts)
newest=$( (find "$stage/$NAME" -type f -print0 | xargs -0 objdump -T 2>/dev/null || true) \
  | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1)
log "newest glibc symbol needed: ${newest:-none}"
if [ "$(printf '%s\n%s\n' "${newest#GLIBC_}" "$GLIBC_MAX" | sort -V | tail -1)" != "$GLIBC_MAX" ]; then
  echo "a file needs $newest, newer than GLIBC_$GLIBC_MAX: it would not run on Ubuntu 20.04" >&2
  exit 1
fi
archive=dist/$NAME.tar.gz
tar -C "$stage" --owner=0 --group=0 -czf "$archive" "$NAME"
touch dist/SHA256SUMS
grep -v "  $NAME.tar.gz\$" dist/SHA256SUMS >dist/SHA256SUMS.new || true
(cd dist && sha256sum "$NAME.tar.gz") >>dist/SHA256SUMS.new
mv dist/SHA256SUMS.new dist/SHA256SUMS
log "$archive: $(du -h "$archive" | cut -f1) (folder $(du -sh "$stage/$NAME" | cut -f1)), newest symbol $newest"
