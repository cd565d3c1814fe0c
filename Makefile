# SPDX-License-Identifier: Apache-2.0

# libenos build.
#   make        library (shared + static), C examples, enos-sim, enos (CLI)  -> build/
#   make test   every test layer (installs missing Debian packages when root)
#   make demo   enos-sim on a free port + c_examples/report against it
#   make clean

GO      ?= go
PYTHON  ?= python3
BUILD   := build

VERSION := $(shell sed -n 's/^\#define ENOS_VERSION_STRING "\(.*\)"/\1/p' include/enos.h)
SOMAJOR := 1
SONAME  := libenos.so.$(SOMAJOR)
SOFILE  := $(BUILD)/libenos.so.$(VERSION)

# Everything the library is built from (the root cgo package and core/).
LIB_SRC := $(wildcard *.go *.c *.h) include/enos.h libenos.map go.mod go.sum \
           $(shell find core -name '*.go' -not -name '*_test.go' 2>/dev/null)
# enos-sim imports internal/ and core/ only: an edit to the export layer or the
# header does not rebuild it.
SIM_SRC := $(shell find cmd/enos-sim internal core -name '*.go' -not -name '*_test.go' 2>/dev/null) go.mod go.sum

GOFLAGS_REL := -trimpath
LDFLAGS_REL := -s -w
SO_EXTLDFLAGS := -Wl,-soname,$(SONAME) -Wl,--version-script=$(CURDIR)/libenos.map
# The programs (enos, enos-sim) as position-independent executables with full
# RELRO, as Debian builds every program (lintian: hardening-no-pie, -no-relro).
TOOL_BUILDFLAGS := -buildmode=pie -ldflags "-linkmode=external -extldflags '-Wl,-z,relro,-z,now'"

CFLAGS_EX ?= -O2 -g -Wall -Wextra -Werror
# Examples find libenos.so.1 next to themselves in build/.
RPATH := -Wl,-rpath,'$$ORIGIN'

EXAMPLES := $(BUILD)/report $(BUILD)/report-static $(BUILD)/commands $(BUILD)/gateway $(BUILD)/measurepoints

.PHONY: all lib static examples sim cli asan-lib test license-check go-test c-test python-test reliability-test valgrind-test fuzz-test cmake-test setup demo clean
.DELETE_ON_ERROR:

all: lib static examples sim cli

lib: $(BUILD)/libenos.so
static: $(BUILD)/libenos.a
examples: $(EXAMPLES)

$(SOFILE): $(LIB_SRC)
	@mkdir -p $(BUILD)
	CGO_ENABLED=1 $(GO) build -buildmode=c-shared $(GOFLAGS_REL) \
	  -ldflags "$(LDFLAGS_REL) -extldflags '$(SO_EXTLDFLAGS)'" -o $@ .
	@rm -f $(BUILD)/libenos.so.*.h   # cgo's generated header; include/enos.h is the real one

$(BUILD)/$(SONAME): $(SOFILE)
	ln -sf $(notdir $(SOFILE)) $@
$(BUILD)/libenos.so: $(BUILD)/$(SONAME)
	ln -sf $(SONAME) $@

$(BUILD)/libenos.a: $(LIB_SRC)
	@mkdir -p $(BUILD)
	CGO_ENABLED=1 $(GO) build -buildmode=c-archive $(GOFLAGS_REL) -ldflags "$(LDFLAGS_REL)" -o $@ .
	@rm -f $(BUILD)/libenos.h

$(BUILD)/report: c_examples/report.c include/enos.h $(BUILD)/libenos.so
	$(CC) $(CFLAGS_EX) -std=c99 -Iinclude -o $@ $< -L$(BUILD) -lenos $(RPATH)

$(BUILD)/commands: c_examples/commands.c include/enos.h $(BUILD)/libenos.so
	$(CC) $(CFLAGS_EX) -std=c99 -Iinclude -o $@ $< -L$(BUILD) -lenos -pthread $(RPATH)

$(BUILD)/gateway: c_examples/gateway.c include/enos.h $(BUILD)/libenos.so
	$(CC) $(CFLAGS_EX) -std=c99 -Iinclude -o $@ $< -L$(BUILD) -lenos -pthread $(RPATH)
$(BUILD)/measurepoints: c_examples/measurepoints.c include/enos.h $(BUILD)/libenos.so
	$(CC) $(CFLAGS_EX) -std=c99 -Iinclude -o $@ $< -L$(BUILD) -lenos $(RPATH)

