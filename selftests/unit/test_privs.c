// SPDX-License-Identifier: GPL-2.0-only
/*
 * The privilege drop (userspace/csmpd/privs.c) in forked children, read
 * back from /proc/thread-self/status: dropping to nobody leaves CapEff 0
 * and uid 65534; keeping CAP_NET_BIND_SERVICE leaves exactly that bit,
 * also in a thread started afterwards; nothing can be regained.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "privs.h"

static void *thread_caps(void *arg)
{
	csmp_privs_capeff(arg);
	return NULL;
}

/* Child: drop, then report through the exit status. */
static int child(const cap_value_t *keep, unsigned int n,
		 unsigned long long want)
{
	unsigned long long eff = ~0ull, teff = ~0ull;
	const char *name;
	char err[256];
	pthread_t th;
	uid_t uid;
	gid_t gid;

	if (csmp_privs_user(NULL, &uid, &gid, &name))
		return 10;
	if (csmp_privs_drop(uid, gid, keep, n, err, sizeof(err))) {
		fprintf(stderr, "# %s\n", err);
		return 11;
	}
	if (getuid() != uid || geteuid() != uid || getgid() != gid)
		return 12;
	if (csmp_privs_capeff(&eff) || eff != want)
		return 13;
	if (pthread_create(&th, NULL, thread_caps, &teff) ||
	    pthread_join(th, NULL) || teff != want)
		return 14;
	if (setuid(0) == 0)
		return 15;	/* regained root */
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return 16;
	return 0;
}

static int run(const cap_value_t *keep, unsigned int n,
	       unsigned long long want)
{
	int status;
	pid_t pid = fork();

	if (pid == 0)
		_exit(child(keep, n, want));
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

TEST(drop_to_nobody_leaves_no_capability)
{
	if (geteuid() != 0)
		SKIP(return, "needs root to drop from");
	EXPECT_EQ(0, run(NULL, 0, 0));
}

TEST(kept_capability_is_the_only_one_left)
{
	cap_value_t keep = CAP_NET_BIND_SERVICE;

	if (geteuid() != 0)
		SKIP(return, "needs root to drop from");
	EXPECT_EQ(0, run(&keep, 1, 1ull << CAP_NET_BIND_SERVICE));
}

TEST_HARNESS_MAIN
