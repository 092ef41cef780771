# roomd — see README.md. `make demo` runs roomd on the simulated board,
# `make test` runs every test; both install what a fresh Debian/Ubuntu lacks.

GO          ?= go
# go.mod's toolchain line names the Go release roomd is built with (security
# fixes); a machine's own older Go fetches it from the module proxy.
export GOTOOLCHAIN := auto
STATICCHECK_VERSION := v0.7.0
GOBIN       ?= $(shell $(GO) env GOPATH)/bin
STATICCHECK := $(GOBIN)/staticcheck
VERSION     ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS     := -X main.version=$(VERSION)
FUZZTIME    ?= 15s
# Debian packages the build and tests need.
APT_PKGS    := gcc g++ libc6-dev pkg-config socat systemd janus chromium ffmpeg libvpx-dev libyuv-dev libturbojpeg0-dev postgresql baresip-core baresip-ffmpeg kamailio kamailio-tls-modules linphone-cli sip-tester iproute2 openssh-client nodejs
APT_CROSS   := gcc-aarch64-linux-gnu g++-aarch64-linux-gnu libc6-dev-arm64-cross libvpx-dev:arm64 libyuv-dev:arm64 libturbojpeg0-dev:arm64 file
SUDO        := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all setup setup-apt setup-cross build demo test test-unit race vet lint fuzz cross clean bench-media bench-sip setup-image image test-image

all: build

# setup installs missing Debian packages and Go tools; it does nothing when
# everything is there already.
setup: setup-apt
	@[ -x $(STATICCHECK) ] && $(STATICCHECK) -version | grep -q '$(STATICCHECK_VERSION)' || \
	  $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