# The same example linked statically against the c-archive.
$(BUILD)/report-static: c_examples/report.c include/enos.h $(BUILD)/libenos.a
	$(CC) $(CFLAGS_EX) -std=c99 -Iinclude -o $@ $< $(BUILD)/libenos.a -lpthread -lresolv

# enos: the operator's command-line tool (docs/enos-cli.md).
cli: $(BUILD)/enos
$(BUILD)/enos: $(shell find cmd/enos core -name '*.go' -not -name '*_test.go') go.mod go.sum
	@mkdir -p $(BUILD)
	$(GO) build $(GOFLAGS_REL) $(TOOL_BUILDFLAGS) -o $@ ./cmd/enos

# enos-sim: the local EnOS stand-in that the tests and the demo talk to.
sim: $(BUILD)/enos-sim

$(BUILD)/enos-sim: $(SIM_SRC)
	@mkdir -p $(BUILD)
	$(GO) build $(GOFLAGS_REL) $(TOOL_BUILDFLAGS) -o $@ ./cmd/enos-sim

setup:
	@test/setup.sh

# Every test layer, fastest feedback first; the first failing layer stops the
# run. CI (.ci/run) calls this.
TEST_LAYERS := license-check go-test c-test python-test abi-check reliability-test valgrind-test cmake-test \
               install-test deb-test cross-test fuzz-test bench-short
test: setup
	$(MAKE) --no-print-directory all
	@set -e; n=0; for layer in $(TEST_LAYERS); do \
	  echo "== make $$layer"; $(MAKE) --no-print-directory $$layer; n=$$((n + 1)); \
	done; echo "make test: all layers passed"; echo "layers: $$n passed, 0 failed"

# Every source file carries an SPDX-License-Identifier (tools/spdx.sh adds
# missing ones), and the script itself works (tools/spdx_test.sh).
license-check:
	tools/spdx_test.sh
	tools/spdx.sh --check

go-test:
	$(GO) mod tidy -diff   # go.mod/go.sum say exactly what the code imports
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

c-test: all asan-lib
	test/c/run.sh

# A `go build -asan` of the library, for the C tests' sanitizer variant (tests only).
asan-lib: $(BUILD)/asan/libenos.so
$(BUILD)/asan/libenos.so: $(LIB_SRC)
	@mkdir -p $(BUILD)/asan
	CGO_ENABLED=1 $(GO) build -asan -buildmode=c-shared \
	  -ldflags "-extldflags '$(SO_EXTLDFLAGS)'" -o $(BUILD)/asan/$(SONAME) .
	@rm -f $(BUILD)/asan/*.h
	ln -sf $(SONAME) $@

# The ctypes smoke test and the Python package's tests, against build/libenos.so.
python-test: all
	test/c/with-sim.sh -- $(PYTHON) test/python/smoke.py
	python/run_tests.sh

# The platform wheel of the Python package, libenos.so bundled and tagged
# manylinux_X_Y_ARCH from the library's ELF header and GLIBC symbol versions:
#   make wheel [WHEEL_LIBRARY=build/cross/arm64/libenos.so.$(VERSION)]  -> build/wheel/
WHEEL_LIBRARY ?= $(SOFILE)
.PHONY: wheel
wheel: $(WHEEL_LIBRARY)
	$(PYTHON) python/_build/make_wheel.py --library $(WHEEL_LIBRARY) --out $(BUILD)/wheel

# Reliability acceptance tests: loss, expiry, outage, kill -9, concurrency, scale (README.md, Tests).
reliability-test: all
	test/reliability/run.sh

# The C tests under valgrind, with suppressions for the Go runtime's frames.
valgrind-test: all
	test/valgrind/run.sh

# Every `go test -fuzz` target, briefly: FUZZTIME inputs (or a duration) per
# target. A count, because Go 1.26 can fail a duration-bound run spuriously at
# its deadline (golang/go#75804).
FUZZTIME ?= 100000x
fuzz-test:
	FUZZTIME=$(FUZZTIME) test/fuzz.sh

# The CMake build (library via go build, examples, C tests under ctest) in its own tree;
# then add_subdirectory() from another project and cmake --install (test/cmake/run.sh).
cmake-test:
	cmake -S . -B $(BUILD)/cmake -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr/local >/dev/null
	cmake --build $(BUILD)/cmake -j 2
	ctest --test-dir $(BUILD)/cmake --output-on-failure
	test/cmake/run.sh $(BUILD)/cmake

demo: all
	c_examples/demo.sh

clean:
	rm -rf $(BUILD)
include bench/bench.mk

# Install, Debian packages, cross builds and their checks (docs/install.md, docs/embedded.md).
include mk/*.mk
