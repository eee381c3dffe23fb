#!/bin/sh
# Download the .deb files every deb source of the sysextkit catalog lists, for one Debian architecture, from
# Debian 12 (bookworm + updates + security), with a private apt configuration: the machine's own apt sources,
# architecture and package database are not used or changed (an Ubuntu runner fetches Debian packages).
#
#   sh fetch-debs.sh ARCH OUT_DIR        # ARCH: amd64, arm64, ...; files already in OUT_DIR are kept
#
# Needs apt-get and the Debian archive keyring (package debian-archive-keyring). Uses the installed
# sysextkit's catalog (npm root -g), or SYSEXTKIT_CATALOG when set.
set -eu
arch=${1:?usage: fetch-debs.sh ARCH OUT_DIR}
out=${2:?usage: fetch-debs.sh ARCH OUT_DIR}
catalog=${SYSEXTKIT_CATALOG:-$(npm root -g)/sysextkit/extensions}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -d "$catalog" ] || { echo "fetch-debs: no catalog at $catalog (install sysextkit, or set SYSEXTKIT_CATALOG)" >&2; exit 1; }
[ -r "$keyring" ] || { echo "fetch-debs: $keyring missing: apt-get install debian-archive-keyring" >&2; exit 1; }
mkdir -p "$out"
out=$(cd "$out" && pwd)

# The package names: the "- name" items of the block list right under "packages:" in each deb source.
packages=$(for spec in "$catalog"/*/extension.yaml; do
  awk '/^ *- type: / { deb = ($3 == "deb") }
    /^ *packages: *$/ { on = deb; ind = 0; next }
    on && match($0, /^ *- /) { if (!ind) ind = RLENGTH; if (RLENGTH == ind) { print $2; next } }
    on { on = 0 }' "$spec"
done | sort -u)
missing=""
for p in $packages; do
  have=""
  for f in "$out/${p}_"*"_${arch}.deb" "$out/${p}_"*_all.deb; do [ -e "$f" ] && have=1; done
  [ -n "$have" ] || missing="$missing $p"
done
if [ -z "$missing" ]; then
  echo "fetch-debs: all $(echo $packages | wc -w) packages for $arch are in $out"
  exit 0
fi

# A private apt root next to the output: sources, lists and an empty package database.
apt=$out/.apt
mkdir -p "$apt/etc/apt/apt.conf.d" "$apt/etc/apt/preferences.d" "$apt/etc/apt/sources.list.d" \
  "$apt/var/lib/apt/lists/partial" "$apt/var/cache/apt/archives/partial" "$apt/var/lib/dpkg"
touch "$apt/var/lib/dpkg/status"
{
  echo "deb [arch=$arch signed-by=$keyring] http://deb.debian.org/debian bookworm main"
  echo "deb [arch=$arch signed-by=$keyring] http://deb.debian.org/debian bookworm-updates main"
  echo "deb [arch=$arch signed-by=$keyring] http://deb.debian.org/debian-security bookworm-security main"
} >"$apt/etc/apt/sources.list"
run_apt() {
  apt-get -o Dir="$apt" -o Dir::State::status="$apt/var/lib/dpkg/status" \
    -o APT::Architecture="$arch" -o APT::Architectures="$arch" \
    -o Debug::NoLocking=1 -o APT::Sandbox::User=root -q "$@"
}
run_apt update >/dev/null
echo "fetch-debs: downloading$missing ($arch)"
(cd "$out" && run_apt download $missing)
