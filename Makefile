# SPDX-License-Identifier: GPL-2.0
#
# cowmem: driver-level copy-on-write. Everything runs in a QEMU test VM:
#   make check   build, boot a Debian kernel, run the selftests (the CI command)
#                (make check-under-load: the same beside a CPU hog per core)
#   make unit    the page index's unit tests, on the host
#   make demo    show fork's copy-on-write happening, in the VM
#   make vm      an interactive shell in the VM with the module loaded
#                (make vm CMD='...': one command there instead)
#   make doctor  is this machine ready? one line per check, with its fix
#   make lab     the workshop lab's tree in lab/ (EX=k: 1..k-1 solved);
#                make grade scores it in the VM (docs/lab.md)
#   make bundle  the workshop archive (make test-bundle: tried as an attendee)
#   make         build the module and tools against KDIR
# Each installs (as root) what it needs first, or names the apt command
# (as a normal user): scripts/deps build, run or dev.

# The kernel to build against: the running one when it has headers, else the
# newest installed Debian kernel (scripts/kver says which, in one line). Or
# any prepared kernel tree: make KDIR=/path/to/tree; make check and make vm
# then boot KIMAGE=/path/to/its/bzImage (scripts/vm says what it needs).
# KVER is worked out when first used, not when the Makefile is read: on a
# fresh machine the kernel is only there once deps-build has installed it.
ifdef KDIR
KVER ?= $(eval KVER := $(shell KDIR=$(KDIR) scripts/kver))$(KVER)
else
KVER ?= $(eval KVER := $(shell scripts/kver))$(KVER)
KDIR = /lib/modules/$(KVER)/build
endif

# The selftests need the kselftest harness, which only linux-source-6.1 (a
# 139 MB tarball, in the dev set) ships: make check and make selftests
# build them, plain make does not.
all: module tools

# What each target needs, installed or named (scripts/deps); a set includes
# the one before it, and the chain keeps two apt-gets from running at once.
deps-build:
	@scripts/deps build
deps-run: deps-build
	@scripts/deps run
deps-dev: deps-run
	@scripts/deps dev

module: deps-build
	$(MAKE) -C $(KDIR) M=$(CURDIR) W=1 KCFLAGS=-Werror modules

selftests: deps-dev
	$(MAKE) -C selftests

tools: deps-build
	$(MAKE) -C tools

# The page index's unit tests: module/index.c in userspace, no VM, seconds.
unit: deps-dev
	$(MAKE) -C selftests/index run

# make check KERNEL=debug: the suite on the KASAN/lockdep/kmemleak kernel;
# KERNEL=kcsan: on the KCSAN kernel (data races).
check:
ifeq ($(KERNEL),debug)
	scripts/check-debug
else ifeq ($(KERNEL),kcsan)
	scripts/check-debug kcsan
else ifneq ($(filter 7.%,$(KERNEL)),)
	scripts/check-newer $(KERNEL)
else
	scripts/check
endif

# make check beside a CPU hog per core and a busy QEMU guest, as on a busy
# laptop (scripts/check-under-load); KVER as for make check. BOOTS=N: N
# boots of the test VM under that load instead.
check-under-load:
	scripts/check-under-load $(if $(KVER),--kver $(KVER)) $(if $(BOOTS),--boots $(BOOTS))

# make check on every installed kernel; the backports kernel (6.12) first
# gets installed, which adds bookworm-backports to apt's sources; then on
# Debian's 7.3 (trixie-backports) and 7.2 (sid), built in a trixie or sid
# root and booted from their packages, installed nowhere (KERNEL=7.3 or
# KERNEL=7.2 does one: scripts/check-newer).
check-all:
	scripts/check-all --backports --newer

demo:
	scripts/demo

# cowmem against the kernel's own COW, side by side in one VM: table, CSV
# and chart in .cache/bench/ (scripts/bench --sizes 4,64,256 --reps 5).
# BEFORE=old.ko: the same cowbench with that build of the module first.
# ZAP=1: the same cowbench after it with clones zapping (wrprotect=N).
bench:
	scripts/bench $(if $(KVER),--kver $(KVER)) $(if $(BEFORE),--before $(BEFORE)) \
		$(if $(ZAP),--zap-too)

