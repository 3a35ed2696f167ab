// SPDX-License-Identifier: GPL-2.0
/*
 * Debian's libvpoll (libvpoll-dev) on /dev/vpoll.
 *
 * libvpoll chooses its backend once, in a constructor that runs when the
 * library is loaded: eventfd(0, EFD_VPOLL | EFD_CLOEXEC), else
 * open("/dev/vpoll"), else a socketpair emulation. The test kernels have
 * EFD_VPOLL, so this program defines eventfd() itself: the dynamic linker
 * binds libvpoll's call to it, and it fails EFD_VPOLL with EINVAL as a kernel
 * without the series does. libvpoll then drives /dev/vpoll with its ioctls.
 *
 * Output is TAP; exit 77 (skip) when /dev/vpoll is absent.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <vpoll.h>

#define EFD_VPOLL	(1 << 1)

static int refused;

/* Interposes on the C library's eventfd(): EFD_VPOLL is refused. */
int eventfd(unsigned int count, int flags)
{
	if (flags & EFD_VPOLL) {
		refused++;
		errno = EINVAL;
		return -1;
	}
	return syscall(SYS_eventfd2, count, flags);
}

static int failures, tests;

static void check(int ok, const char *what)
{
	tests++;
	if (!ok)
		failures++;
	printf("%s %d %s\n", ok ? "ok" : "not ok", tests, what);
}

static uint64_t pending(int fd)
{
	uint64_t events;

	if (read(fd, &events, sizeof(events)) != sizeof(events))
		return ~0ULL;
	return events;
}

static unsigned int poll_now(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };

	return poll(&p, 1, 0) == 1 ? (unsigned short)p.revents : 0;
}

static unsigned int epoll_now(int ep)
{
	struct epoll_event ev;

	return epoll_wait(ep, &ev, 1, 0) == 1 ? ev.events : 0;
}

int main(void)
{
	struct epoll_event ev = { .events = EPOLLPRI | EPOLLIN | EPOLLET };
	char path[64], link[64] = "";
	int fd, ep, ret;

	if (access("/dev/vpoll", R_OK | W_OK)) {
		printf("1..0 # SKIP /dev/vpoll: %s (the vpoll module is not loaded)\n",
		       strerror(errno));
		return 77;
	}
	printf("1..12\n");
	check(refused == 1, "libvpoll probed eventfd(EFD_VPOLL) once, at load, and was refused");

	fd = vpoll_create(EPOLLOUT, FD_CLOEXEC);
	check(fd >= 0, "vpoll_create(EPOLLOUT, FD_CLOEXEC)");
	if (fd < 0)
		return 1;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ret = readlink(path, link, sizeof(link) - 1);
	check(ret > 0 && !strcmp(link, "/dev/vpoll"), "the descriptor is /dev/vpoll, not the emulation");
	printf("# %s -> %s\n", path, link);
	check((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0, "FD_CLOEXEC set");
	check(pending(fd) == EPOLLOUT, "the initial EPOLLOUT is pending");

	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev))
		return 1;
	check(vpoll_ctl(fd, VPOLL_CTL_ADDEVENTS, EPOLLPRI | EPOLLERR) == 0,
	      "vpoll_ctl ADD EPOLLPRI|EPOLLERR");
	check(poll_now(fd, POLLPRI | POLLOUT) == (POLLPRI | POLLOUT | POLLERR),
	      "poll: PRI, OUT and ERR");
	check(epoll_now(ep) == (EPOLLPRI | EPOLLERR), "epoll (EPOLLET, PRI|IN): PRI and ERR");
	check(vpoll_ctl(fd, VPOLL_CTL_DELEVENTS, EPOLLERR | EPOLLOUT) == 0 &&
	      epoll_now(ep) == 0 && pending(fd) == EPOLLPRI,
	      "vpoll_ctl DEL: PRI left, no wake-up");
	check(vpoll_ctl(fd, VPOLL_CTL_SETEVENTS, EPOLLIN) == 0 &&
	      epoll_now(ep) == EPOLLIN && pending(fd) == EPOLLIN,
	      "vpoll_ctl SET EPOLLIN: an edge, IN alone");
	/* Debian's vpoll-dkms masked with 0x0fffffff; this module refuses. */
	errno = 0;
	ret = vpoll_ctl(fd, VPOLL_CTL_ADDEVENTS, 0x4000 /* POLLFREE */);
	check(ret == -1 && errno == EINVAL && pending(fd) == EPOLLIN,
	      "vpoll_ctl ADD of an internal bit: EINVAL, the set kept");
	close(ep);
	check(vpoll_close(fd) == 0, "vpoll_close");
	return failures ? 1 : 0;
}
