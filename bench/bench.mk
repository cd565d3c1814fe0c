# SPDX-License-Identifier: Apache-2.0

# bench/bench.mk: benchmark rules, included by the top-level Makefile
# (`include bench/bench.mk`). See BENCHMARKS.md.
#
#   make bench                  every benchmark, full mode (a few minutes)
#   make bench BENCH_SHORT=1    short mode for CI (< 2 minutes); same as `make bench-short`
#   make bench-build            only build the benchmark programs
#   make bench-sim              the simulator at scale: 1,000,000 requests, 100,000 devices
#                               (OLD_SIM=path/enos-sim adds an older simulator for comparison)
#
# Results: build/bench/results.txt and build/bench/summary.md. Benchmarks never
# fail on their numbers; only a crash, an error or a missing result fails.
# Needs libcoap3-dev, libssl-dev and pkg-config (installed when run as root).

BENCH_SHORT   ?= 0
BENCH_CFLAGS  ?= -O2 -g -Wall -Wextra
BENCH_OUT     ?= $(BUILD)/bench
BENCH_PKGS    := libcoap3-dev libssl-dev pkg-config
BENCH_PROGS   := $(BUILD)/sign_bench $(BUILD)/report_enos $(BUILD)/report_coap \
                 $(BUILD)/report_enos_dtls $(BUILD)/report_coap_dtls \
                 $(BUILD)/null_server $(BUILD)/scale_bench $(BUILD)/async_bench $(BUILD)/footprint
BENCH_ENOS_LD := -L$(BUILD) -lenos -Wl,-rpath,'$$ORIGIN'

.PHONY: bench bench-short bench-build bench-deps bench-sim

bench: bench-build
	BUILD=$(BUILD) OUT=$(BENCH_OUT) BENCH_SHORT=$(BENCH_SHORT) PYTHON=$(PYTHON) bench/run.sh

bench-short:
	$(MAKE) --no-print-directory bench BENCH_SHORT=1

bench-build: bench-deps lib sim $(BENCH_PROGS)

bench-sim: sim
	BUILD=$(BUILD) OUT=$(BENCH_OUT) bench/sim_scale.sh

# Installs the build dependencies when root and missing; otherwise says what to install.
bench-deps:
	@missing=""; for p in $(BENCH_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "bench: installing$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else \
	    echo "bench: missing packages:$$missing (run: sudo apt-get install$$missing)" >&2; exit 1; \
	  fi; \
	fi

$(BUILD)/sign_bench: bench/sign_bench.c bench/common.h include/enos.h $(BUILD)/libenos.so
	$(CC) $(BENCH_CFLAGS) -Iinclude -Ibench -o $@ $< $(BENCH_ENOS_LD) $$(pkg-config --libs libcrypto)

$(BUILD)/report_enos: bench/report_enos.c bench/common.h include/enos.h $(BUILD)/libenos.so
	$(CC) $(BENCH_CFLAGS) -Iinclude -Ibench -o $@ $< $(BENCH_ENOS_LD)

$(BUILD)/report_coap: bench/report_coap.c bench/common.h
	$(CC) $(BENCH_CFLAGS) -Ibench $$(pkg-config --cflags libcoap-3-openssl) -o $@ $< \
	  $$(pkg-config --libs libcoap-3-openssl libcrypto)

$(BUILD)/report_enos_dtls: bench/report_enos_dtls.c bench/common.h include/enos.h $(BUILD)/libenos.so
	$(CC) $(BENCH_CFLAGS) -Iinclude -Ibench -o $@ $< $(BENCH_ENOS_LD)

$(BUILD)/report_coap_dtls: bench/report_coap_dtls.c bench/common.h
	$(CC) $(BENCH_CFLAGS) -Ibench $$(pkg-config --cflags libcoap-3-openssl) -o $@ $< \
	  $$(pkg-config --libs libcoap-3-openssl libcrypto)

$(BUILD)/null_server: bench/null_server.c
	$(CC) $(BENCH_CFLAGS) -o $@ $<

$(BUILD)/scale_bench: bench/scale_bench.c bench/common.h include/enos.h $(BUILD)/libenos.so
	$(CC) $(BENCH_CFLAGS) -Iinclude -Ibench -o $@ $< $(BENCH_ENOS_LD) -lpthread

$(BUILD)/async_bench: bench/async_bench.c bench/common.h include/enos.h $(BUILD)/libenos.so
	$(CC) $(BENCH_CFLAGS) -Iinclude -Ibench -o $@ $< $(BENCH_ENOS_LD) -lpthread

$(BUILD)/footprint: bench/footprint.c bench/common.h include/enos.h $(BUILD)/libenos.so
	$(CC) $(BENCH_CFLAGS) -Iinclude -Ibench -o $@ $< $(BENCH_ENOS_LD)
