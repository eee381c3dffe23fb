#!/bin/sh
# The same job with the CLI: build the VMware extension for a Debian 12 root from downloaded .deb files.
#   sh examples/debian-bookworm/build.sh /var/cache/sysextkit/bases/bookworm-systemd
set -eu
base=${1:?usage: build.sh BASE_ROOT [DEB_DIR]}
debs=${2:-${SYSEXTKIT_CACHE:-/var/cache/sysextkit}/debs/amd64}
mkdir -p "$debs"
# Fetch what the extension bundles (names as listed in extensions/oem-vmware/extension.yaml).
(cd "$debs" && apt-get download open-vm-tools libmspack0 libxmlsec1 libxmlsec1-openssl)
npx sysextkit build extensions/oem-vmware/extension.yaml --base "$base" --var debDir="$debs" --out out
npx sysextkit inspect out/oem-vmware.raw
npx sysextkit check out/oem-vmware.raw --host "$base"
