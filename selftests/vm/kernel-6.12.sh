#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The vm suite on Debian's newest installed 6.12 kernel: scripts/vmtest.sh
# builds csmp.ko for it, boots it in qemu with the test initramfs and prints
# one TAP line per in-guest test (scripts/vm/guest.sh), prefixed with the
# kernel release.
exec bash "$(dirname "$0")/../../scripts/vmtest.sh" --kernel 6.12
