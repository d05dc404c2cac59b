#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Every program has a manual page, built from doc/man/ into build/man/;
# every option a program's --help lists is documented in its page (so a new
# option cannot go undocumented); csmpd.conf(5) has every key of
# csmpd.conf.example; the pages render without groff warnings.
. "$(dirname "$0")/../lib.sh"
require_cmd man groff
M=$CSMP_BUILD/man
require_built "$BIN/csmpd"
[ -d "$M" ] || { echo "# SKIP $M not built (make all)"; exit $KSFT_SKIP; }

page_of() { # PROG: its built page
	local p
	for p in "$M/$1".[158]; do [ -f "$p" ] && { echo "$p"; return; }; done
}

for b in "$BIN"/*; do
	[ -x "$b" ] || continue
	p=${b##*/}
	page=$(page_of "$p")
	if [ -z "$page" ]; then
		not_ok "$p has a manual page"
		continue
	fi
	ok "$p has a manual page"
	src=$CSMP_TOP/doc/man/${page##*/}.scd
	help=$("$b" --help 2>&1)
	# csmpctl's commands have their own usage texts.
	if [ "$p" = csmpctl ]; then
		for c in $("$b" --help 2>&1 | sed -n 's/^  \([a-z][a-z]*\) .*/\1/p'); do
			help+=$'\n'$("$b" "$c" --help 2>&1)
		done
	fi
	missing=
	for o in $(grep -oE -- '--[a-z][a-z0-9-]+' <<<"$help" | sort -u); do
		grep -qF -- "$o" "$src" || missing+=" $o"
	done
	if [ -n "$missing" ]; then
		diag "$p: --help lists, ${src#"$CSMP_TOP"/} does not:$missing"
		not_ok "$p: every option of --help is in its manual page"
	else
		ok "$p: every option of --help is in its manual page"
	fi
done

conf=$M/csmpd.conf.5
check "csmpd.conf(5) is built" test -f "$conf"
text=$(MANWIDTH=200 man -l "$conf" 2>/dev/null)
missing=
for k in $(sed -n 's/^#\([a-z][a-z-]*\) = .*/\1/p' "$CSMP_TOP/csmpd.conf.example" | sort -u); do
	grep -qE "^ +$k = " <<<"$text" || missing+=" $k"
done
[ -z "$missing" ] || diag "csmpd.conf(5) lacks:$missing"
check "csmpd.conf(5) documents every key of csmpd.conf.example" test -z "$missing"

for page in "$M"/*.[158]; do
	w=$(groff -man -ww -z "$page" 2>&1)
	[ -z "$w" ] || echo "$w" | sed 's/^/# /'
	check "${page##*/} renders without warnings" test -z "$w"
done
tap_done
