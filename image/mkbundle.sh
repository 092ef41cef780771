#!/usr/bin/env bash
# mkbundle.sh ROOT.ext4 VERSION OUT.raucb — a signed RAUC update bundle
# (verity format) that writes ROOT.ext4 (mkimage.sh's OUTDIR/root.ext4) to
# the inactive root slot. Signed with UPDATE_CERT/UPDATE_KEY; the development
# pair under out/image-cache/keys when unset (images built with it trust it).
set -euo pipefail
root=${1:?usage: mkbundle.sh ROOT.ext4 VERSION OUT.raucb}
version=${2:?usage: mkbundle.sh ROOT.ext4 VERSION OUT.raucb}
out=${3:?usage: mkbundle.sh ROOT.ext4 VERSION OUT.raucb}
here=$(cd "$(dirname "$0")" && pwd)
keys=${IMAGE_CACHE:-$here/../out/image-cache}/keys
: "${UPDATE_CERT:=$keys/dev-update.cert.pem}" "${UPDATE_KEY:=$keys/dev-update.key.pem}"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cp --sparse=always "$root" "$dir/root.ext4"
cat > "$dir/manifest.raucm" <<M
[update]
compatible=roomd-arm64
version=$version

[bundle]
format=verity

[image.rootfs]
filename=root.ext4
M
rm -f "$out"
rauc bundle --cert="$UPDATE_CERT" --key="$UPDATE_KEY" --mksquashfs-args="-comp zstd -Xcompression-level 3" "$dir" "$out"
