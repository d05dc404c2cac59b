# SPDX-License-Identifier: GPL-2.0-only
# The kernel module (ARCHITECTURE.md §4): built out of tree against KDIR.
KDIR	?= /lib/modules/$(shell uname -r)/build

kmod:
	$(Q)bash scripts/kmod-build.sh "$(KDIR)"
