#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# csmpd.conf(5) in scdoc, made from csmpd.conf.example: that file owns
# every option's name, default and meaning, so the manual page cannot
# drift from it. Its leading comment becomes DESCRIPTION, each [section]
# a subsection of OPTIONS, each commented "key = value" line an option
# with its default and the comment paragraph above it as its text; the
# commented [group NAME] sample at the end is shown as an example.
#   usage: scripts/conf2scd.sh csmpd.conf.example >csmpd.conf.5.scd
set -euo pipefail
[ $# = 1 ] || { echo "usage: $0 csmpd.conf.example" >&2; exit 2; }
[ -r "$1" ] || { echo "conf2scd: $1: cannot read" >&2; exit 1; }

cat <<'HEAD'
csmpd.conf(5)

# NAME

csmpd.conf - configuration file of csmpd(8)

# SYNOPSIS

_/etc/csmpd/csmpd.conf_

# DESCRIPTION

HEAD

awk '
function esc(s) {
	gsub(/\\/, "\\\\", s); gsub(/\*/, "\\*", s); gsub(/_/, "\\_", s)
	return s
}
function flush_text() {
	if (text != "") print text "\n"
	text = ""
}
function flush_opts(   i) {
	if (!nopt) return
	for (i = 1; i <= nopt; i++)
		print "*" esc(okey[i]) "* = _" esc(oval[i]) "_" (i < nopt ? " ++" : "")
	print "\t" (text == "" ? "(no description)" : text) "\n"
	text = ""; nopt = 0
}
BEGIN { text = ""; nopt = 0; intro = 1; example = 0 }
/^\[/ {
	flush_opts(); flush_text()
	if (intro) { print "# OPTIONS\n"; intro = 0 }
	sec = $0; print "## " esc(sec) "\n"; next
}
/^#\[/ {	# the commented sample section
	flush_opts(); flush_text()
	print "Example:\n\n```"; example = 1
	sub(/^#/, ""); print; next
}
example && /^#/ { sub(/^#/, ""); print; next }
example { print "```\n"; example = 0; next }
/^#[a-z][a-z-]* = / {
	line = $0; sub(/^#/, "", line)
	k = line; sub(/ = .*/, "", k)
	v = line; sub(/^[^=]*= /, "", v)
	nopt++; okey[nopt] = k; oval[nopt] = v; next
}
/^#/ {
	if (nopt) flush_opts()
	line = $0; sub(/^# ?/, "", line)
	if (line == "") { if (!intro || text != "") { flush_text() }; next }
	text = text (text == "" ? "" : (nopt ? " " : "\n")) esc(line)
	if (!intro) { gsub(/\n/, " ", text) } else { }
	next
}
/^$/ { flush_opts(); flush_text(); next }
END { flush_opts(); flush_text(); if (example) print "```\n" }
' "$1"

cat <<'TAIL'
# FILES

_/etc/csmpd/csmpd.conf_
	The file the packaged csmpd.service reads.

_/usr/share/doc/csmpd/csmpd.conf.example_
	Every option with its default, commented out.

# SEE ALSO

*csmpd*(8), *csmpctl*(8)
TAIL
