#!/usr/bin/env bash
# mkimage.sh ROOTFS.tar OUTDIR — assemble the flashable image from the Debian
# root file system (mkrootfs.sh) and roomd, offline: no loop mounts, no
# emulation. The result is OUTDIR/roomd.img, an MBR disk image:
#
#   p1  BOOT   FAT32  U-Boot + boot.scr + counters, Pi firmware and device trees
#   p2  root   ext4   slot A (read-only at run time)
#   p3  root   ext4   slot B (empty until the first update)
#   p4  data   ext4   roomd's state and configuration; grows on first boot
#
# Environment (the Makefile sets these): ROOMD_BIN (dir with the arm64 roomd
# and roomctl), IMAGE_KIOSK=1 (enable the kiosk browser; the rootfs must
# have it), IMAGE_TEST=1 (root shell on the UART, the WHIP relay, a V4L2
# writer and the test-only kernel modules of image/kmod, for the boot tests), UPDATE_CERT/UPDATE_KEY (the update signing certificate and
# key; a development pair is made under out/image-cache/keys if unset),
# ROOT_MB (slot size; default: 1.5 times the system, at least 1024), DATA_MB,
# BOOT_MB (partition sizes, MiB).
set -euo pipefail
rootfs_tar=${1:?usage: mkimage.sh ROOTFS.tar OUTDIR}
outdir=${2:?usage: mkimage.sh ROOTFS.tar OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
: "${ROOMD_BIN:=$repo/bin/linux-arm64}" "${IMAGE_KIOSK:=0}" "${IMAGE_TEST:=0}"
: "${ROOT_MB:=auto}" "${DATA_MB:=64}" "${BOOT_MB:=128}" "${GO:=go}"
cache=${IMAGE_CACHE:-$repo/out/image-cache}
DISK_ID=0x726f6f6d # "room": PARTUUIDs are 726f6f6d-0N on every device

work=$outdir/build
rm -rf "$work"
mkdir -p "$work/root" "$work/boot" "$work/data"
root=$work/root
step() { printf '%s  %s\n' "$(date +%T)" "$*"; }

step "unpacking $rootfs_tar"
tar -C "$root" --numeric-owner -xpf "$rootfs_tar"

step "roomd and its units"
install -m 0755 "$ROOMD_BIN/roomd" "$ROOMD_BIN/roomctl" "$root/usr/bin/"
# Every shared library roomd links (cgo) must come from the rootfs' Debian
# packages (packages.base), or roomd would not start on the device.
for lib in $(readelf -d "$root/usr/bin/roomd" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
  if ! find "$root/usr/lib/aarch64-linux-gnu" "$root/lib/aarch64-linux-gnu" -maxdepth 1 -name "$lib" 2>/dev/null | grep -q .; then
    echo "mkimage: roomd needs $lib, which no package in image/packages.base provides; add its Debian package there" >&2
    exit 1
  fi
done
$GO build -o "$work/install-units" "$repo/image/cmd/install-units"
kiosk_flag=; [ "$IMAGE_KIOSK" = 1 ] && kiosk_flag=-kiosk
units=$("$work/install-units" $kiosk_flag "$root")
cp -rT --no-preserve=ownership "$here/rootfs" "$root"
mkdir -p "$root/usr/share/roomd/boards" "$root/usr/share/doc/roomd"
install -m 0644 "$here"/boards/*.toml "$root/usr/share/roomd/boards/"
install -m 0644 "$here/README.md" "$root/usr/share/doc/roomd/image.md"
install -m 0644 "$repo/docs/config.md" "$root/usr/share/doc/roomd/config.md"
if [ "$IMAGE_TEST" = 1 ]; then
  cp -rT --no-preserve=ownership "$here/rootfs-test" "$root"
  mkdir -p "$root/usr/lib/roomd/test"
  CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $GO build -trimpath -o "$root/usr/lib/roomd/test/whip-relay" "$repo/image/cmd/whip-relay"
  CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $GO build -trimpath -o "$root/usr/lib/roomd/test/v4l2-feed" "$repo/image/cmd/v4l2-feed"
  # Canned H.264 for v4l2loopback as a camera (v4l2-feed cuts it at the
  # access unit delimiters).
  command -v ffmpeg >/dev/null || { echo "mkimage: IMAGE_TEST=1 needs ffmpeg (make setup-apt)" >&2; exit 1; }
  ffmpeg -nostdin -hide_banner -loglevel error -f lavfi -i testsrc2=size=320x180:rate=10 -frames:v 20 \
    -c:v libx264 -profile:v baseline -g 10 -bsf:v h264_metadata=aud=insert -f h264 "$root/usr/lib/roomd/test/camera.h264"
  step "test-only kernel modules (vicodec, vim2m, v4l2loopback)"
  # Built against this root's own kernel (image/kmod), cached by version.
  tkver=$(basename "$(ls -d "$root"/lib/modules/*)")
  tkdeb=$(dpkg-query --admindir="$root/var/lib/dpkg" -W -f='${Version}' "linux-image-$tkver")
  IMAGE_CACHE=$cache "$here/kmod/build.sh" "$tkver" "$tkdeb" "$root/lib/modules/$tkver/extra"
  depmod -b "$root" "$tkver"
fi

step "users, enabled units, read-only root"
systemd-sysusers --root="$root" >/dev/null
# shellcheck disable=SC2086
systemctl --root="$root" --quiet enable $units systemd-networkd.service
systemctl --root="$root" --quiet mask apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer \
  e2scrub_reap.service dpkg-db-backup.timer systemd-firstboot.service
# PipeWire (with the echo canceller) runs in roomd's user session, which
# lingers so it starts at boot; its PulseAudio server is what roomd uses.
mkdir -p "$root/var/lib/systemd/linger" "$root/etc/systemd/user/default.target.wants"
touch "$root/var/lib/systemd/linger/roomd"
for u in pipewire.service wireplumber.service pipewire-pulse.service; do
  [ -f "$root/usr/lib/systemd/user/$u" ] && ln -sf "/usr/lib/systemd/user/$u" "$root/etc/systemd/user/default.target.wants/$u"
done
# A transient machine id each boot: the root is read-only, and an id baked
# into the image would be the same on every device.
: > "$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"; ln -sf /etc/machine-id "$root/var/lib/dbus/machine-id"
rm -rf "${root:?}/boot/firmware"
mkdir -p "$root/data" "$root/boot/firmware" "$root/var/lib/roomd" "$root/etc/roomd"
# The kernel U-Boot boots, uncompressed (booti), and its initramfs, by fixed names.
kver=$(basename "$(ls -d "$root"/lib/modules/*)")
if gzip -t "$root/boot/vmlinuz-$kver" 2>/dev/null; then
  zcat "$root/boot/vmlinuz-$kver" > "$root/boot/Image"
else
  cp "$root/boot/vmlinuz-$kver" "$root/boot/Image"
fi
cp "$root/boot/initrd.img-$kver" "$root/boot/initrd.img"

step "update keys and RAUC"
keys=$cache/keys
if [ -z "${UPDATE_CERT:-}" ]; then
  UPDATE_CERT=$keys/dev-update.cert.pem UPDATE_KEY=$keys/dev-update.key.pem
  if [ ! -f "$UPDATE_CERT" ]; then
    mkdir -p "$keys"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
      -subj "/O=roomd development/CN=roomd development update key" \
      -keyout "$UPDATE_KEY" -out "$UPDATE_CERT" 2>/dev/null
    echo "NOTE: signing updates with a development key ($keys); set UPDATE_CERT/UPDATE_KEY for release images"
  fi
fi
install -D -m 0644 "$UPDATE_CERT" "$root/etc/rauc/keyring.pem"
cat > "$root/etc/rauc/system.conf" <<CONF
# RAUC: A/B root slots, booted by U-Boot's boot.scr; the boot counters are
# in /boot/firmware/roomd-boot.env, kept by /usr/lib/roomd/bootenv.
[system]
compatible=roomd-arm64
bootloader=custom
statusfile=/data/rauc/status
bundle-formats=verity

[keyring]
path=/etc/rauc/keyring.pem

[handlers]
bootloader-custom-backend=/usr/lib/roomd/bootenv

[slot.rootfs.0]
device=/dev/disk/by-partuuid/${DISK_ID#0x}-02
type=ext4
bootname=A

[slot.rootfs.1]
device=/dev/disk/by-partuuid/${DISK_ID#0x}-03
type=ext4
bootname=B
CONF

step "data partition"
rgid() { awk -F: -v n="$1" '$1 == n { print $3 }' "$root/etc/group"; }
ruid() { awk -F: -v n="$1" '$1 == n { print $3 }' "$root/etc/passwd"; }
data=$work/data
mkdir -p "$data/roomd/state" "$data/roomd/config" "$data/rauc" "$data/systemd"
cp -a "$root/var/lib/systemd/." "$data/systemd/"
rm -rf "${root:?}/var/lib/systemd/"*
chown "$(ruid roomd):$(rgid roomd)" "$data/roomd/state"; chmod 0700 "$data/roomd/state" "$data/rauc"
chown "0:$(rgid roomd)" "$data/roomd/config"; chmod 0750 "$data/roomd/config"

step "boot partition"
boot=$work/boot
mkimage -A arm64 -T script -C none -n "roomd A/B" -d "$here/boot/boot.cmd" "$boot/boot.scr" >/dev/null
printf 'BOOT_ORDER=A B\nBOOT_A_LEFT=3\nBOOT_B_LEFT=0\nBOOT_EXTRA=\n' > "$boot/roomd-boot.env"
install -m 0644 "$here/boot/config.txt" "$boot/config.txt"
cp "$root/usr/lib/u-boot/rpi_arm64/u-boot.bin" "$boot/u-boot.bin"
for f in "$root"/usr/lib/raspi-firmware/*; do [ -f "$f" ] && cp "$f" "$boot/"; done
cp "$root"/usr/lib/linux-image-"$kver"/broadcom/bcm2711-*.dtb "$boot/"

step "file systems"
if [ "$ROOT_MB" = auto ]; then
  # Each slot takes the system one and a half times over (updates grow),
  # in 256 MiB steps, at least 1 GiB.
  used=$(du -sm --apparent-size "$root" | cut -f1)
  ROOT_MB=$(( (used * 3 / 2 + 255) / 256 * 256 ))
  [ "$ROOT_MB" -lt 1024 ] && ROOT_MB=1024
  echo "root file system: $used MiB; slots of $ROOT_MB MiB"
fi
mkfs.ext4 -q -F -L root -O ^orphan_file -E root_owner=0:0 -d "$root" "$work/root.ext4" "${ROOT_MB}M" 2>/dev/null ||
  mkfs.ext4 -q -F -L root -E root_owner=0:0 -d "$root" "$work/root.ext4" "${ROOT_MB}M"
mkfs.ext4 -q -F -L data -d "$data" "$work/data.ext4" "${DATA_MB}M"
mkfs.vfat -C -n BOOT -F 32 "$work/boot.vfat" $((BOOT_MB * 1024)) >/dev/null
mcopy -s -i "$work/boot.vfat" "$boot"/* ::

step "disk image"
img=$outdir/roomd.img
mib=$((1024 * 1024)); start=4 # MiB, aligned for SD cards
rm -f "$img"
truncate -s $(((start + BOOT_MB + 2 * ROOT_MB + DATA_MB) * mib)) "$img"
sfdisk -q "$img" <<PT
label: dos
label-id: $DISK_ID
unit: sectors

start=$((start * 2048)), size=$((BOOT_MB * 2048)), type=c, bootable
size=$((ROOT_MB * 2048)), type=83
size=$((ROOT_MB * 2048)), type=83
size=$((DATA_MB * 2048)), type=83
PT
off=$start
dd if="$work/boot.vfat" of="$img" bs=1M seek=$off conv=notrunc,sparse status=none; off=$((off + BOOT_MB))
dd if="$work/root.ext4" of="$img" bs=1M seek=$off conv=notrunc,sparse status=none; off=$((off + 2 * ROOT_MB))
dd if="$work/data.ext4" of="$img" bs=1M seek=$off conv=notrunc,sparse status=none
# The kernel and root file system image of this build, for the boot tests
# and for update bundles (rauc bundle).
cp "$work/root.ext4" "$outdir/root.ext4"
printf '%s\n' "$kver" > "$outdir/kernel-version"
dpkg-query --admindir="$root/var/lib/dpkg" -W -f='${Package} ${Version}\n' > "$outdir/packages.txt"
rm -rf "$work"
step "done: $img ($(du -h --apparent-size "$img" | cut -f1), $(du -h "$img" | cut -f1) used)"
