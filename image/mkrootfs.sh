#!/usr/bin/env bash
# mkrootfs.sh base|full OUT.tar — the Debian part of the image: an arm64
# bookworm root file system from Debian's packages, with the initramfs
# trimmed to what boots a Pi 4/CM4 or qemu's virt machine. It runs the
# packages' maintainer scripts under qemu-user emulation (binfmt), which is
# the slow part of `make image`; the tarball is cached by the Makefile under
# out/image-cache, keyed by this script and the package lists.
#
# Debian .debs are kept in out/image-cache/debs so a rebuild downloads nothing.
set -euo pipefail
variant=${1:?usage: mkrootfs.sh base|full OUT.tar}
out=${2:?usage: mkrootfs.sh base|full OUT.tar}
here=$(cd "$(dirname "$0")" && pwd)
cache=${IMAGE_CACHE:-$here/../out/image-cache}/debs
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
suite=${DEBIAN_SUITE:-bookworm}

pkgs=$(grep -v '^#' "$here/packages.base" | xargs | tr ' ' ,)
if [ "$variant" = full ]; then
  pkgs="$pkgs,$(grep -v '^#' "$here/packages.kiosk" | xargs | tr ' ' ,)"
fi

mkdir -p "$cache" "$(dirname "$out")"
# shellcheck disable=SC2016 # the hooks are run by mmdebstrap with $1 = the root
mmdebstrap --mode=root --arch=arm64 --variant=minbase \
  --components=main,non-free-firmware \
  --aptopt='APT::Install-Recommends "false"' \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/locale/*' \
  --include="$pkgs" \
  --setup-hook='mkdir -p "$1/var/cache/apt/archives"' \
  --setup-hook="sync-in $cache /var/cache/apt/archives/" \
  --essential-hook='mkdir -p "$1/etc/initramfs-tools/conf.d"' \
  --essential-hook='echo MODULES=list > "$1/etc/initramfs-tools/conf.d/roomd.conf"' \
  --essential-hook='printf "%s\n" virtio_pci virtio_blk ext4 mmc_block sdhci_iproc sdhci_pltfm bcm2835_dma > "$1/etc/initramfs-tools/modules"' \
  --essential-hook='mkdir -p "$1/boot/firmware"' \
  --customize-hook="sync-out /var/cache/apt/archives $cache" \
  --customize-hook='rm -f "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/*_Packages' \
  --skip=download/empty --skip=essential/unlink \
  "$suite" "$out" "$mirror"
