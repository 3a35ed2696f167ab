// SPDX-License-Identifier: GPL-2.0
/*
 * vpoll_hold: a descriptor of /dev/vpoll held open and waited on, for
 * tests/vm-module-stress's refused unload.
 *
 * Opens /dev/vpoll, starts a thread in poll(2) for POLLIN on it, and once that
 * thread sleeps in the system call (/proc/self/task/TID/syscall) asks the
 * kernel to unload the module, delete_module("vpoll", O_NONBLOCK), which must
 * fail with EWOULDBLOCK (kmod's rmmod would stop at the reference count in
 * sysfs without asking), prints "ready" with the answer and waits for a line
 * (or EOF) on stdin. Then it ADDs EPOLLIN on its
 * own descriptor and wants the thread back from poll with POLLIN within 10 s.
 * Prints what happened; exit 0, or 1 when a step failed.
 *
 * <fcntl.h> would clash with the <linux/fcntl.h> of vpoll_helpers.h: open(2)
 * is openat(2) through syscall(2).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vpoll_helpers.h"

#define ADD	(1ULL << 32)

struct poller {
	int fd;
	pid_t tid;		/* set by the thread */
	int ret, err;
	short revents;
};

static void *poller_main(void *arg)
{
	struct poller *p = arg;
	struct pollfd pfd = { .fd = p->fd, .events = POLLIN };

	__atomic_store_n(&p->tid, gettid(), __ATOMIC_RELEASE);
	p->ret = poll(&pfd, 1, -1);
	p->err = errno;
	p->revents = pfd.revents;
	return NULL;
}

/* Whether the system call NR is a poll(2) (glibc's poll() may be a ppoll). */
static int is_poll(long nr)
{
#ifdef __NR_poll
	if (nr == __NR_poll)
		return 1;
#endif
	return nr == __NR_ppoll;
}

int main(void)
{
	struct poller p = { .ret = -2 };
	struct timespec deadline;
	pthread_t t;
	char line[16];
	pid_t tid;
	long nr = -1, unload;
	int i, err, unload_err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	p.fd = syscall(SYS_openat, AT_FDCWD, "/dev/vpoll", O_RDWR | O_CLOEXEC);
	if (p.fd < 0) {
		printf("vpoll_hold: open /dev/vpoll: %s\n", strerror(errno));
		return 1;
	}
	err = pthread_create(&t, NULL, poller_main, &p);
	if (err) {
		printf("vpoll_hold: pthread_create: %s\n", strerror(err));
		return 1;
	}
	/* Up to 20 s for the thread to reach poll under an emulated CPU. */
	for (i = 0; i < 4000; i++) {
		tid = __atomic_load_n(&p.tid, __ATOMIC_ACQUIRE);
		if (tid && !vpoll_task_syscall(tid, &nr) && is_poll(nr))
			break;
		usleep(5000);
	}
	if (i == 4000) {
		printf("vpoll_hold: the thread did not sleep in poll (system call %ld)\n", nr);
		return 1;
	}
	errno = 0;
	unload = syscall(__NR_delete_module, "vpoll", O_NONBLOCK);
	unload_err = errno;
	printf("ready: thread %d asleep in poll (system call %ld) on /dev/vpoll; delete_module(\"vpoll\", O_NONBLOCK): %s\n",
	       (int)tid, nr, unload == 0 ? "0 (unloaded)" :
	       unload_err == EWOULDBLOCK ? "EWOULDBLOCK" : strerror(unload_err));

	if (!fgets(line, sizeof(line), stdin) && ferror(stdin)) {
		printf("vpoll_hold: stdin: %s\n", strerror(errno));
		return 1;
	}
	err = vpoll_write(p.fd, ADD | EPOLLIN);
	if (err) {
		printf("vpoll_hold: write ADD EPOLLIN: %s\n", strerror(-err));
		return 1;
	}
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 10;
	err = pthread_timedjoin_np(t, NULL, &deadline);
	if (err) {
		printf("vpoll_hold: the poller did not return after the ADD: %s\n", strerror(err));
		return 1;
	}
	printf("woken: poll returned %d (%s), revents %#x\n", p.ret,
	       p.ret < 0 ? strerror(p.err) : "ok", p.revents);
	close(p.fd);
	return p.ret == 1 && p.revents == POLLIN ? 0 : 1;
}
