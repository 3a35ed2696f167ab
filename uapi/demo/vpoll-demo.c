// SPDX-License-Identifier: GPL-2.0
/*
 * The scenario of the EFD_VPOLL v3 posting: a parent waits in epoll_wait on
 * a vpoll eventfd while a forked child raises events on it, one step every
 * 300 ms. The parent prints what it gets and deletes it; it stops at
 * EPOLLHUP. Exits 0 when the parent saw every step, 77 without EFD_VPOLL.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/eventfd.h>

static const uint32_t steps[] = {
	EPOLLIN, EPOLLIN, EPOLLIN | EPOLLPRI, EPOLLPRI, EPOLLOUT, EPOLLHUP,
};

static void vpoll_ctl(int fd, uint64_t request)
{
	if (write(fd, &request, sizeof(request)) != sizeof(request)) {
		perror("write");
		exit(EXIT_FAILURE);
	}
}

static const char *names(uint32_t events, char *buf, size_t len)
{
	static const struct { uint32_t bit; const char *name; } n[] = {
		{ EPOLLIN, "IN" }, { EPOLLPRI, "PRI" }, { EPOLLOUT, "OUT" },
		{ EPOLLERR, "ERR" }, { EPOLLHUP, "HUP" }, { EPOLLRDHUP, "RDHUP" },
	};
	size_t i;

	buf[0] = '\0';
	for (i = 0; i < sizeof(n) / sizeof(n[0]); i++)
		if (events & n[i].bit)
			snprintf(buf + strlen(buf), len - strlen(buf), "%s%s",
				 buf[0] ? "|" : "", n[i].name);
	return buf;
}

int main(void)
{
	struct epoll_event ev = {
		.events = EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLOUT | EPOLLHUP | EPOLLPRI,
	};
	unsigned int got = 0, timeouts = 0;
	int efd, epfd, status;
	char buf[64];
	pid_t child;

	efd = syscall(SYS_eventfd2, 0, EFD_VPOLL | EFD_CLOEXEC);
	if (efd < 0 && errno == EINVAL) {
		printf("SKIP: this kernel has no EFD_VPOLL\n");
		return 77;
	}
	if (efd < 0) {
		perror("eventfd2");
		return EXIT_FAILURE;
	}
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, efd, &ev) < 0) {
		perror("epoll");
		return EXIT_FAILURE;
	}

	child = fork();
	if (child < 0) {
		perror("fork");
		return EXIT_FAILURE;
	}
	if (child == 0) {
		size_t i;

		for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
			usleep(300000);
			printf("child: add %s\n", names(steps[i], buf, sizeof(buf)));
			fflush(stdout);
			vpoll_ctl(efd, EFD_VPOLL_ADDEVENTS | steps[i]);
		}
		_exit(EXIT_SUCCESS);
	}

	for (;;) {
		int n = epoll_wait(epfd, &ev, 1, 200);

		if (n < 0) {
			perror("epoll_wait");
			return EXIT_FAILURE;
		}
		if (n == 0) {
			printf("parent: timeout...\n");
			if (++timeouts > 50)
				break;
			continue;
		}
		printf("parent: got %s\n", names(ev.events, buf, sizeof(buf)));
		got |= ev.events;
		vpoll_ctl(efd, EFD_VPOLL_DELEVENTS | ev.events);
		if (ev.events & EPOLLHUP)
			break;
	}
	waitpid(child, &status, 0);
	close(epfd);
	close(efd);
	if (got != (EPOLLIN | EPOLLPRI | EPOLLOUT | EPOLLHUP)) {
		printf("FAIL: the parent saw %s\n", names(got, buf, sizeof(buf)));
		return EXIT_FAILURE;
	}
	printf("OK: the parent saw every event the child raised\n");
	return EXIT_SUCCESS;
}
