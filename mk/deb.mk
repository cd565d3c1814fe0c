# SPDX-License-Identifier: Apache-2.0

# make deb: Debian packages of libenos for one architecture, built with
# dpkg-deb (no debhelper), into $(DEB_DIR):
#   libenos1_$(DEB_VERSION)_<arch>.deb     the shared library
#   libenos-dev_$(DEB_VERSION)_<arch>.deb  header, libenos.a, pkg-config, CMake package
#   enos-tools_$(DEB_VERSION)_<arch>.deb   enos (CLI) and enos-sim, man pages
# make debs: the same for every architecture of DEB_ARCHES (amd64 arm64 armhf):
# the native one from build/, the others cross-built (the compilers of
# mk/cross.mk) in build/deb-<arch>/.
# Install with: apt install ./build/deb/libenos1_*_amd64.deb ./build/deb/libenos-dev_*_amd64.deb
# Included from the Makefile after its variables (or make -f Makefile -f mk/deb.mk deb);
# uses mk/install.mk. Inputs: packaging/. Test: test/install/deb.sh (lintian-clean).
ifndef ENOS_MK_DEB
ENOS_MK_DEB := 1
ENOS_MK_DIR := $(dir $(lastword $(MAKEFILE_LIST)))
ENOS_TOP_MAKEFILE := $(firstword $(MAKEFILE_LIST))
include $(ENOS_MK_DIR)install.mk

DEB_DIR        ?= $(BUILD)/deb
DEB_REVISION   ?= 1
DEB_VERSION    ?= $(VERSION)-$(DEB_REVISION)
DEB_MAINTAINER ?= libenos maintainers <maintainers@users.noreply.r-seed-689bde6a.example>
DEB_ARCH       ?= $(shell dpkg --print-architecture)
DEB_MULTIARCH   = $(shell $(CC) -print-multiarch)
DEB_LIBDIR      = /usr/lib/$(DEB_MULTIARCH)
# binutils of the compiler's target: cc, gcc -> strip; aarch64-linux-gnu-gcc -> aarch64-linux-gnu-strip
DEB_STRIP       = $(if $(filter %-gcc,$(notdir $(CC))),$(patsubst %-gcc,%-strip,$(notdir $(CC))),strip)
DEB_PACKAGES   := libenos1 libenos-dev enos-tools
# The top entry of packaging/changelog must be this version.
DEB_CHANGELOG_VERSION = $(shell awk -F'[()]' 'NR == 1 { print $$2 }' packaging/changelog)

# make debs: cross compiler and Go target of each Debian architecture.
DEB_ARCHES          ?= amd64 arm64 armhf
DEB_CROSS_amd64     := CC=x86_64-linux-gnu-gcc GOOS=linux GOARCH=amd64
DEB_CROSS_arm64     := CC=aarch64-linux-gnu-gcc GOOS=linux GOARCH=arm64
DEB_CROSS_armhf     := CC=arm-linux-gnueabihf-gcc GOOS=linux GOARCH=arm GOARM=7
DEB_NATIVE_ARCH     := $(shell dpkg --print-architecture 2>/dev/null)

.PHONY: deb debs
debs:
	@set -e; for a in $(DEB_ARCHES); do \
	  if [ "$$a" = "$(DEB_NATIVE_ARCH)" ]; then \
	    $(MAKE) --no-print-directory -f $(ENOS_TOP_MAKEFILE) deb DEB_ARCH=$$a; \
	  else \
	    case $$a in amd64) e="$(DEB_CROSS_amd64)";; arm64) e="$(DEB_CROSS_arm64)";; armhf) e="$(DEB_CROSS_armhf)";; \
	      *) echo "debs: no cross settings for $$a" >&2; exit 1;; esac; \
	    env $$e CGO_ENABLED=1 $(MAKE) --no-print-directory -f $(ENOS_TOP_MAKEFILE) deb DEB_ARCH=$$a \
	      BUILD=$(BUILD)/deb-$$a DEB_DIR=$(DEB_DIR); \
	  fi; \
	done