setup-apt:
	@missing=""; for p in $(APT_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; fi

setup-cross:
	@dpkg --print-foreign-architectures | grep -qx arm64 || { $(SUDO) dpkg --add-architecture arm64 && $(SUDO) apt-get update -qq; }
	@missing=""; for p in $(APT_CROSS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; fi

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/ ./cmd/...

# demo runs roomd on the simulated board with the built-in configuration:
# serial console on a pseudo-terminal, control socket, debug endpoint.
demo: setup-apt build
	mkdir -p out/state out/run
	./bin/roomd --sim --state-dir out/state --runtime-dir out/run

vet:
	$(GO) vet ./...

lint: setup vet
	$(STATICCHECK) ./...

race:
	$(GO) test -race -count=1 ./...

# test is the README's test command: set up, lint, then every test with the
# race detector.
test: setup lint race

# test-unit is the contributor's fast loop (under a minute on 2 cores with a
# warm build cache; packages that did not change come from the test cache):
# no setup, no Janus, Chromium, PostgreSQL, ffmpeg, systemd tools or qemu.
# Under -short the tests that need one of them, build and start the real
# daemons, or run for many seconds of real time skip; make test and CI never
# pass -short, so there a missing tool still fails. No race detector: it
# nearly doubles the time; make test runs everything with it.
test-unit:
	$(GO) test -short ./...

# fuzz runs every native fuzz target for FUZZTIME each.
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; done

# bench-media measures roomd against headless Chromium in a Janus meeting on
# this machine (5 joins, 60 s windows, VP8 and H.264, raw, MJPEG and H.264
# cameras; about 20 minutes with BENCH_FLAGS='-retries -1', longer on a busy
# machine without it) and records the table in docs/benchmarks.md. Quick
# check that it works:
# go run ./cmd/bench-media -window 10s -settle 3s -joins 2 -retries -1 -denoiser-frames 150
bench-media: setup-apt build
	BENCH_MEDIA_VIA='make bench-media' ./bin/bench-media -roomd ./bin/roomd -doc docs/benchmarks.md $(BENCH_FLAGS)

# bench-sip measures roomd against baresip as the calling endpoint of the
# same 720p30 H.264 SIP call to an auto-answering baresip on this machine
# (5 timed calls and 2 windows of 30 s per caller, alternating; 4 to 8
# minutes) and records the table in docs/benchmarks.md. It runs in a
# session of its own at nice -10 where it may (root), so that other work
# on a shared machine does not starve the calls. Quick check:
# go run ./cmd/bench-sip -window 10s -calls 2 -rounds 1
bench-sip: setup-apt build
	BENCH_SIP_VIA='make bench-sip' setsid -w ./bin/bench-sip -roomd ./bin/roomd -nice -10 -doc docs/benchmarks.md $(BENCH_FLAGS)

# cross builds roomd for Raspberry Pi 4/5 (linux/arm64) with Debian's cross toolchain.
cross: setup-cross
	CGO_ENABLED=1 GOOS=linux GOARCH=arm64 CC=aarch64-linux-gnu-gcc CXX=aarch64-linux-gnu-g++ \
	  PKG_CONFIG_LIBDIR=/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig \
	  $(GO) build -ldflags '$(LDFLAGS)' -o bin/linux-arm64/ ./cmd/...
	@file bin/linux-arm64/roomd 2>/dev/null || true

# The flashable arm64 image (image/README.md). IMAGE_KIOSK=1 puts Chromium
# in cage on the touch screen (a larger, slower build); IMAGE_TEST=1 adds the
# boot tests' root shell on the UART, WHIP relay and test-only kernel
# modules (image/kmod: vicodec, v4l2loopback). Debian .debs and the
# Debian root file system are cached under IMAGE_CACHE, keyed by the recipe.
APT_IMAGE   := mmdebstrap qemu-user-static binfmt-support qemu-system-arm dosfstools mtools fdisk \
               u-boot-tools u-boot-qemu rauc openssl e2fsprogs squashfs-tools binutils kmod
IMAGE_KIOSK ?= 1
IMAGE_TEST  ?= 0
IMAGE_OUT   ?= out/image
IMAGE_CACHE ?= out/image-cache
IMAGE_PKGS  := image/packages.base $(if $(filter 1,$(IMAGE_KIOSK)),image/packages.kiosk)
IMAGE_FLAVOR := $(if $(filter 1,$(IMAGE_KIOSK)),kiosk,base)
ROOTFS_KEY   = $(shell cat image/mkrootfs.sh $(IMAGE_PKGS) | sha256sum | cut -c1-12)
ROOTFS_TAR   = $(IMAGE_CACHE)/rootfs-$(IMAGE_FLAVOR)-$(ROOTFS_KEY).tar
# The boot tests' image: no kiosk browser (CI time), test shell and relay.
TEST_IMAGE_OUT := out/image-test

# setup-image installs the image tools and registers qemu-user for arm64
# binaries (binfmt_misc), which mmdebstrap needs to run packages' scripts.
setup-image:
	@missing=""; for p in $(APT_IMAGE); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; fi
	@mountpoint -q /proc/sys/fs/binfmt_misc || $(SUDO) mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
	@$(SUDO) update-binfmts --enable qemu-aarch64 2>/dev/null || true
	@grep -q enabled /proc/sys/fs/binfmt_misc/qemu-aarch64 || { echo "qemu-aarch64 binfmt is not enabled"; exit 1; }

$(IMAGE_CACHE)/rootfs-%.tar:
	@mkdir -p $(IMAGE_CACHE)
	rm -f $(IMAGE_CACHE)/rootfs-$(IMAGE_FLAVOR)-*.tar
	$(SUDO) env IMAGE_CACHE=$(abspath $(IMAGE_CACHE)) image/mkrootfs.sh $(if $(filter 1,$(IMAGE_KIOSK)),full,base) $(@:.tar=.part.tar)
	mv $(@:.tar=.part.tar) $@

# image builds $(IMAGE_OUT)/roomd.img (flash it as image/README.md says).
image: setup-image cross
	$(MAKE) --no-print-directory $(ROOTFS_TAR)
	$(SUDO) env ROOMD_BIN=$(abspath bin/linux-arm64) IMAGE_KIOSK=$(IMAGE_KIOSK) IMAGE_TEST=$(IMAGE_TEST) \
	  IMAGE_CACHE=$(abspath $(IMAGE_CACHE)) GO=$(GO) PATH="$$PATH" image/mkimage.sh $(ROOTFS_TAR) $(IMAGE_OUT)

# test-image builds the test image and boots it in qemu-system-aarch64
# (software emulation) to check roomd on real kernel drivers and A/B rollback.
test-image: setup-apt setup-image
	$(MAKE) --no-print-directory image IMAGE_KIOSK=0 IMAGE_TEST=1 IMAGE_OUT=$(TEST_IMAGE_OUT)
	$(MAKE) --no-print-directory build
	ROOMD_IMAGE_DIR=$(abspath $(TEST_IMAGE_OUT)) ROOMD_HOST_BIN=$(abspath bin) ROOMD_IMAGE_CACHE=$(abspath $(IMAGE_CACHE)) \
	  $(GO) test -tags imagetest -count=1 -timeout 30m -v ./image/imagetest/

# vulncheck reports known vulnerabilities that roomd's code reaches, from
# the Go vulnerability database. This network cannot reach vuln.go.dev, so
# the database is built from the golang.org/x/vulndb module (OSV files, from
# the module proxy) with that module's own indexdb, once per vulndb version,
# under out/. Newer data: a newer VULNDB_VERSION (a pseudo-version of
# golang.org/x/vulndb's master branch). A finding fails the target.
GOVULNCHECK_VERSION := v1.10.0
VULNDB_VERSION      := v0.0.0-20261105234957-e22db6528018
GOVULNCHECK         := out/tools/govulncheck-$(GOVULNCHECK_VERSION)/govulncheck
VULNDB              := out/vulndb-$(VULNDB_VERSION)

.PHONY: vulncheck tidy-check

vulncheck: $(GOVULNCHECK) $(VULNDB)/index/db.json
	$(GOVULNCHECK) -db file://$(abspath $(VULNDB)) ./...

$(GOVULNCHECK):
	GOBIN=$(abspath $(dir $@)) $(GO) install golang.org/x/vuln/cmd/govulncheck@$(GOVULNCHECK_VERSION)

# The module is downloaded from a directory outside this module, so go.sum
# is left alone; the database is written aside and moved in when complete.
$(VULNDB)/index/db.json:
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	src=$$(cd "$$tmp" && $(GO) mod download -json golang.org/x/vulndb@$(VULNDB_VERSION) | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$$/\1/p'); \
	[ -d "$$src/data/osv" ] || { echo "vulncheck: golang.org/x/vulndb@$(VULNDB_VERSION) has no data/osv"; exit 1; }; \
	echo "building the vulnerability database from $$src/data/osv"; \
	rm -rf $(VULNDB).part; \
	(cd "$$tmp" && $(GO) run golang.org/x/vulndb/cmd/indexdb@$(VULNDB_VERSION) -vulns "$$src/data/osv" -out $(abspath $(VULNDB)).part); \
	rm -rf $(VULNDB); mv $(VULNDB).part $(VULNDB)

# tidy-check fails when go.mod or go.sum differ from what go mod tidy
# would write (and prints the difference).
tidy-check:
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum are not tidy: run go mod tidy and commit the result"; exit 1; }

clean:
	rm -rf bin out
