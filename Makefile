# mrsmock — one non-recursive make file (STYLE.md, Build).
#   make              build/mrsmock (and build/mrsmock-probe, which `mrsmock probe` runs)
#   make test         unit tests (cmocka) and integration tests against the real binary
#   make SANITIZE=1 test   the same under AddressSanitizer and UndefinedBehaviorSanitizer
#   make run          start the `healthy` scenario
#   make lint         clang-format check and cppcheck
#   make bench        mrsmock beside h2o and nginx (ci/bench/run.py; BENCH_QUICK=1 for a trial)
#   make fuzz         the libFuzzer targets of tests/fuzz/ (clang), each run FUZZ_SECS (60) seconds
#   make install      PREFIX (/usr/local), DESTDIR, SHAREDIR, MANDIR, UNITDIR; make uninstall
#   make deb          the Debian package, in build/deb/; make deb-check builds and checks it

VERSION  := 0.1.0
PREFIX   ?= /usr/local
SHAREDIR ?= $(PREFIX)/share/mrsmock
MANDIR   ?= $(PREFIX)/share/man
UNITDIR  ?= $(PREFIX)/lib/systemd/system
# The checkout whose scenarios/ a binary run from its build/ reads (an installed one reads
# $(SHAREDIR)/scenarios). Empty for a package build: no build path in the binary, no checkout read.
CHECKOUT ?= $(CURDIR)

ifeq ($(SANITIZE),1)
BUILD    := build/san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LOAD_SCALE := 0.25
else
BUILD    := build
SANFLAGS :=
LOAD_SCALE := 1
endif

# the server's libraries; the probe (mrsmock-probe) also links libcurl and libresolv, with the
# twenty-odd libraries libcurl brings, which the server does not map into every lab it runs
SERVER_PKGS := libh2o-evloop openssl libxml-2.0 jansson
PKGS     := $(SERVER_PKGS) libcurl
CC       ?= cc
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wcast-qual -Wpointer-arith -Wformat=2 -Wvla $(SANFLAGS)
CPPFLAGS += -Iinclude -Iinclude/compat -D_GNU_SOURCE -DH2O_USE_LIBUV=0 -DOPENSSL_API_COMPAT=30000 -DOPENSSL_NO_DEPRECATED \
            -DMRSMOCK_VERSION='"$(VERSION)"' -DMRSMOCK_SHAREDIR='"$(SHAREDIR)"' \
            -DMRSMOCK_SRCDIR='"$(CHECKOUT)"' -MMD -MP
LDFLAGS  += $(SANFLAGS)
PKG_CFLAGS = $(patsubst -I%,-isystem %,$(shell pkg-config --cflags $(PKGS) 2>/dev/null))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
SERVER_LIBS = $(shell pkg-config --libs $(SERVER_PKGS) 2>/dev/null) -lpthread
LDLIBS   += $(PKG_LIBS) -lresolv -lpthread

