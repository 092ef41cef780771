// Package image holds the recipe of roomd's flashable arm64 image (see
// README.md in this directory): the Debian root file system (mkrootfs.sh),
// the offline assembly of an MBR disk with a boot partition, two root slots
// and a data partition (mkimage.sh), U-Boot's A/B boot script (boot/),
// signed RAUC update bundles (mkbundle.sh) and the board descriptions the
// image picks from at boot (boards/).
//
// The Go code here only checks the recipe's data files; the boot tests are
// in imagetest, behind a build tag.
package image
