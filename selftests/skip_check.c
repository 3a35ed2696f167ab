// SPDX-License-Identifier: GPL-2.0
/*
 * skip_check: runs a kselftest without a facility and checks that exactly
 * the tests that need it report SKIP.
 *
 *   skip_check [--io-uring-disabled] [--enosys SYSCALL]... --skips WORD -- PROGRAM [ARG]...
 *
 * --io-uring-disabled writes 2 to /proc/sys/kernel/io_uring_disabled (root);
 * --enosys makes SYSCALL (io_setup, io_uring_setup or eventfd2) fail with
 * ENOSYS through a seccomp filter, as CONFIG_AIO=n, CONFIG_IO_URING=n or
 * CONFIG_EVENTFD=n would. PROGRAM's TAP output is passed on as comments, and
 * a test must report SKIP if and only if its name contains one of the
 * comma-separated WORDs ("*": every test). Exit status: 0, 1 when a test
 * skips or runs against that rule or PROGRAM fails, 77 when the facility
 * cannot be removed here.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#if defined(__x86_64__)
#define THIS_AUDIT_ARCH	AUDIT_ARCH_X86_64
#elif defined(__i386__)
#define THIS_AUDIT_ARCH	AUDIT_ARCH_I386
#elif defined(__aarch64__)
#define THIS_AUDIT_ARCH	AUDIT_ARCH_AARCH64
#endif

#define MAX_ENOSYS	4

static const struct {
	const char *name;
	long nr;
} known[] = {
	{ "io_setup", __NR_io_setup },
	{ "io_uring_setup", __NR_io_uring_setup },
	{ "eventfd2", __NR_eventfd2 },
};

static int usage(void)
{
	fprintf(stderr, "usage: skip_check [--io-uring-disabled] [--enosys SYSCALL]... "
		"--skips WORD[,WORD]... -- PROGRAM [ARG]...\n");
	return 2;
}

static int skip_all(const char *why)
{
	printf("1..0 # SKIP %s\n", why);
	return 77;
}

static int install_filter(const long *nrs, int n)
{
#ifdef THIS_AUDIT_ARCH
	struct sock_filter f[4 + 2 * MAX_ENOSYS];
	struct sock_fprog prog = { .filter = f };
	int i, k = 0;

	f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			offsetof(struct seccomp_data, arch));
	f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
			THIS_AUDIT_ARCH, 1, 0);
	f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
	f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			offsetof(struct seccomp_data, nr));
	for (i = 0; i < n; i++) {
		f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
				nrs[i], 0, 1);
		f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
				SECCOMP_RET_ERRNO | ENOSYS);
	}
	f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	prog.len = k;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) ? -errno : 0;
#else
	return -EOPNOTSUPP;
#endif
}

/* Whether NAME contains one of the comma-separated WORDS. */
static int matches(const char *name, const char *words)
{
	char buf[256], *w, *save;

	if (!strcmp(words, "*"))
		return 1;
	snprintf(buf, sizeof(buf), "%s", words);
	for (w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save))
		if (strstr(name, w))
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	int disable_uring = 0, n = 0, i, j, pipefd[2], status;
	int tests = 0, skipped = 0, wrong = 0, ok;
	const char *skips = NULL;
	char line[1024];
	long nrs[MAX_ENOSYS];
	FILE *out;
	pid_t pid;

	for (i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "--io-uring-disabled")) {
			disable_uring = 1;
		} else if (!strcmp(argv[i], "--skips") && i + 1 < argc) {
			skips = argv[++i];
		} else if (!strcmp(argv[i], "--enosys") && i + 1 < argc &&
			   n < MAX_ENOSYS) {
			i++;
			for (j = 0; j < (int)(sizeof(known) / sizeof(known[0])); j++)
				if (!strcmp(argv[i], known[j].name))
					break;
			if (j == (int)(sizeof(known) / sizeof(known[0])))
				return usage();
			nrs[n++] = known[j].nr;
		} else {
			return usage();
		}
	}
	if (i + 1 >= argc || !skips)
		return usage();
	argv += i + 1;

	if (disable_uring) {
		FILE *f = fopen("/proc/sys/kernel/io_uring_disabled", "w");

		if (!f || fputs("2\n", f) < 0 || fclose(f))
			return skip_all("cannot set kernel.io_uring_disabled=2 "
					"(root and CONFIG_SYSCTL needed)");
	}
	if (n && install_filter(nrs, n))
		return skip_all("cannot install a seccomp filter "
				"(CONFIG_SECCOMP_FILTER?)");

	if (pipe(pipefd))
		return 1;
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		dup2(pipefd[1], STDOUT_FILENO);
		close(pipefd[0]);
		close(pipefd[1]);
		execvp(argv[0], argv);
		perror(argv[0]);
		_exit(127);
	}
	close(pipefd[1]);
	out = fdopen(pipefd[0], "r");
	printf("TAP version 13\n");
	while (out && fgets(line, sizeof(line), out)) {
		char name[256];
		int num, skip;

		printf("# %s", line);
		if (sscanf(line, "ok %d %255s", &num, name) != 2 &&
		    sscanf(line, "not ok %d %255s", &num, name) != 2)
			continue;
		tests++;
		skip = strstr(line, "# SKIP") != NULL;
		skipped += skip;
		if (skip != matches(name, skips)) {
			printf("# %s: %s\n", name, skip ? "skipped, but it must run" :
			       "ran, but it must skip");
			wrong++;
		}
	}
	waitpid(pid, &status, 0);
	/* KSFT_PASS, or KSFT_SKIP when every test skipped */
	ok = WIFEXITED(status) && (WEXITSTATUS(status) == 0 ||
				   WEXITSTATUS(status) == 4);
	printf("1..2\n");
	printf("%sok 1 %d of %d tests skipped, exactly those named after \"%s\"\n",
	       wrong || !tests ? "not " : "", skipped, tests, skips);
	printf("%sok 2 %s exited with status %d\n", ok ? "" : "not ",
	       argv[0], WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	return wrong || !tests || !ok;
}
