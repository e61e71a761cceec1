# Sourced by the build and smoke scripts: MIRROR is the Debian archive this machine's apt already
# uses (DEBIAN_MIRROR overrides it), so that debootstrap reaches what apt-get reaches.
host_debian_mirror() {
  {
    grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}'
    grep -hE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '{print $2}'
  } | grep -E '/debian/?$' | head -1 || true  # (a missing sources file is no error here)
}
MIRROR=${DEBIAN_MIRROR:-$(host_debian_mirror)}
if [ -z "$MIRROR" ]; then
  echo "no Debian archive found in /etc/apt: set DEBIAN_MIRROR to one" >&2
  exit 1
fi
