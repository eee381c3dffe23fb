#!/bin/sh
# The same job with the CLI: build the VMware extension for a Debian 12 root from downloaded .deb files.
#   sh examples/debian-bookworm/build.sh /var/cache/sysextkit/bases/bookworm-systemd [DEB_DIR]
# Run from the repository root (as root: apt-get download writes into the cache directory).
set -eu
base=${1:?usage: build.sh BASE_ROOT [DEB_DIR]}
debs=${2:-${SYSEXTKIT_CACHE:-/var/cache/sysextkit}/debs/$(dpkg --print-architecture)}
spec=extensions/oem-vmware/extension.yaml
mkdir -p "$debs"
# The package list of the deb source: the "- name" items right under "packages:" in the spec.
packages=$(awk '/^ *packages:/ { on = 1; next }
  on && match($0, /^ *- /) { if (!ind) ind = RLENGTH; if (RLENGTH == ind) { print $2; next } }
  on { exit }' "$spec")
# Download what is not cached yet (apt-get download fetches NAME_VERSION_ARCH.deb into the cwd).
missing=""
for p in $packages; do
  ls "$debs/${p}_"*.deb >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
  # As root apt drops privileges to _apt, which may not write $debs; stay root for the download.
  (cd "$debs" && apt-get -o APT::Sandbox::User=root download $missing)
fi
npx sysextkit build "$spec" --base "$base" --var debDir="$debs" --out out
npx sysextkit inspect out/oem-vmware.raw
npx sysextkit check out/oem-vmware.raw --host "$base"
