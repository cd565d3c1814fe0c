# SPDX-License-Identifier: Apache-2.0

# Cross builds of libenos for embedded Linux (included from the Makefile, after
# its variables; or: make -f Makefile -f mk/cross.mk cross).
#
#   make cross          build/cross/{arm64,armv7}/: libenos.so.$(VERSION) + links,
#                       the C test programs test/c/test_*.c (C11, flags of test/c/run.sh) and the
#                       examples c_examples/*.c
#   make cross-arm64    one architecture
#   make cross-armv7
#   make cross-test     test/cross/run.sh: build, check, run the tests under qemu-user
#
# Needs the Debian cross compilers gcc-aarch64-linux-gnu and gcc-arm-linux-gnueabihf
# (test/cross/run.sh installs them as root). armv7 is the hard-float ABI (armhf),
# GOARM=7 (VFPv3). Override a compiler with e.g. CROSS_CC_arm64=... .
# See docs/embedded.md for the target requirements.
ifndef ENOS_MK_CROSS
ENOS_MK_CROSS := 1

CROSS_DIR      ?= $(BUILD)/cross
CROSS_ARCHES   ?= arm64 armv7
CROSS_CC_arm64 ?= aarch64-linux-gnu-gcc
CROSS_CC_armv7 ?= arm-linux-gnueabihf-gcc
CROSS_GOENV_arm64 := GOOS=linux GOARCH=arm64
CROSS_GOENV_armv7 := GOOS=linux GOARCH=arm GOARM=7
# The flags of test/c/run.sh (tests) and of the Makefile's examples.
CROSS_TEST_CFLAGS    ?= -O1 -g -Wall -Wextra -Werror -Wpedantic -std=c11
CROSS_EXAMPLE_CFLAGS ?= -O2 -g -Wall -Wextra -Werror -std=c99
CROSS_TESTS    ?= $(notdir $(basename $(wildcard test/c/test_*.c)))
CROSS_EXAMPLES ?= $(notdir $(basename $(wildcard c_examples/*.c)))
# Programs find libenos.so.1 next to themselves.
CROSS_RPATH     = -Wl,-rpath,'$$ORIGIN'

.PHONY: cross $(addprefix cross-,$(CROSS_ARCHES))
cross: $(addprefix cross-,$(CROSS_ARCHES))

# $(call enos_cross_rules,ARCH)
define enos_cross_rules
cross-$(1): $(CROSS_DIR)/$(1)/libenos.so $(addprefix $(CROSS_DIR)/$(1)/,$(CROSS_TESTS) $(CROSS_EXAMPLES))

$(CROSS_DIR)/$(1)/libenos.so.$(VERSION): $(LIB_SRC)
	@mkdir -p $$(@D)
	@command -v $(CROSS_CC_$(1)) >/dev/null || { echo "cross: $(CROSS_CC_$(1)) not found (apt-get install $(if $(filter arm64,$(1)),gcc-aarch64-linux-gnu,gcc-arm-linux-gnueabihf))" >&2; exit 1; }
	CGO_ENABLED=1 CC=$(CROSS_CC_$(1)) $(CROSS_GOENV_$(1)) $(GO) build -buildmode=c-shared $(GOFLAGS_REL) \
	  -ldflags "$(LDFLAGS_REL) -extldflags '$(SO_EXTLDFLAGS)'" -o $$@ .
	@rm -f $(CROSS_DIR)/$(1)/libenos.so.*.h
$(CROSS_DIR)/$(1)/$(SONAME): $(CROSS_DIR)/$(1)/libenos.so.$(VERSION)
	ln -sf libenos.so.$(VERSION) $$@
$(CROSS_DIR)/$(1)/libenos.so: $(CROSS_DIR)/$(1)/$(SONAME)
	ln -sf $(SONAME) $$@

$(CROSS_DIR)/$(1)/test_%: test/c/test_%.c test/c/harness.h test/c/simlog.h include/enos.h $(CROSS_DIR)/$(1)/libenos.so
	$(CROSS_CC_$(1)) $(CROSS_TEST_CFLAGS) -Iinclude -Itest/c -o $$@ $$< -L$(CROSS_DIR)/$(1) -lenos -pthread $$(CROSS_RPATH)
$(addprefix $(CROSS_DIR)/$(1)/,$(CROSS_EXAMPLES)): $(CROSS_DIR)/$(1)/%: c_examples/%.c include/enos.h $(CROSS_DIR)/$(1)/libenos.so
	$(CROSS_CC_$(1)) $(CROSS_EXAMPLE_CFLAGS) -Iinclude -o $$@ $$< -L$(CROSS_DIR)/$(1) -lenos -pthread $$(CROSS_RPATH)
endef
$(foreach a,$(CROSS_ARCHES),$(eval $(call enos_cross_rules,$(a))))

# make cross + the C tests of each architecture under qemu-user against enos-sim
# (installs the cross compilers and qemu-user as root).
.PHONY: cross-test
cross-test:
	test/cross/run.sh

endif