# one folder per layer (README, "Source code layout"); every module but main.c goes into the library
SRCS     := $(filter-out src/face/main.c src/face/main_probe.c,$(wildcard src/*/*.c))
OBJS     := $(SRCS:src/%.c=$(BUILD)/obj/%.o)
LIB      := $(BUILD)/libmrsmock.a
BIN      := $(BUILD)/mrsmock
PROBE    := $(BUILD)/mrsmock-probe
LIBDIR   ?= $(PREFIX)/lib/mrsmock
MAN5     := $(BUILD)/man/mrsmock-scenario.5
UNIT_SRCS:= $(wildcard tests/unit/test_*.c)
UNIT_BINS:= $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
DEPS_OK  := build/.deps-ok

.PHONY: FORCE all test unit integration run lint bench clean install uninstall certs deb deb-check \
        fuzz fuzz-build
all: $(BIN) $(PROBE) $(MAN5)

# Installs (as root) or names (otherwise) the Debian packages the build and the tests need.
$(DEPS_OK): ci/deps.sh
	@ci/deps.sh
	@mkdir -p $(@D) && touch $@

# What is compiled into the objects besides the sources: when it changes (make install PREFIX=/usr
# after a plain make), they are rebuilt, so that an installed binary looks in its own SHAREDIR.
BUILT_FOR := $(VERSION) $(SHAREDIR) $(CHECKOUT)
FORCE:
$(BUILD)/.built-for: FORCE
	@mkdir -p $(@D)
	@[ "$$(cat $@ 2>/dev/null)" = '$(BUILT_FOR)' ] || echo '$(BUILT_FOR)' > $@

$(BUILD)/obj/%.o: src/%.c $(BUILD)/.built-for | $(DEPS_OK)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS) -c -o $@ $<

$(LIB): $(OBJS)
	$(AR) rcs $@ $^

$(BIN): $(BUILD)/obj/face/main.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(SERVER_LIBS)

$(PROBE): $(BUILD)/obj/face/main_probe.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# mrsmock-scenario(5) is made from scenarios/README.md, the one description of the format, by
# pandoc and man/mrsmock-scenario.lua; its date is the package's (SOURCE_DATE_EPOCH) or the README's.
MAN_DATE = $(shell date -u -d @$${SOURCE_DATE_EPOCH:-$$(stat -c %Y scenarios/README.md)} +%Y-%m-%d)
$(MAN5): scenarios/README.md man/mrsmock-scenario.lua $(BUILD)/.built-for | $(DEPS_OK)
	@mkdir -p $(@D)
	pandoc -f gfm -t man -s --lua-filter man/mrsmock-scenario.lua -M title=MRSMOCK-SCENARIO \
	    -M section=5 -M 'header=File Formats Manual' -M 'footer=mrsmock $(VERSION)' \
	    -M date=$(MAN_DATE) -M 'sharedir=$(SHAREDIR)' -o $@ scenarios/README.md

$(BUILD)/tests/%.o: tests/unit/%.c $(BUILD)/.built-for | $(DEPS_OK)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/test_%: $(BUILD)/tests/test_%.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

unit: $(UNIT_BINS)
	@ci/run-unit.sh $(UNIT_BINS)

integration: $(BIN) $(PROBE) $(MAN5)
	MRSMOCK_BIN=$(CURDIR)/$(BIN) MRSMOCK_LOAD_SCALE=$(LOAD_SCALE) /usr/bin/python3 -m unittest discover -s tests/integration -t tests/integration -v

test: unit integration

run: $(BIN)
	$(BIN) run healthy

# The benchmark (bench/results.md): reports, never fails on its figures. Its packages (h2o,
# nginx, wrk, h2load) come from ci/bench-deps.sh, not ci/deps.sh: tests install no web server.
bench: $(BIN)
	@ci/bench-deps.sh
	/usr/bin/python3 ci/bench/run.py

# The lab CA (and each bundled scenario's bundle) for trainee machines (certs/README.md).
certs: $(BIN)
	@mkdir -p certs
	$(BIN) certs --export certs
	@for f in scenarios/*.xml; do $(BIN) certs "$$f" --export certs > /dev/null || exit 1; done
	@ls certs

# Fuzzing (README, "Fuzzing"): every object built again by clang with libFuzzer's coverage,
# ASan and UBSan in build/fuzz/, one binary per tests/fuzz/fuzz_*.c; ci/fuzz.sh runs each for
# FUZZ_SECS seconds from its seed corpus and fails, naming the reproducer, on a crash.
FUZZ_SECS  ?= 60
FUZZ_CC    ?= clang
FUZZ_DIR   := build/fuzz
FUZZ_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
              -fno-sanitize-recover=undefined
FUZZ_OBJS  := $(SRCS:src/%.c=$(FUZZ_DIR)/obj/%.o)
FUZZ_SRCS  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS  := $(FUZZ_SRCS:tests/fuzz/%.c=$(FUZZ_DIR)/%)
FUZZ_CPP   := $(CPPFLAGS) -Isrc/admin
$(FUZZ_DIR)/obj/%.o: src/%.c | $(DEPS_OK)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS) $(PKG_CFLAGS) -std=c11 -Wall -Wextra $(FUZZ_FLAGS) \
	    -fsanitize=fuzzer-no-link -c -o $@ $<
$(FUZZ_DIR)/libmrsmock.a: $(FUZZ_OBJS)
	$(AR) rcs $@ $^
$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_DIR)/libmrsmock.a
	$(FUZZ_CC) $(FUZZ_CPP) $(PKG_CFLAGS) -Isrc/exchange -std=c11 -Wall -Wextra $(FUZZ_FLAGS) \
	    -fsanitize=fuzzer -o $@ $< $(FUZZ_DIR)/libmrsmock.a $(LDLIBS)
fuzz-build: $(FUZZ_BINS)
fuzz: fuzz-build
	FUZZ_SECS=$(FUZZ_SECS) ci/fuzz.sh $(FUZZ_BINS)

lint:
	clang-format --dry-run --Werror src/*/*.c src/*/*.h include/*.h tests/unit/*.c tests/fuzz/*.c \
	    tests/fuzz/*.h
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability --inline-suppr \
	    -Iinclude -D_GNU_SOURCE -DH2O_USE_LIBUV=0 src

install: $(BIN) $(PROBE) $(MAN5)
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/mrsmock
	install -D -m 0755 $(PROBE) $(DESTDIR)$(LIBDIR)/mrsmock-probe
	install -d $(DESTDIR)$(SHAREDIR)/scenarios
	install -m 0644 scenarios/*.xml scenarios/*.rng scenarios/README.md $(DESTDIR)$(SHAREDIR)/scenarios/
	install -D -m 0644 man/mrsmock.1 $(DESTDIR)$(MANDIR)/man1/mrsmock.1
	install -D -m 0644 $(MAN5) $(DESTDIR)$(MANDIR)/man5/mrsmock-scenario.5
	install -d $(DESTDIR)$(UNITDIR)
	sed 's|@BINDIR@|$(PREFIX)/bin|' dist/mrsmock@.service.in > $(DESTDIR)$(UNITDIR)/mrsmock@.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/mrsmock@.service

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/mrsmock $(DESTDIR)$(LIBDIR)/mrsmock-probe \
	    $(DESTDIR)$(MANDIR)/man1/mrsmock.1 \
	    $(DESTDIR)$(MANDIR)/man5/mrsmock-scenario.5 \
	    $(DESTDIR)$(UNITDIR)/mrsmock@.service
	rm -rf $(DESTDIR)$(SHAREDIR)

# The Debian package (debian/): dpkg-buildpackage runs in a copy of the sources under build/deb/,
# so that its clean step does not empty the checkout's build/ and the files it writes beside the
# source tree land in build/deb/: mrsmock_$(VERSION)_amd64.deb, its -dbgsym, .buildinfo, .changes.
DEB_DIR  := build/deb
DEB_SRC  := $(DEB_DIR)/mrsmock-$(VERSION)
DEB      := $(DEB_DIR)/mrsmock_$(VERSION)_$(shell dpkg --print-architecture 2>/dev/null).deb
deb: | $(DEPS_OK)
	@[ "$$(dpkg-parsechangelog -S Version)" = '$(VERSION)' ] || \
	    { echo "debian/changelog is not at version $(VERSION)" >&2; exit 1; }
	rm -rf $(DEB_DIR) && mkdir -p $(DEB_SRC)
	tar -cf - --exclude=./build --exclude=./.git --exclude='./certs/*' --exclude=__pycache__ \
	    --exclude=./tests/browser/node_modules . \
	    | tar -xf - -C $(DEB_SRC)
	cd $(DEB_SRC) && dpkg-buildpackage -us -uc -b
	rm -rf $(DEB_SRC)
	@ls $(DEB_DIR)

# The package checked as a user gets it (tests/package): its contents, lintian, and the binary
# unpacked into a temporary root serving its installed scenarios. Run once by .ci/run.
deb-check: deb
	MRSMOCK_DEB=$(CURDIR)/$(DEB) /usr/bin/python3 -m unittest discover -s tests/package -t tests/package -v

clean:
	rm -rf build

-include $(OBJS:.o=.d) $(BUILD)/obj/face/main.d $(BUILD)/obj/face/main_probe.d $(UNIT_BINS:=.d) $(FUZZ_OBJS:.o=.d)
build/obj/model/scenario_xml.o build/san/obj/model/scenario_xml.o build/fuzz/obj/model/scenario_xml.o: scenarios/scenario.rng
build/obj/admin/admin_dashboard.o build/san/obj/admin/admin_dashboard.o build/fuzz/obj/admin/admin_dashboard.o: $(wildcard dashboard/*)
