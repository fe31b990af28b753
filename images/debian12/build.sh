#!/usr/bin/env bash
# Build the Debian 12 base image for Molecule from Debian's packages (no registry is reachable).
#
#   images/debian12/build.sh IMAGE_TAG WORKDIR
#
# debootstrap a minimal bookworm into WORKDIR/rootfs, trust the host's CA roots inside it (pip, npm
# and apt then accept the same TLS chain as the host), and `docker import` it with systemd as the
# command. The caller decides whether a rebuild is needed (recipe hash label); this script always builds.
set -euo pipefail

tag=${1:?image tag}
work=${2:?work directory}
here=$(cd "$(dirname "$0")" && pwd)
recipe_hash=${RECIPE_HASH:-unknown}
host_ca=${HOST_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
log="$work/debootstrap.log"

die() { echo "error: $*" >&2; exit 1; }

# The Debian mirror the host itself uses (deb822 or one-line sources); deb.debian.org otherwise.
mirror=${DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
  mirror=$(grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -E '/debian/?$' | head -n1 || true)
fi
if [ -z "$mirror" ]; then
  mirror=$(grep -hE '^deb .*/debian/? bookworm' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | head -n1 || true)
fi
mirror=${mirror:-http://deb.debian.org/debian}
mirror=${mirror%/}
security=${DEBIAN_SECURITY_MIRROR:-${mirror%/debian}/debian-security}

packages=$(grep -vE '^\s*(#|$)' "$here/packages.txt" | paste -sd, -)
rootfs="$work/rootfs"
rm -rf "$rootfs"
mkdir -p "$rootfs"

if ! debootstrap --variant=minbase --include="$packages" bookworm "$rootfs" "$mirror" >"$log" 2>&1; then
  reason=$(grep -E '^E: ' "$log" | tail -n1 || true)
  die "debootstrap failed${reason:+ ($reason)}; check that the Debian mirror $mirror is reachable and there is free disk space (full log: $log)"
fi

cat >"$rootfs/etc/apt/sources.list" <<SOURCES
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $security bookworm-security main
SOURCES

# Trust the host's roots: the bundle goes in as a local CA file, so update-ca-certificates keeps it.
if [ -r "$host_ca" ]; then
  cp "$host_ca" "$rootfs/usr/local/share/ca-certificates/galaxyops-host-bundle.crt"
  chroot "$rootfs" update-ca-certificates >/dev/null 2>&1 || die "update-ca-certificates failed inside the image root"
fi
bundle=/etc/ssl/certs/ca-certificates.crt
printf '[global]\ncert = %s\n' "$bundle" >"$rootfs/etc/pip.conf"
printf 'cafile=%s\n' "$bundle" >"$rootfs/etc/npmrc"
mkdir -p "$rootfs/usr/etc" && cp "$rootfs/etc/npmrc" "$rootfs/usr/etc/npmrc"
cat >>"$rootfs/etc/environment" <<ENVIRON
PIP_CERT=$bundle
NODE_EXTRA_CA_CERTS=$bundle
REQUESTS_CA_BUNDLE=$bundle
ENVIRON

# A UTF-8 locale, an empty machine-id (systemd makes one at boot), no getty or udev noise in containers.
sed -i 's/^# *en_US.UTF-8/en_US.UTF-8/' "$rootfs/etc/locale.gen" && chroot "$rootfs" locale-gen >/dev/null 2>&1 || true
: >"$rootfs/etc/machine-id"
for unit in getty.target console-getty.service systemd-udevd.service systemd-udev-trigger.service \
            systemd-modules-load.service sys-kernel-config.mount sys-kernel-debug.mount \
            systemd-remount-fs.service apt-daily.timer apt-daily-upgrade.timer; do
  ln -sf /dev/null "$rootfs/etc/systemd/system/$unit"
done
echo 'APT::Install-Recommends "false";' >"$rootfs/etc/apt/apt.conf.d/90galaxyops-no-recommends"
# Keep downloaded .deb files: the harness shares /var/cache/apt/archives between containers.
echo 'Binary::apt::APT::Keep-Downloaded-Packages "true";' >"$rootfs/etc/apt/apt.conf.d/90galaxyops-keep-debs"
rm -rf "$rootfs"/var/cache/apt/archives/*.deb

if ! tar -C "$rootfs" -c . | docker import \
    --change 'CMD ["/lib/systemd/systemd"]' \
    --change "ENV PIP_CERT=$bundle NODE_EXTRA_CA_CERTS=$bundle REQUESTS_CA_BUNDLE=$bundle LANG=C.UTF-8 container=docker" \
    --change "LABEL org.galaxyops.recipe=$recipe_hash" \
    - "$tag" >/dev/null; then
  die "docker import of the base image failed; is the Docker engine running and is there free disk space?"
fi
rm -rf "$rootfs"
