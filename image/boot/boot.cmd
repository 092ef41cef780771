# roomd A/B boot script, the same for Raspberry Pi 4/CM4 (u-boot-rpi) and
# qemu's virt machine (u-boot-qemu). Boot counting as in RAUC's U-Boot
# integration: BOOT_ORDER lists the slots, BOOT_x_LEFT counts the tries a
# slot has left. Every boot takes a try *before* booting; only a healthy
# roomd gives them back (roomd-bless.service). A slot that keeps failing runs
# out of tries and the next slot in BOOT_ORDER boots. The counters live in a
# text file on this FAT partition (roomd-boot.env), written with fatwrite.
# Slot A is partition 2, slot B partition 3; the kernel and initramfs are
# read from the slot's own /boot, so an update carries its own kernel.
# The counters are read and written at kernel_addr_r, free until the kernel
# is loaded (boot.scr itself runs from scriptaddr).

setenv BOOT_ORDER "A B"
setenv BOOT_A_LEFT 3
setenv BOOT_B_LEFT 0
setenv BOOT_EXTRA
if load ${devtype} ${devnum}:1 ${kernel_addr_r} roomd-boot.env; then
  env import -t ${kernel_addr_r} ${filesize}
fi

setenv roomd_slot
for s in ${BOOT_ORDER}; do
  if test "x${roomd_slot}" != "x"; then
    true
  elif test "x${s}" = "xA"; then
    if test ${BOOT_A_LEFT} -gt 0; then
      setexpr BOOT_A_LEFT ${BOOT_A_LEFT} - 1
      setenv roomd_slot A
      setenv roomd_part 2
    fi
  elif test "x${s}" = "xB"; then
    if test ${BOOT_B_LEFT} -gt 0; then
      setexpr BOOT_B_LEFT ${BOOT_B_LEFT} - 1
      setenv roomd_slot B
      setenv roomd_part 3
    fi
  fi
done

if test "x${roomd_slot}" = "x"; then
  echo "roomd: no slot has tries left; giving both three more and starting over"
  setenv BOOT_A_LEFT 3
  setenv BOOT_B_LEFT 3
  env export -t ${kernel_addr_r} BOOT_ORDER BOOT_A_LEFT BOOT_B_LEFT BOOT_EXTRA
  fatwrite ${devtype} ${devnum}:1 ${kernel_addr_r} roomd-boot.env ${filesize}
  reset
fi

echo "roomd: booting slot ${roomd_slot} (tries left: A ${BOOT_A_LEFT}, B ${BOOT_B_LEFT})"
env export -t ${kernel_addr_r} BOOT_ORDER BOOT_A_LEFT BOOT_B_LEFT BOOT_EXTRA
fatwrite ${devtype} ${devnum}:1 ${kernel_addr_r} roomd-boot.env ${filesize}

if test "${board}" = "rpi"; then
  # The GPU firmware loaded the device tree (and applied config.txt's overlays).
  setenv roomd_fdt ${fdt_addr}
  setenv roomd_console "console=ttyS1,115200 console=tty1"
  # Room for Debian's uncompressed arm64 kernel below the initramfs.
  setenv ramdisk_addr_r 0x06000000
else
  setenv roomd_fdt ${fdtcontroladdr}
  setenv roomd_console "console=ttyAMA0"
fi

part uuid ${devtype} ${devnum}:${roomd_part} roomd_uuid
if load ${devtype} ${devnum}:${roomd_part} ${kernel_addr_r} /boot/Image; then
  if load ${devtype} ${devnum}:${roomd_part} ${ramdisk_addr_r} /boot/initrd.img; then
    setenv bootargs "root=PARTUUID=${roomd_uuid} ro rootwait ${roomd_console} panic=10 rauc.slot=${roomd_slot} ${BOOT_EXTRA}"
    booti ${kernel_addr_r} ${ramdisk_addr_r}:${filesize} ${roomd_fdt}
  fi
fi
echo "roomd: slot ${roomd_slot} does not boot; its try is spent"
reset