deb: $(SOFILE) $(BUILD)/libenos.a $(BUILD)/enos $(BUILD)/enos-sim
	@command -v dpkg-deb >/dev/null || { echo "deb: dpkg-deb not found (a Debian system is needed)" >&2; exit 1; }
	@test -n "$(DEB_MULTIARCH)" || { echo "deb: $(CC) -print-multiarch printed nothing" >&2; exit 1; }
	@test "$(DEB_CHANGELOG_VERSION)" = "$(DEB_VERSION)" || { echo "deb: packaging/changelog is at $(DEB_CHANGELOG_VERSION), not $(DEB_VERSION): add an entry" >&2; exit 1; }
	@command -v $(DEB_STRIP) >/dev/null || { echo "deb: $(DEB_STRIP) not found (binutils of $(CC))" >&2; exit 1; }
	rm -rf $(DEB_DIR)/$(DEB_ARCH) $(addprefix $(DEB_DIR)/,$(addsuffix _$(DEB_VERSION)_$(DEB_ARCH).deb,$(DEB_PACKAGES)))
	$(MAKE) --no-print-directory -f $(ENOS_TOP_MAKEFILE) -f $(ENOS_MK_DIR)install.mk install \
	  DESTDIR=$(CURDIR)/$(DEB_DIR)/$(DEB_ARCH)/stage PREFIX=/usr LIBDIR=$(DEB_LIBDIR) INCLUDEDIR=/usr/include
	@echo "deb: $(DEB_PACKAGES) $(DEB_VERSION) ($(DEB_ARCH)) in $(DEB_DIR)"
	@set -e; w=$(DEB_DIR)/$(DEB_ARCH); s=$$w/stage; r=$$w/libenos1; d=$$w/libenos-dev; t=$$w/enos-tools; \
	mkdir -p $$r$(DEB_LIBDIR) $$d $$t/usr; \
	mv $$s$(DEB_LIBDIR)/libenos.so.$(VERSION) $$s$(DEB_LIBDIR)/$(SONAME) $$r$(DEB_LIBDIR)/; \
	mv $$s/usr/bin $$t/usr/bin; mkdir -p $$t/usr/share; mv $$s/usr/share/man $$t/usr/share/man; \
	rmdir $$s/usr/share; mv $$s/usr $$d/usr; \
	$(DEB_STRIP) --remove-section=.comment --remove-section=.note $$t/usr/bin/enos $$t/usr/bin/enos-sim; \
	gzip -9n $$t/usr/share/man/man1/*.1; \
	glibc() { objdump -T "$$@" 2>/dev/null | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -n 1; }; \
	lib_glibc=$$(glibc $(SOFILE)); test -n "$$lib_glibc"; \
	tools_glibc=$$(glibc $$t/usr/bin/enos $$t/usr/bin/enos-sim); \
	for p in $(DEB_PACKAGES); do \
	  k=$$w/$$p; \
	  install -d -m 0755 $$k/DEBIAN $$k/usr/share/doc/$$p; \
	  install -m 0644 packaging/copyright $$k/usr/share/doc/$$p/copyright; \
	  gzip -9nc packaging/changelog >$$k/usr/share/doc/$$p/changelog.Debian.gz; \
	  find $$k -type d -exec chmod 0755 {} +; \
	  find $$k -type f -exec chmod 0644 {} +; \
	  size=$$(du -sk --exclude=DEBIAN $$k | cut -f1); \
	  case $$p in enos-tools) dep=$${tools_glibc:+"Depends: libc6 (>= $$tools_glibc)"};; *) dep=;; esac; \
	  sed -e 's|@DEB_VERSION@|$(DEB_VERSION)|g' -e 's|@DEB_ARCH@|$(DEB_ARCH)|g' \
	      -e 's|@DEB_MAINTAINER@|$(DEB_MAINTAINER)|g' -e "s|@INSTALLED_SIZE@|$$size|g" \
	      -e "s|@GLIBC_MIN@|$$lib_glibc|g" -e "s|^@DEPENDS@|$${dep:+$$dep\n}|" \
	      packaging/$$p.control.in >$$k/DEBIAN/control; \
	done; \
	chmod 0755 $$t/usr/bin/enos $$t/usr/bin/enos-sim; \
	sed 's|@VERSION@|$(VERSION)|g' packaging/libenos1.shlibs.in >$$r/DEBIAN/shlibs; \
	grep -v '^#' packaging/libenos1.triggers >$$r/DEBIAN/triggers; \
	chmod 0644 $$r/DEBIAN/shlibs $$r/DEBIAN/triggers; \
	for p in $(DEB_PACKAGES); do \
	  k=$$w/$$p; \
	  (cd $$k && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0r md5sum >DEBIAN/md5sums); \
	  chmod 0644 $$k/DEBIAN/md5sums; \
	  dpkg-deb --root-owner-group -Zxz --build $$k $(DEB_DIR)/$${p}_$(DEB_VERSION)_$(DEB_ARCH).deb; \
	done; \
	rm -rf $$s
	@ls -l $(addprefix $(DEB_DIR)/,$(addsuffix _$(DEB_VERSION)_$(DEB_ARCH).deb,$(DEB_PACKAGES)))

# Builds the packages of every architecture, runs lintian on each, inspects
# them, unpacks the native ones into a throw-away root and compiles against it
# (never installs into the system).
.PHONY: deb-test
deb-test:
	test/install/deb.sh

endif
