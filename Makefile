# SPDX-License-Identifier: GPL-2.0
#
# cowmem: driver-level copy-on-write. Everything runs in a QEMU test VM:
#   make check   build, boot a Debian kernel, run the selftests (the CI command)
#   make demo    show fork's copy-on-write happening, in the VM
#   make vm      an interactive shell in the VM with the module loaded
#   make         build the module, selftests and tools against KDIR

# The kernel to build against: the running one when it has headers, else the
# newest installed Debian kernel (scripts/kver says which, in one line).
KVER ?= $(shell scripts/kver)
KDIR ?= /lib/modules/$(KVER)/build

all: module selftests tools

module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) W=1 KCFLAGS=-Werror modules

selftests:
	$(MAKE) -C selftests

tools:
	$(MAKE) -C tools

check:
	scripts/check

# make check on every installed kernel; the backports kernel (6.12) first
# gets installed, which adds bookworm-backports to apt's sources.
check-all:
	scripts/check-all --backports

demo:
	scripts/demo

vm: all
	scripts/vm --kver $(KVER)

deps:
	scripts/deps

# The kernel's quality gates; `make lint` runs them all (make check does too).
lint checkpatch sparse format-check shellcheck:
	scripts/lint $(subst format-check,format,$(filter-out lint,$@))

format:
	scripts/format

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	$(MAKE) -C selftests clean
	$(MAKE) -C tools clean

.PHONY: all module selftests tools check check-all demo vm deps clean
.PHONY: lint checkpatch sparse format-check shellcheck format
