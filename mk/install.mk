# SPDX-License-Identifier: Apache-2.0

# make install / make uninstall (included from the Makefile, after its variables;
# or: make -f Makefile -f mk/install.mk install).
#
#   make install [PREFIX=/usr/local] [DESTDIR=/tmp/root] [LIBDIR=...] [INCLUDEDIR=...]
#   make uninstall (same variables), make abi-check, make install-test
#
# Installs (GNU directory variables; LIBDIR and INCLUDEDIR may be overridden,
# absolute paths):
#   $(LIBDIR)/libenos.so.$(VERSION)      the library (SONAME libenos.so.1)
#   $(LIBDIR)/libenos.so.1 -> libenos.so.$(VERSION)
#   $(LIBDIR)/libenos.so   -> libenos.so.1   (link-time name)
#   $(LIBDIR)/libenos.a                      (c-archive; link with -lpthread -lresolv)
#   $(INCLUDEDIR)/enos.h
#   $(PKGCONFIGDIR)/enos.pc, enos-shared.pc  pkg-config --cflags --libs [--static] enos
#   $(CMAKEDIR)/enosConfig.cmake, enosConfigVersion.cmake
#                                            find_package(enos) -> enos::enos, enos::enos_static
#   $(BINDIR)/enos, $(BINDIR)/enos-sim       the command-line tool and the simulator
#   $(MANDIR)/man1/enos.1, enos-sim.1        their manual pages
# The CMake files locate the library relative to themselves, so a tree installed
# under DESTDIR (or moved) works with CMAKE_PREFIX_PATH; enos.pc uses absolute
# paths: use PKG_CONFIG_SYSROOT_DIR for a DESTDIR tree.
ifndef ENOS_MK_INSTALL
ENOS_MK_INSTALL := 1

PREFIX       ?= /usr/local
EXEC_PREFIX  ?= $(PREFIX)
LIBDIR       ?= $(EXEC_PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
CMAKEDIR     ?= $(LIBDIR)/cmake/enos
BINDIR       ?= $(EXEC_PREFIX)/bin
MANDIR       ?= $(PREFIX)/share/man
DESTDIR      ?=
INSTALL      ?= install

# enos.pc: paths under PREFIX are written relative to ${prefix}.
enos_pc_dir = $(patsubst $(PREFIX)/%,$${prefix}/%,$(patsubst $(PREFIX),$${prefix},$(1)))
# Pointer size of the target, for enosConfigVersion.cmake (8 on amd64/arm64, 4 on armv7).
ENOS_SIZEOF_VOID_P = $(shell $(CC) -dM -E - </dev/null 2>/dev/null | sed -n 's/^\#define __SIZEOF_POINTER__ //p')

.PHONY: install uninstall

install: $(SOFILE) $(BUILD)/libenos.a $(BUILD)/enos $(BUILD)/enos-sim
	@case "$(LIBDIR)$(INCLUDEDIR)$(PKGCONFIGDIR)$(CMAKEDIR)$(BINDIR)$(MANDIR)" in *' '*) echo "install: paths with spaces are not supported" >&2; exit 1;; esac
	@for d in "$(PREFIX)" "$(LIBDIR)" "$(INCLUDEDIR)" "$(PKGCONFIGDIR)" "$(CMAKEDIR)" "$(BINDIR)" "$(MANDIR)"; do \
	  case $$d in /*) ;; *) echo "install: $$d is not an absolute path" >&2; exit 1;; esac; done
	$(INSTALL) -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(CMAKEDIR)
	$(INSTALL) -m 0755 $(SOFILE) $(DESTDIR)$(LIBDIR)/libenos.so.$(VERSION)
	ln -sfn libenos.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sfn $(SONAME) $(DESTDIR)$(LIBDIR)/libenos.so
	$(INSTALL) -m 0644 $(BUILD)/libenos.a $(DESTDIR)$(LIBDIR)/libenos.a
	$(INSTALL) -m 0644 include/enos.h $(DESTDIR)$(INCLUDEDIR)/enos.h
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(call enos_pc_dir,$(LIBDIR))|g' \
	    -e 's|@INCLUDEDIR@|$(call enos_pc_dir,$(INCLUDEDIR))|g' -e 's|@VERSION@|$(VERSION)|g' \
	    pkgconfig/enos.pc.in >$(DESTDIR)$(PKGCONFIGDIR)/enos.pc
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(call enos_pc_dir,$(LIBDIR))|g' -e 's|@VERSION@|$(VERSION)|g' \
	    pkgconfig/enos-shared.pc.in >$(DESTDIR)$(PKGCONFIGDIR)/enos-shared.pc
	chmod 0644 $(DESTDIR)$(PKGCONFIGDIR)/enos.pc $(DESTDIR)$(PKGCONFIGDIR)/enos-shared.pc
	rel_lib=$$(realpath -m --relative-to=$(CMAKEDIR) $(LIBDIR)) && \
	rel_inc=$$(realpath -m --relative-to=$(CMAKEDIR) $(INCLUDEDIR)) && \
	sed -e "s|@ENOS_REL_LIBDIR@|$$rel_lib|g" -e "s|@ENOS_REL_INCLUDEDIR@|$$rel_inc|g" \
	    -e 's|@VERSION@|$(VERSION)|g' -e 's|@SONAME@|$(SONAME)|g' \
	    cmake/enosConfig.cmake.in >$(DESTDIR)$(CMAKEDIR)/enosConfig.cmake
	sed -e 's|@VERSION@|$(VERSION)|g' -e 's|@SIZEOF_VOID_P@|$(ENOS_SIZEOF_VOID_P)|g' \
	    cmake/enosConfigVersion.cmake.in >$(DESTDIR)$(CMAKEDIR)/enosConfigVersion.cmake
	chmod 0644 $(DESTDIR)$(CMAKEDIR)/enosConfig.cmake $(DESTDIR)$(CMAKEDIR)/enosConfigVersion.cmake
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	$(INSTALL) -m 0755 $(BUILD)/enos $(BUILD)/enos-sim $(DESTDIR)$(BINDIR)/
	$(INSTALL) -m 0644 docs/man/enos.1 docs/man/enos-sim.1 $(DESTDIR)$(MANDIR)/man1/
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null 2>&1; then ldconfig; fi

# Checks (called from `make test`): the committed ABI, and an install into a
# temporary DESTDIR used by an out-of-tree program (pkg-config and CMake).
.PHONY: abi-check install-test
abi-check: $(BUILD)/libenos.so
	abi/check.sh
install-test:
	test/install/run.sh

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libenos.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME) \
	      $(DESTDIR)$(LIBDIR)/libenos.so $(DESTDIR)$(LIBDIR)/libenos.a \
	      $(DESTDIR)$(INCLUDEDIR)/enos.h $(DESTDIR)$(PKGCONFIGDIR)/enos.pc $(DESTDIR)$(PKGCONFIGDIR)/enos-shared.pc \
	      $(DESTDIR)$(CMAKEDIR)/enosConfig.cmake $(DESTDIR)$(CMAKEDIR)/enosConfigVersion.cmake \
	      $(DESTDIR)$(BINDIR)/enos $(DESTDIR)$(BINDIR)/enos-sim \
	      $(DESTDIR)$(MANDIR)/man1/enos.1 $(DESTDIR)$(MANDIR)/man1/enos-sim.1
	-rmdir $(DESTDIR)$(CMAKEDIR) 2>/dev/null

endif
