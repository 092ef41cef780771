// Package imagetest boots the flashable image (image/, `make image`) in
// qemu-system-aarch64 and checks it from the host: roomd READY under systemd
// on real kernel drivers (vivid camera, the virt machine's PL061 GPIO chip,
// an emulated USB serial adapter), the serial console, the watchdog, and an
// A/B update that rolls back by itself.
//
// The tests are behind the imagetest build tag, so `go test ./...` does not
// boot anything; `make test-image` builds the test image and runs them:
//
//	ROOMD_IMAGE_DIR=out/image-test ROOMD_HOST_BIN=bin go test -tags imagetest -v ./image/imagetest/
//
// Missing tools fail the tests under CI=true and skip them elsewhere.
package imagetest
