# SPDX-License-Identifier: GPL-2.0-only
# The kernel module (ARCHITECTURE.md §4): built out of tree into
# build/kmod/<release>/csmp.ko with module BTF. KDIR=... builds for one
# kernel; without it scripts/kmod-build.sh picks the running kernel's build
# directory, or the Debian kernels the test guests boot.
KDIR	?=

kmod:
	$(Q)bash scripts/kmod-build.sh $(KDIR)
