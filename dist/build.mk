# SPDX-License-Identifier: GPL-2.0-only
# Manual pages (scdoc sources in doc/man/, csmpd.conf(5) made from
# csmpd.conf.example by scripts/conf2scd.sh) into build/man/, the FHS
# install of programs, units and files (make install, make install-tools)
# and the Debian packages (make deb: scripts/deb-build.sh).

SCDOC		?= scdoc
MAN_SRCS	:= $(wildcard doc/man/*.scd)
MAN_PAGES	:= $(patsubst doc/man/%.scd,$(B)/man/%,$(MAN_SRCS)) \
		   $(B)/man/csmpd.conf.5

all: $(MAN_PAGES)

$(B)/man/%: doc/man/%.scd
	$(call msg,SCDOC,$<)
	@mkdir -p $(B)/man
	$(Q)$(SCDOC) <$< >$@

$(B)/man/csmpd.conf.5.scd: csmpd.conf.example scripts/conf2scd.sh
	$(call msg,GEN,$@)
	@mkdir -p $(B)/man
	$(Q)bash scripts/conf2scd.sh $< >$@

$(B)/man/csmpd.conf.5: $(B)/man/csmpd.conf.5.scd
	$(call msg,SCDOC,$<)
	$(Q)$(SCDOC) <$< >$@

# FHS layout. PREFIX=/usr for a package (DESTDIR=...); the defaults
# install under /usr/local with the configuration in /etc and the state in
# /var/lib as any local build does. /etc/csmpd is readable by the service
# user (the NMS key in it is root:csmpd 0640); /var/lib/csmpd is not
# world-readable (the registry). The load and test tools go in only
# with install-tools: they send traffic and do not belong on a head-end.
BINDIR		?= $(PREFIX)/bin
SBINDIR		?= $(PREFIX)/sbin
LIBDIR		?= $(PREFIX)/lib
DATADIR		?= $(PREFIX)/share
MANDIR		?= $(DATADIR)/man
DOCDIR		?= $(PREFIX)/share/doc/csmpd
SYSCONFDIR	?= /etc
STATEDIR	?= /var/lib
UNITDIR		?= $(LIBDIR)/systemd/system
SYSUSERSDIR	?= $(LIBDIR)/sysusers.d
LOGROTATEDIR	?= $(SYSCONFDIR)/logrotate.d

ADMIN_PROGS	:= csmpctl csmp-request csmpdump
TOOL_PROGS	:= csmp-sim csmp-blast csmp-loadgen csmp-cryptobench
man_of		= $(filter $(addprefix $(B)/man/,$(addsuffix .%,$(1))),$(MAN_PAGES))

# The units and the service's csmpd.conf name /usr/sbin, /usr/bin, /etc
# and /var/lib; an install elsewhere gets its own paths.
UNIT_SED	:= -e 's|/usr/sbin/csmpd|$(SBINDIR)/csmpd|g' \
		   -e 's|/usr/bin/csmpctl|$(BINDIR)/csmpctl|g' \
		   -e 's|/etc/csmpd/|$(SYSCONFDIR)/csmpd/|g' \
		   -e 's|/var/lib/csmpd|$(STATEDIR)/csmpd|g'

.PHONY: install-tools deb
install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) \
		$(DESTDIR)$(LIBDIR)/csmpd $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(DOCDIR) $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(LOGROTATEDIR)
	install -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/csmpd
	install -d -m 0750 $(DESTDIR)$(STATEDIR)/csmpd
	install -m 0755 $(B)/bin/csmpd $(DESTDIR)$(SBINDIR)/
	install -m 0755 $(addprefix $(B)/bin/,$(ADMIN_PROGS)) $(DESTDIR)$(BINDIR)/
	install -m 0644 $(BPF_OBJS) $(DESTDIR)$(LIBDIR)/csmpd/
	install -m 0644 $(filter %.1,$(call man_of,$(ADMIN_PROGS))) $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 $(B)/man/csmpd.conf.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 $(B)/man/csmpd.8 $(B)/man/csmpctl.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 csmpd.conf.example $(DESTDIR)$(DOCDIR)/
	install -d $(DESTDIR)$(DATADIR)/csmpd/monitoring
	install -m 0644 dist/monitoring/csmpd-alerts.yml dist/monitoring/csmpd-dashboard.json \
		$(DESTDIR)$(DATADIR)/csmpd/monitoring/
	test -e $(DESTDIR)$(SYSCONFDIR)/csmpd/csmpd.conf || { \
		sed $(UNIT_SED) dist/csmpd.conf >$(DESTDIR)$(SYSCONFDIR)/csmpd/csmpd.conf && \
		chmod 0644 $(DESTDIR)$(SYSCONFDIR)/csmpd/csmpd.conf; }
	for u in dist/systemd/*.service; do \
		sed $(UNIT_SED) $$u >$(DESTDIR)$(UNITDIR)/$${u##*/} && \
		chmod 0644 $(DESTDIR)$(UNITDIR)/$${u##*/} || exit 1; done
	install -m 0644 dist/sysusers/csmpd.conf $(DESTDIR)$(SYSUSERSDIR)/csmpd.conf
	install -m 0644 dist/logrotate/csmpd $(DESTDIR)$(LOGROTATEDIR)/csmpd

install-tools: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 0755 $(addprefix $(B)/bin/,$(TOOL_PROGS)) $(DESTDIR)$(BINDIR)/
	install -m 0644 $(call man_of,$(TOOL_PROGS)) $(DESTDIR)$(MANDIR)/man1/

# Binary packages from a copy of the tree (build/deb/), so their build
# flags never mix with the objects of build/: csmpd, csmpd-tools,
# csmp-dkms in build/deb/*.deb.
deb:
	$(Q)bash scripts/deb-build.sh
