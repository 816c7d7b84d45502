# mod_clientip. The README's two commands: `make run` and `make test`.
# Both install what is missing (scripts/install-deps) before anything else.

APXS      ?= $(shell command -v apxs 2>/dev/null || command -v apxs2 2>/dev/null || echo apxs)
CC        ?= cc
CORE_SRC  := src/cip_addr.c src/cip_trust.c src/cip_list.c src/cip_forwarded.c src/cip_origin.c src/cip_proxy.c
CORE_HDR  := $(wildcard include/*.h src/*.h)
MODULE    := .libs/mod_clientip.so
CFLAGS_CORE := -std=c99 -O2 -g -Wall -Wextra -Wshadow -Wstrict-prototypes -Iinclude
UNIT_SRC  := $(wildcard t/unit/test_*.c)
UNIT_BIN  := $(patsubst t/unit/%.c,t/unit/build/%,$(UNIT_SRC))
# The ASan/UBSan build of the module (make test-asan): its own file, so the
# normal .libs/mod_clientip.so stays what `make test` and `make install` use.
ASAN_CC     ?= gcc
ASAN_FLAGS  := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
ASAN_MODULE := build/asan/mod_clientip.so

.PHONY: all deps run test unit suite clean bench soak faults install uninstall fuzz fuzz-replay \
	perf-guard deb test-deb test-asan test-valgrind asan

all: $(MODULE)

deps:
	@scripts/install-deps

# apxs/libtool builds the glue and the cores into one shared object.
$(MODULE): mod_clientip.c $(CORE_SRC) $(CORE_HDR)
	$(APXS) -c -Iinclude -Wc,-std=gnu99 -Wc,-Wall -Wc,-Wextra -Wc,-Wno-unused-parameter \
		-Wc,-Wno-missing-field-initializers -Wc,-gdwarf-4 -o mod_clientip.la mod_clientip.c $(CORE_SRC)

# A real httpd on 127.0.0.1:8080 in the foreground with conf/demo.conf.
run: deps
	@$(MAKE) --no-print-directory all
	@scripts/run-demo

# Unit tests of the cores (no httpd), the fuzz corpora replayed under
# ASan/UBSan (no fuzzing), the instruction budget of the walk (callgrind),
# the Apache::Test suite against the ASan/UBSan build (test-asan;
# TEST_ASAN=0 leaves it out), then the suite against the normal build; last,
# as root only, the Debian package installed, enabled and serving
# (scripts/test-deb, which says SKIP when not root).
TEST_ASAN ?= 1
test: deps
	@$(MAKE) --no-print-directory all unit fuzz-replay perf-guard
	@if [ "$(TEST_ASAN)" != 0 ]; then $(MAKE) --no-print-directory asan && scripts/run-memcheck asan; fi
	@scripts/run-tests
	@scripts/test-deb

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do $$t; done

t/unit/build/%: t/unit/%.c $(CORE_SRC) $(CORE_HDR) t/unit/cip_test.h
	@mkdir -p t/unit/build
	$(CC) $(CFLAGS_CORE) -It/unit -o $@ $< $(CORE_SRC)

# The whole Apache::Test suite against the ASan/UBSan build, with the
# sanitizer runtimes preloaded into httpd only; any report fails the run
# (scripts/run-memcheck, docs/reliability-sanitizers.md).
test-asan: deps
	@$(MAKE) --no-print-directory asan
	@scripts/run-memcheck asan

asan: $(ASAN_MODULE)

$(ASAN_MODULE): mod_clientip.c $(CORE_SRC) $(CORE_HDR)
	@mkdir -p build/asan
	$(ASAN_CC) -shared -fPIC -g -O1 -std=gnu99 $(ASAN_FLAGS) -Wall -Wextra \
		-Wno-unused-parameter -Wno-missing-field-initializers \
		$$($(APXS) -q EXTRA_INCLUDES) $$($(APXS) -q EXTRA_CPPFLAGS) -Iinclude \
		-o $@ mod_clientip.c $(CORE_SRC)

# The whole suite once with httpd under valgrind memcheck (slow: not part
# of make test); errors and definite leaks in the module's frames fail it.
test-valgrind: deps
	@$(MAKE) --no-print-directory all
	@scripts/run-memcheck valgrind

# The Apache::Test suite alone (module already built, deps installed).
suite:
	@scripts/run-tests

# Install the built module and its configuration (Debian: mods-available, for
# a2enmod clientip; RHEL: conf.modules.d and conf.d). DESTDIR stages.
install:
	@DESTDIR="$(DESTDIR)" APXS="$(APXS)" scripts/install-module install

uninstall:
	@DESTDIR="$(DESTDIR)" APXS="$(APXS)" scripts/install-module uninstall

# The Debian package (debian/), built by dpkg-buildpackage in a copy of the
# tree: build/deb/libapache2-mod-clientip_<version>_<arch>.deb (docs/install.md).
deb:
	@scripts/install-deps deb
	@scripts/build-deb

# Builds, installs, enables and serves with the package, then removes it
# (root only; part of `make test`).
test-deb:
	@scripts/test-deb

# libFuzzer, FUZZ_SECONDS (default 60) per target (docs/fuzzing.md).
fuzz:
	@fuzz/run

fuzz-replay:
	@scripts/fuzz-replay

# The core's instructions per walk against a stated budget (scripts/perf-guard).
perf-guard:
	@scripts/perf-guard

# Side-by-side benchmark: no module, mod_remoteip, mod_clientip (bench/run;
# report in bench/results/latest.md, method in docs/performance.md).
# BENCH_QUICK=1 make bench for a one-minute run.
bench: deps
	@$(MAKE) --no-print-directory all
	@bench/run

# Soak test: SOAK_SECONDS (default 300) of mixed load, hostile inputs included,
# on one httpd; pass = no crash, no unexpected error, RSS growth < 5 % (bench/soak;
# report in bench/results/soak-latest.md, method in docs/reliability-soak.md).
# SOAK_SECONDS=60 make soak for a short try.
soak: deps
	@$(MAKE) --no-print-directory all
	@bench/soak

# Fault injection beyond CI (docs/reliability-faults.md): reloading with a
# broken trust file by every path incl. raw signals (scripts/faults-signal),
# and 10,000 idle connections on a PROXY listener (scripts/faults-idle;
# FAULTS_IDLE_ARGS="--conns 2000 --profile debian" for a smaller run).
faults: deps
	@$(MAKE) --no-print-directory all
	@scripts/faults-signal
	@scripts/faults-idle $(FAULTS_IDLE_ARGS)

clean:
	rm -rf .libs *.la *.lo *.slo *.o src/*.lo src/*.slo src/*.o src/.libs t/unit/build build
	@if [ -x t/TEST ]; then t/TEST -clean >/dev/null 2>&1 || true; fi
