# Flint build. GNU make + pkg-config; everything lands under build/.
#   make deps   install the Debian packages Flint needs (no-op when present)
#   make        build daemons, CLI, examples        make test   deps + build + all tests
#   make demo   local cluster, one job              make clean
#   make asan   unit tests, then test_jobs, test_abuse_rpc and test_lifecycle against the daemons, all built
#               with ASan+UBSan into build/asan
#   make test-faults   the whole multi-host fault suite (tests/cluster/test_nemesis.sh)
# New .c files are picked up by wildcard: a file belongs to the folder's target.

BUILD   ?= build
CC      ?= cc
OPT     ?= -O2
DEBS    := libevent-dev libprotobuf-c-dev protobuf-c-compiler libzookeeper-mt-dev \
           librocksdb-dev libjansson-dev libssl-dev check pkg-config zookeeper curl python3 \
           iproute2 nftables openssl clang libclang-rt-14-dev \
           prometheus chromium \
           librdkafka-dev kcat libpq-dev postgresql libhiredis-dev redis-server \
           libcurl4-openssl-dev nodejs liblz4-dev doxygen
PKGS    := libevent libevent_pthreads libevent_openssl libprotobuf-c jansson libssl libcrypto \
           libcurl liblz4
# The connectors' client libraries: linked only into what uses connectors/ (the bundles of
# examples/kafka_*, pg_*, redis_*, the Kafka test broker and benchmark), never the daemons.
CONN_PKGS := rdkafka libpq hiredis

# Deferred (=) so that `make deps` works before pkg-config knows these packages.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS))
CONN_CFLAGS = $(shell pkg-config --cflags $(CONN_PKGS))
CONN_LIBS   = $(shell pkg-config --libs $(CONN_PKGS))
WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter \
           -Wvla
CFLAGS  ?= $(OPT) -g
ALL_CFLAGS = -std=gnu11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(SAN) -pthread -fPIC -MMD -MP \
             -I. -Iinclude -I$(BUILD)/gen $(PKG_CFLAGS) $(CONN_CFLAGS)
LDLIBS_ALL = $(PKG_LIBS) -lrocksdb -lzookeeper_mt -ldl -lm -pthread
# Protobuf-generated sources are exempt from our stricter prototype warnings.
GEN_CFLAGS = $(filter-out -Wmissing-prototypes -Wshadow,$(ALL_CFLAGS))