# The differential fuzzer for longer than make check gives it (FUZZ_SECONDS).
FUZZ_SECONDS ?= 600
fuzz: module selftests
	scripts/vm --kver $(KVER) --timeout $$(($(FUZZ_SECONDS) + 300)) -- bash -c \
		'insmod module/cowmem.ko && selftests/cowmem_fuzz --seconds $(FUZZ_SECONDS); \
		 rc=$$?; rmmod cowmem; exit $$rc'

# make selftests vm: the selftests too (selftests/run_tests.sh in the guest).
# make vm CMD='insmod module/cowmem.ko && tools/cowdemo': that command in the
# guest instead of the shell (make fails when it does), as typed: make
# neither expands its $ nor exports it.
unexport CMD
vm: deps-run module tools
	scripts/vm --kver $(KVER) $(if $(value CMD),-- bash -c '$(subst ','\'',$(value CMD))')

# The VM with the lab's module (lab/, from make lab) built and loaded; CMD
# runs after the load, as with make vm. With CMD or without, scripts/vm-shell
# loads it (COWMEM_MODULE says which build), as for make vm's shell.
# The selftests too: the handout runs the fuzzer there (docs/lab.md).
lab-vm: deps-run tools selftests
	$(MAKE) -C $(KDIR) M=$(CURDIR)/lab W=1 modules
	COWMEM_MODULE=$(CURDIR)/lab/module/cowmem.ko scripts/vm --kver $(KVER) \
		$(if $(value CMD),-- scripts/vm-shell bash -c '$(subst ','\'',$(value CMD))')

doctor:
	scripts/doctor

# The workshop lab (docs/lab.md): make lab [EX=k] writes lab/ from module/
# and labsrc/manifest; make grade [EX=n] scores lab/ (exercise n alone);
# make test-lab proves the lab itself (every k, the solution, the mistakes).
EX ?=
lab:
	scripts/lab --ex $(or $(EX),1)

grade: deps-dev
	scripts/grade --kver $(KVER) $(if $(EX),--ex $(EX))

test-lab: deps-dev
	scripts/test-lab --kver $(KVER)

# docs/lab.md's commands, run as an attendee types them.
test-handout: deps-dev
	scripts/test-handout --kver $(KVER)

# The workshop archive: needs only QEMU on the attendee's side (as root, once).
bundle:
	scripts/bundle

# The archive as an attendee gets it: a bare bookworm with QEMU, a normal
# user, TCG (as root; CI runs it once, from .ci/run).
test-bundle:
	scripts/test-bundle

deps:
	scripts/deps

# The kernel's quality gates; `make lint` runs them all (make check does too).
lint checkpatch sparse format-check shellcheck coccinelle layers: deps-dev
	scripts/lint $(subst format-check,format,$(filter-out lint,$@))

format: deps-dev
	scripts/format

# The docs' links and make targets exist (also a gate of make lint); needs
# nothing installed.
docs-check:
	scripts/docs-check

# The plain way onto your own machine: the module for KVER, then depmod.
install: module
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules_install
	depmod -a $(KVER)

# The DKMS way: sources to /usr/src/cowmem-VERSION, built for every kernel.
VERSION := $(shell cat VERSION)
dkms-install:
	rm -rf /usr/src/cowmem-$(VERSION)
	mkdir -p /usr/src/cowmem-$(VERSION)
	cp -r Kbuild Makefile VERSION dkms.conf module /usr/src/cowmem-$(VERSION)/
	dkms add -m cowmem -v $(VERSION)
	dkms install -m cowmem -v $(VERSION) -k $(KVER) --kernelsourcedir $(KDIR)

dkms-remove:
	dkms remove -m cowmem -v $(VERSION) --all
	rm -rf /usr/src/cowmem-$(VERSION)

install-udev:
	install -m 0644 scripts/udev/70-cowmem.rules /etc/udev/rules.d/

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	$(MAKE) -C selftests clean
	$(MAKE) -C selftests/index clean
	$(MAKE) -C tools clean

.PHONY: all module selftests tools unit check check-under-load check-all demo bench fuzz vm doctor bundle test-bundle clean
.PHONY: lab lab-vm grade test-lab test-handout
.PHONY: deps deps-build deps-run deps-dev
.PHONY: lint checkpatch sparse format-check shellcheck coccinelle layers format docs-check
.PHONY: install dkms-install dkms-remove install-udev
