#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The vm suite: scripts/vmtest.sh builds csmp.ko for Debian's newest 6.1
# and 6.12 kernels, boots both in qemu side by side with the test initramfs
# and prints one TAP line per in-guest test (scripts/vm/guest.sh), each
# prefixed with the kernel release.
exec bash "$(dirname "$0")/../../scripts/vmtest.sh"
