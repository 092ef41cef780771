#!/usr/bin/env bash
# build.sh KVER DEBVER OUTDIR — the boot tests' extra kernel modules, built
# out of tree against the test image's own kernel and copied to OUTDIR:
#
#   vicodec.ko, vim2m.ko  the kernel's virtual M2M codecs (linux-source)
#   v4l2loopback.ko       a camera fed from user space (v4l2loopback-dkms)
#
# KVER is the kernel release (6.1.0-50-arm64), DEBVER its Debian package
# version (6.1.176-1): the headers, kbuild tools and sources must be exactly
# that version, or vermagic and symbol versions would not match. The .debs
# come from Debian's archive through the host's apt (apt-get download; the
# arm64 architecture is added by `make setup-cross`) and are kept in
# IMAGE_CACHE/kmod/debs; the built modules are kept in IMAGE_CACHE/kmod,
# keyed by the kernel and this recipe, so a rebuild of the image takes a copy.
#
# Only test images get these modules: they are unsigned, and a product needs
# none of them.
set -euo pipefail
kver=${1:?usage: build.sh KVER DEBVER OUTDIR}
debver=${2:?usage: build.sh KVER DEBVER OUTDIR}
out=${3:?usage: build.sh KVER DEBVER OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)
cache=${IMAGE_CACHE:-$here/../../out/image-cache}/kmod
arch=${kver##*-}                  # arm64
abi=${kver%-"$arch"}              # 6.1.0-50
series=$(echo "$kver" | cut -d. -f1-2) # 6.1
cross=${CROSS_COMPILE:-aarch64-linux-gnu-}
key=$(cat "$here/build.sh" "$here/Kbuild.vicodec" | sha256sum | cut -c1-12)
built=$cache/modules-$kver-$key
modules="vicodec.ko vim2m.ko v4l2loopback.ko"

if [ ! -f "$built/.done" ]; then
  start=$(date +%s)
  debs=$cache/debs
  mkdir -p "$debs"
  # name=version (or a bare name) -> the .deb in the cache, downloaded once.
  fetch() {
    local name=${1%%=*} ver=${1#*=} f
    [ "$ver" = "$1" ] && ver='*'
    f=$(find "$debs" -maxdepth 1 -name "${name%%:*}_${ver}_*.deb" | head -n1)
    if [ -z "$f" ]; then
      (cd "$debs" && apt-get download -q=2 "$1" 2>&1 | grep -v -e 'unsandboxed' -e '^W: ' >&2 || true)
      f=$(find "$debs" -maxdepth 1 -name "${name%%:*}_${ver}_*.deb" | head -n1)
      if [ -z "$f" ]; then
        echo "kmod: cannot download $1 from Debian's archive; run apt-get update (and make setup-cross for the $arch architecture)" >&2
        exit 1
      fi
    fi
    echo "$f"
  }
  headers=$(fetch "linux-headers-$kver:$arch=$debver")
  common=$(fetch "linux-headers-$abi-common=$debver")
  kbuild=$(fetch "linux-kbuild-$series=$debver")
  source=$(fetch "linux-source-$series=$debver")
  loop=$(fetch v4l2loopback-dkms)

  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  for d in "$headers" "$common" "$kbuild" "$loop"; do dpkg -x "$d" "$work/fs"; done
  kdir=$work/fs/usr/src/linux-headers-$kver
  # Debian's headers include the common tree by its installed path.
  sed -i "s|/usr/src/|$work/fs/usr/src/|" "$kdir/Makefile"
  # Only the test drivers from the 140 MB source tarball.
  mkdir -p "$work/vicodec"
  dpkg-deb --fsys-tarfile "$source" | tar -xOf - "./usr/src/linux-source-$series.tar.xz" | xz -T2 -dc |
    tar -xf - -C "$work" --wildcards "linux-source-$series/drivers/media/test-drivers/vicodec/*" \
      "linux-source-$series/drivers/media/test-drivers/vim2m.c"
  cp "$work/linux-source-$series/drivers/media/test-drivers/vicodec/"*.[ch] \
    "$work/linux-source-$series/drivers/media/test-drivers/vim2m.c" "$work/vicodec/"
  cp "$here/Kbuild.vicodec" "$work/vicodec/Kbuild"
  loopsrc=$(find "$work/fs/usr/src" -maxdepth 1 -name 'v4l2loopback-*' | head -n1)
  for m in "$work/vicodec" "$loopsrc"; do
    if ! make -C "$kdir" M="$m" ARCH="$arch" CROSS_COMPILE="$cross" -j"$(nproc)" modules >"$work/make.log" 2>&1; then
      cat "$work/make.log" >&2
      echo "kmod: building $m against $kver failed (log above)" >&2
      exit 1
    fi
  done
  rm -rf "$built"
  mkdir -p "$built"
  cp "$work/vicodec/vicodec.ko" "$work/vicodec/vim2m.ko" "$loopsrc/v4l2loopback.ko" "$built/"
  "${cross}strip" --strip-debug "$built"/*.ko
  touch "$built/.done"
  echo "kmod: built $modules for $kver in $(($(date +%s) - start)) s" >&2
fi
mkdir -p "$out"
for m in $modules; do cp "$built/$m" "$out/"; done