PROTOS      := $(wildcard proto/*.proto)
GEN_C       := $(patsubst proto/%.proto,$(BUILD)/gen/proto/%.pb-c.c,$(PROTOS))
GEN_H       := $(GEN_C:.c=.h)
GEN_O       := $(patsubst $(BUILD)/gen/%.c,$(BUILD)/obj/gen/%.o,$(GEN_C))

# ---- the layers ---------------------------------------------------------------------
# One archive per folder. A folder's code may call only the folders on its USES line (all
# of those below it, in link order), and `make layers` (part of all) links each archive
# alone against exactly those: a call in the wrong direction is an undefined reference
# and fails the build. Each binary links the archives it needs, in this order, and the
# linker takes only the members it uses; the bundle API (common/api) is linked whole into
# the binaries that load bundles, whose references it must satisfy. The rooms and their
# rules are in README.md (Developer notes).
USES_taskmanager                  := taskmanager/task taskmanager/operators \
                                     taskmanager/operators/window taskmanager/chain \
                                     taskmanager/state taskmanager/network common/api common proto
USES_taskmanager/task             := taskmanager/operators taskmanager/operators/window \
                                     taskmanager/chain taskmanager/state taskmanager/network \
                                     common/api common proto
USES_taskmanager/operators        := taskmanager/chain taskmanager/state taskmanager/network \
                                     common/api common proto
USES_taskmanager/operators/window := taskmanager/chain taskmanager/state taskmanager/network \
                                     common/api common proto
USES_taskmanager/chain            := taskmanager/state taskmanager/network common/api common proto
USES_taskmanager/state            := common proto
USES_taskmanager/network          := common proto
USES_jobmanager                   := jobmanager/ha common proto
USES_jobmanager/ha                := common proto
USES_client                       := common/api common proto
# connectors/: Kafka (librdkafka) and the other connectors, written against the public
# connector API only (include/flint/connectors.h); linked into the job bundles that use
# them (connector bundles below), never into the daemons.
USES_connectors                   := common/api common proto
USES_common/api                   := common proto
USES_common                       := proto
USES_proto                        :=
FOLDERS     := taskmanager taskmanager/task taskmanager/operators taskmanager/operators/window \
               taskmanager/chain taskmanager/state taskmanager/network jobmanager jobmanager/ha client \
               connectors common/api common proto

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
lib = $(foreach f,$(1),$(BUILD)/lib/libflint-$(subst /,-,$(f)).a)
folder_src = $(filter-out $(1)/main.c,$(wildcard $(1)/*.c))
$(foreach f,$(filter-out proto,$(FOLDERS)),$(eval OBJ_$(f) := $(call obj,$(call folder_src,$(f)))))
OBJ_proto   := $(GEN_O)
# A binary's archives: its own folders and everything they use, in link order.
libs_for = $(call lib,$(filter $(sort $(1) $(foreach f,$(1),$(USES_$(f)))),$(FOLDERS)))
API_WHOLE   = -Wl,--whole-archive $(call lib,common/api) -Wl,--no-whole-archive

LIBS_JM     := $(call libs_for,jobmanager)
LIBS_TM     := $(call libs_for,taskmanager)
LIBS_CLI    := $(call libs_for,client)
LIBS_ALL    := $(call lib,$(FOLDERS))
LAYER_OK    := $(patsubst %,$(BUILD)/layers/%.ok,$(subst /,-,$(FOLDERS)))

BINS        := $(BUILD)/bin/flint-jobmanager $(BUILD)/bin/flint-taskmanager $(BUILD)/bin/flint
HARNESS_O   := $(call obj,$(wildcard tests/harness/*.c))
UNIT_SRC    := $(wildcard tests/unit/check_*.c)
UNIT_BINS   := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
TOOL_SRC    := $(wildcard tests/tools/*.c)
TOOL_BINS   := $(patsubst tests/tools/%.c,$(BUILD)/tests/flint-%,$(TOOL_SRC))
EX_SRC      := $(wildcard examples/*.c)
EX_SO       := $(patsubst examples/%.c,$(BUILD)/examples/%.so,$(EX_SRC))
BENCH_SRC   := $(wildcard bench/*.c)
BENCH_BINS  := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))
WEB_FILES   := $(patsubst web/%,$(BUILD)/web/%,$(wildcard web/*.html web/*.js web/*.css))

.PHONY: all deps test unit cluster asan demo clean bench test-faults layers fuzz fuzz-bins fuzz-smoke
.PHONY: docs docs-check
.SECONDARY:
all: $(BINS) $(UNIT_BINS) $(TOOL_BINS) $(EX_SO) $(BENCH_BINS) $(WEB_FILES) layers

deps:
	@missing=$$(for p in $(DEBS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
	    grep -q '^install ok installed' || echo $$p; done; \
	    command -v npm >/dev/null || echo npm); \
	if [ -n "$$missing" ]; then \
	    sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	    echo "make deps: installing $$missing"; \
	    $$sudo apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@# the S3 API server of the tests (s3rver), pinned by tests/s3/package-lock.json
	@[ -x tests/s3/node_modules/.bin/s3rver ] || (cd tests/s3 && npm ci --no-audit --no-fund --silent)

$(BUILD)/gen/proto/%.pb-c.c $(BUILD)/gen/proto/%.pb-c.h: proto/%.proto
	@mkdir -p $(BUILD)/gen/proto
	protoc-c --proto_path=proto --c_out=$(BUILD)/gen/proto $<

$(BUILD)/obj/gen/%.o: $(BUILD)/gen/%.c | $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(GEN_CFLAGS) -c $< -o $@

# Every object may include generated headers: build them first.
$(BUILD)/obj/%.o: %.c | $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(foreach f,$(FOLDERS),$(eval $(call lib,$(f)): $(OBJ_$(f))))
$(call lib,$(FOLDERS)):
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# Each archive, whole, against only what its folder may use: -z defs makes any other call
# an undefined reference.
layers: $(LAYER_OK)
$(foreach f,$(FOLDERS),$(eval $(BUILD)/layers/$(subst /,-,$(f)).ok: $(call lib,$(f) $(USES_$(f)))))
$(BUILD)/layers/%.ok:
	@mkdir -p $(dir $@)
	@$(CC) $(ALL_CFLAGS) -shared -o $(@:.ok=.so) -Wl,--whole-archive $(firstword $^) \
	    -Wl,--no-whole-archive $(wordlist 2,$(words $^),$^) $(LDLIBS_ALL) $(CONN_LIBS) -Wl,-z,defs || \
	    { echo "layers: $(notdir $(firstword $^)), linked with only what its folder may use," \
	           "left the undefined reference above: a call into a folder its caller may not" \
	           "use (the USES lines of the Makefile)" >&2; exit 1; }
	@rm -f $(@:.ok=.so) && touch $@

LINK = $(CC) $(ALL_CFLAGS) -rdynamic -o $@ $(filter %.o,$^)
$(BUILD)/bin/flint-jobmanager: $(BUILD)/obj/jobmanager/main.o $(LIBS_JM)
	@mkdir -p $(dir $@)
	$(LINK) $(LIBS_JM) $(LDLIBS_ALL)
$(BUILD)/bin/flint-taskmanager: $(BUILD)/obj/taskmanager/main.o $(LIBS_TM)
	@mkdir -p $(dir $@)
	$(LINK) $(API_WHOLE) $(LIBS_TM) $(LDLIBS_ALL)
$(BUILD)/bin/flint: $(BUILD)/obj/client/main.o $(LIBS_CLI)
	@mkdir -p $(dir $@)
	$(LINK) $(API_WHOLE) $(LIBS_CLI) $(LDLIBS_ALL)

# The web dashboard (web/, plain HTML, CSS and JavaScript: nothing to build), served by the
# JobManager from build/web.
$(BUILD)/web/%: web/%
	@mkdir -p $(dir $@)
	cp -f $< $@

# Tests, tools and benchmarks take what they use of every archive; the unit tests also the
# operator test harness.
$(BUILD)/tests/check_%: $(BUILD)/obj/tests/unit/check_%.o $(HARNESS_O) $(LIBS_ALL)
	@mkdir -p $(dir $@)
	$(LINK) $(API_WHOLE) $(LIBS_ALL) $(LDLIBS_ALL) $(shell pkg-config --libs check 2>/dev/null)
$(BUILD)/tests/flint-%: $(BUILD)/obj/tests/tools/%.o $(LIBS_ALL)
	@mkdir -p $(dir $@)
	$(LINK) $(LIBS_ALL) $(LDLIBS_ALL)
# bench/typed_state drives one operator through the test harness, as the unit tests do.
$(BUILD)/bench/typed_state: $(BUILD)/obj/bench/typed_state.o $(HARNESS_O) $(LIBS_ALL)
	@mkdir -p $(dir $@)
	$(LINK) $(API_WHOLE) $(LIBS_ALL) $(LDLIBS_ALL)
$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(LIBS_ALL)
	@mkdir -p $(dir $@)
	$(LINK) $(LIBS_ALL) $(LDLIBS_ALL)
# bench/window_op.c drives one operator in-process through the operator test harness.
$(BUILD)/bench/window_op: $(BUILD)/obj/bench/window_op.o $(HARNESS_O) $(LIBS_ALL)
	@mkdir -p $(dir $@)
	$(LINK) $(API_WHOLE) $(LIBS_ALL) $(LDLIBS_ALL)
$(BUILD)/tests/flint-kafka_%: $(BUILD)/obj/tests/tools/kafka_%.o
	@mkdir -p $(dir $@)
	$(LINK) $(CONN_LIBS)
$(BUILD)/bench/kafka_%: $(BUILD)/obj/bench/kafka_%.o
	@mkdir -p $(dir $@)
	$(LINK) $(CONN_LIBS)

# The Nexmark queries: one bundle per examples/nexmark/q*.c, sharing its headers.
NEX_SO      := $(patsubst examples/nexmark/%.c,$(BUILD)/examples/nexmark/%.so,$(wildcard examples/nexmark/*.c))
all: $(NEX_SO)
$(BUILD)/examples/nexmark/%.so: examples/nexmark/%.c $(wildcard examples/nexmark/*.h) $(wildcard include/flint/*.h)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(SAN) -fPIC -shared -Iinclude -o $@ $< -lm

# Connector bundles (examples/kafka_*.c, pg_*.c, redis_*.c, topn.c) link the connectors archive and its client
# library; the rest of their symbols resolve against the TaskManager/CLI at load like any
# bundle's.
CONN_BUNDLE = $(CC) -std=gnu11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(SAN) -fPIC -shared -Iinclude \
              -o $@ $< $(call lib,connectors)
$(BUILD)/examples/kafka_%.so: examples/kafka_%.c $(wildcard include/flint/*.h) $(call lib,connectors)
	@mkdir -p $(dir $@)
	$(CONN_BUNDLE) -lrdkafka
$(BUILD)/examples/pg_%.so: examples/pg_%.c $(wildcard include/flint/*.h) $(call lib,connectors)
	@mkdir -p $(dir $@)
	$(CONN_BUNDLE) -lpq
$(BUILD)/examples/redis_%.so: examples/redis_%.c $(wildcard include/flint/*.h) $(call lib,connectors)
	@mkdir -p $(dir $@)
	$(CONN_BUNDLE) -lhiredis
# the hot-items example writes its top N into PostgreSQL and Redis too
$(BUILD)/examples/topn.so: examples/topn.c $(wildcard include/flint/*.h) $(call lib,connectors)
	@mkdir -p $(dir $@)
	$(CONN_BUNDLE) -lpq -lhiredis

# Job bundles see only include/flint; symbols resolve against the TaskManager/CLI at load.
$(BUILD)/examples/%.so: examples/%.c $(wildcard include/flint/*.h)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(SAN) -fPIC -shared -Iinclude -o $@ $<

# One command: installs what is missing, builds, runs unit then cluster tests, then every
# fuzz target for a few seconds (a regression in a decoder is caught).
test:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory -j2 all
	@$(MAKE) --no-print-directory docs-check
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory cluster
	@$(MAKE) --no-print-directory fuzz-smoke

# libFuzzer targets (tests/fuzz/fuzz_*.c) against the library built with clang, ASan and
# UBSan into build/fuzz; corpora in tests/fuzz/corpus/<target>/ (seeds; what a run finds goes
# to build/fuzz/corpus). make fuzz runs each for FUZZ_SECONDS (60); fuzz-smoke for 5.
FUZZ_SECONDS ?= 60
FUZZ_SRC  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,build/fuzz/bin/%,$(FUZZ_SRC))
FUZZ_SAN  := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
fuzz:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory -j2 BUILD=build/fuzz CC=clang OPT=-O1 SAN="$(FUZZ_SAN)" fuzz-bins
	@tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_BINS)
fuzz-smoke:
	@$(MAKE) --no-print-directory -j2 BUILD=build/fuzz CC=clang OPT=-O1 SAN="$(FUZZ_SAN)" fuzz-bins
	@tests/fuzz/run.sh 5 $(FUZZ_BINS)
fuzz-bins: $(FUZZ_BINS)
$(BUILD)/bin/fuzz_%: tests/fuzz/fuzz_%.c $(LIBS_ALL)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes -fsanitize=fuzzer -o $@ $< $(LIBS_ALL) $(LDLIBS_ALL)

# The whole fault suite on network-namespace hosts (every nemesis, seqcheck and WordCount):
# longer than make test's part of it; CI need not run it.
test-faults: all
	@NEMESIS_FULL=1 tests/run-cluster.sh test_nemesis

# The API reference: HTML from include/flint/*.h by Doxygen into $(BUILD)/docs/html, and the
# guide docs/flink-to-flint.md as its main page. A warning fails it (docs/Doxyfile); about
# 10 s, so make test runs it too (docs-check). docs-check also compiles every snippet of
# the guide as a bundle and checks that the guide quotes them exactly.
DOC_SNIPPETS := $(wildcard docs/snippets/*.c)
DOC_SO       := $(patsubst docs/snippets/%.c,$(BUILD)/docs/snippets/%.so,$(DOC_SNIPPETS))
docs:
	@mkdir -p $(BUILD)/docs
	@FLINT_DOCS_OUT=$(BUILD)/docs doxygen docs/Doxyfile || \
	    { cat $(BUILD)/docs/warnings.log >&2; echo "make docs: Doxygen warned (above)" >&2; exit 1; }
	@echo "make docs: $(BUILD)/docs/html/index.html"
docs-check: $(DOC_SO) $(BUILD)/bin/flint
	@python3 docs/check-guide.py docs/flink-to-flint.md docs/snippets
	@for so in $(DOC_SO); do \
	    $(BUILD)/bin/flint info $$so >/dev/null 2>$(BUILD)/docs/info.err || \
	    { echo "docs-check: flint info $$so failed:" >&2; cat $(BUILD)/docs/info.err >&2; exit 1; }; \
	done
	@$(MAKE) --no-print-directory docs
SNIPPET_CC = $(CC) -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter -Werror -fPIC \
             -shared -Iinclude -o $@ $<
$(BUILD)/docs/snippets/exactly_once.so: docs/snippets/exactly_once.c $(wildcard include/flint/*.h) \
                                        $(call lib,connectors)
	@mkdir -p $(dir $@)
	$(SNIPPET_CC) $(call lib,connectors) -lrdkafka
$(BUILD)/docs/snippets/%.so: docs/snippets/%.c $(wildcard include/flint/*.h)
	@mkdir -p $(dir $@)
	$(SNIPPET_CC)

unit: $(UNIT_BINS)
	@tests/run-unit.sh $(UNIT_BINS)

cluster: all
	@tests/run-cluster.sh

# Unit tests, then ASAN_CLUSTER cluster tests against daemons built with the sanitizers.
ASAN_CLUSTER ?= test_jobs test_abuse_rpc test_lifecycle
asan:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory -j2 BUILD=build/asan OPT=-O1 \
	    SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" all unit
	@tests/asan-cluster.sh build/asan $(ASAN_CLUSTER)

bench: all
	@bench/run.sh

demo:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory -j2 all
	@tests/demo.sh

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
