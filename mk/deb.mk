# make deb: Debian packages libenos1 (runtime) and libenos-dev for the native
# architecture, built with dpkg-deb (no debhelper), into $(DEB_DIR):
#   libenos1_$(VERSION)-$(DEB_REVISION)_<arch>.deb, libenos-dev_..._<arch>.deb
# Install with: apt install ./build/deb/libenos1_*.deb ./build/deb/libenos-dev_*.deb
# Included from the Makefile after its variables (or make -f Makefile -f mk/deb.mk deb);
# uses mk/install.mk. Inputs: packaging/. Test: test/install/deb.sh.
ifndef ENOS_MK_DEB
ENOS_MK_DEB := 1
ENOS_MK_DIR := $(dir $(lastword $(MAKEFILE_LIST)))
ENOS_TOP_MAKEFILE := $(firstword $(MAKEFILE_LIST))
include $(ENOS_MK_DIR)install.mk

DEB_DIR        ?= $(BUILD)/deb
DEB_REVISION   ?= 1
DEB_VERSION    ?= $(VERSION)-$(DEB_REVISION)
DEB_MAINTAINER ?= libenos maintainers <maintainers@users.noreply.r-seed-689bde6a.example>
DEB_ARCH        = $(shell dpkg --print-architecture)
DEB_MULTIARCH   = $(shell $(CC) -print-multiarch)
DEB_LIBDIR      = /usr/lib/$(DEB_MULTIARCH)

.PHONY: deb
deb: $(SOFILE) $(BUILD)/libenos.a
	@command -v dpkg-deb >/dev/null || { echo "deb: dpkg-deb not found (a Debian system is needed)" >&2; exit 1; }
	@test -n "$(DEB_MULTIARCH)" || { echo "deb: $(CC) -print-multiarch printed nothing" >&2; exit 1; }
	rm -rf $(DEB_DIR)/stage $(DEB_DIR)/libenos1 $(DEB_DIR)/libenos-dev $(DEB_DIR)/*.deb
	$(MAKE) --no-print-directory -f $(ENOS_TOP_MAKEFILE) -f $(ENOS_MK_DIR)install.mk install \
	  DESTDIR=$(CURDIR)/$(DEB_DIR)/stage PREFIX=/usr LIBDIR=$(DEB_LIBDIR) INCLUDEDIR=/usr/include
	@echo "deb: libenos1 and libenos-dev $(DEB_VERSION) ($(DEB_ARCH)) in $(DEB_DIR)"
	@set -e; s=$(DEB_DIR)/stage; r=$(DEB_DIR)/libenos1; d=$(DEB_DIR)/libenos-dev; \
	mkdir -p $$r$(DEB_LIBDIR) $$d; \
	mv $$s$(DEB_LIBDIR)/libenos.so.$(VERSION) $$s$(DEB_LIBDIR)/$(SONAME) $$r$(DEB_LIBDIR)/; \
	mv $$s/usr $$d/usr; \
	glibc=$$(objdump -T $(SOFILE) | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -n 1); \
	test -n "$$glibc"; \
	for p in libenos1 libenos-dev; do \
	  t=$(DEB_DIR)/$$p; \
	  install -d -m 0755 $$t/DEBIAN $$t/usr/share/doc/$$p; \
	  install -m 0644 packaging/copyright $$t/usr/share/doc/$$p/copyright; \
	  find $$t -type d -exec chmod 0755 {} +; \
	  find $$t -type f -exec chmod 0644 {} +; \
	  size=$$(du -sk --exclude=DEBIAN $$t | cut -f1); \
	  sed -e 's|@DEB_VERSION@|$(DEB_VERSION)|g' -e 's|@DEB_ARCH@|$(DEB_ARCH)|g' \
	      -e 's|@DEB_MAINTAINER@|$(DEB_MAINTAINER)|g' -e "s|@INSTALLED_SIZE@|$$size|g" \
	      -e "s|@GLIBC_MIN@|$$glibc|g" packaging/$$p.control.in >$$t/DEBIAN/control; \
	done; \
	chmod 0755 $$r$(DEB_LIBDIR)/libenos.so.$(VERSION); \
	sed 's|@VERSION@|$(VERSION)|g' packaging/libenos1.shlibs.in >$$r/DEBIAN/shlibs; \
	grep -v '^#' packaging/libenos1.triggers >$$r/DEBIAN/triggers; \
	chmod 0644 $$r/DEBIAN/shlibs $$r/DEBIAN/triggers; \
	for p in libenos1 libenos-dev; do \
	  t=$(DEB_DIR)/$$p; \
	  (cd $$t && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0r md5sum >DEBIAN/md5sums); \
	  chmod 0644 $$t/DEBIAN/md5sums; \
	  dpkg-deb --root-owner-group -Zxz --build $$t $(DEB_DIR)/$${p}_$(DEB_VERSION)_$(DEB_ARCH).deb; \
	done; \
	rm -rf $$s
	@ls -l $(DEB_DIR)/*.deb

# Builds the packages, inspects them, unpacks them into a throw-away root and
# compiles against it (never installs into the system).
.PHONY: deb-test
deb-test:
	test/install/deb.sh

endif
