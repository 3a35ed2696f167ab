// SPDX-License-Identifier: GPL-2.0
/*
 * The vpoll module's /dev/vpoll against the EFD_VPOLL semantics: the same
 * checks as the series' kselftest where they apply (not: eventfd2 flags and
 * initial value, the kernel-user refusal, the anon inode name), and the
 * ioctls of Debian's libvpoll. Every test SKIPs when /dev/vpoll is absent.
 *
 * The constants of the series are spelled out here, so that the test means
 * the same on a stock kernel. <fcntl.h> would clash with the <linux/fcntl.h>
 * of vpoll_helpers.h: open(2) is openat(2) through syscall(2).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "vpoll_helpers.h"
#include "kselftest_harness.h"

#define ADD	(1ULL << 32)
#define DEL	(2ULL << 32)
#define MOD	(3ULL << 32)
#define MASK	0x27ffU		/* EFD_VPOLL_EVENTMASK */

#define IOC_ADD	_IO('^', 1)
#define IOC_DEL	_IO('^', 2)
#define IOC_SET	_IO('^', 3)

#define DEV	"/dev/vpoll"
#define MODULE	"vpoll"

/* Long enough for a thread to block under an emulated CPU. */
#define SETTLE_MS	200

static int dev_open(int flags)
{
	return syscall(SYS_openat, AT_FDCWD, DEV, flags);
}

static int in_mask(unsigned int bit)
{
	return !!(MASK & (1U << bit));
}

/* ioctl(FD, CMD, ARG): its result, or -errno. */
static long vioctl(int fd, unsigned long cmd, unsigned long arg)
{
	long ret = ioctl(fd, cmd, arg);

	return ret < 0 ? -errno : ret;
}

/* A page that faults: a bad buffer. */
static void *bad_page(void)
{
	return mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

/* Waits until thread TID sleeps (state S), for at most five seconds. */
static int wait_sleeping(pid_t tid)
{
	char path[64], buf[256], *state;
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	for (i = 0; i < 5000; i++) {
		f = fopen(path, "r");
		if (!f)
			return -1;
		state = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
		fclose(f);
		if (state && state[1] == ' ' && state[2] == 'S')
			return 0;
		usleep(1000);
	}
	return -1;
}

FIXTURE(dev) {
	int fd;
};

FIXTURE_SETUP(dev)
{
	self->fd = dev_open(O_RDWR | O_CLOEXEC);
	if (self->fd < 0 && errno == ENOENT)
		SKIP(return, DEV " is absent: the vpoll module is not loaded");
	ASSERT_GE(self->fd, 0) TH_LOG("open " DEV ": %s", strerror(errno));
}

FIXTURE_TEARDOWN(dev)
{
	if (self->fd >= 0)
		close(self->fd);
}

TEST_F(dev, node)
{
	char path[64], link[64] = "";
	struct stat st, fst;

	ASSERT_EQ(stat(DEV, &st), 0);
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(st.st_mode & 07777, 0666U);
	ASSERT_EQ(fstat(self->fd, &fst), 0);
	EXPECT_EQ(fst.st_rdev, st.st_rdev);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", self->fd);
	ASSERT_GT(readlink(path, link, sizeof(link) - 1), 0);
	EXPECT_EQ(strncmp(link, DEV, strlen(DEV)), 0);
}

TEST_F(dev, each_open_is_private)
{
	int other = dev_open(O_RDWR | O_CLOEXEC);

	ASSERT_GE(other, 0);
	EXPECT_EQ(vpoll_read(self->fd), 0);
	ASSERT_EQ(vpoll_write(self->fd, ADD | EPOLLIN), 0);
	EXPECT_EQ(vpoll_read(self->fd), EPOLLIN);
	EXPECT_EQ(vpoll_read(other), 0);
	close(other);
}

TEST_F(dev, read_sizes)
{
	char buf[32];
	__u64 events;
	size_t n;

	ASSERT_EQ(vpoll_write(self->fd, MOD | EPOLLIN | EPOLLOUT), 0);
	for (n = 0; n < 8; n++) {
		errno = 0;
		EXPECT_EQ(read(self->fd, buf, n), -1) TH_LOG("size %zu", n);
		EXPECT_EQ(errno, EINVAL) TH_LOG("size %zu", n);
	}
	EXPECT_EQ(read(self->fd, buf, sizeof(buf)), 8);
	memcpy(&events, buf, sizeof(events));
	EXPECT_EQ(events, EPOLLIN | EPOLLOUT);
}

static void alarm_handler(int sig)
{
	(void)sig;
	_exit(1);
}

TEST_F(dev, read_never_blocks_nor_consumes)
{
	int nb = dev_open(O_RDWR | O_NONBLOCK | O_CLOEXEC);

	ASSERT_GE(nb, 0);
	signal(SIGALRM, alarm_handler);
	alarm(5);
	/* Empty: the read returns 0 events at once, blocking or not. */
	EXPECT_EQ(vpoll_read(self->fd), 0);
	EXPECT_EQ(vpoll_read(nb), 0);
	ASSERT_EQ(vpoll_write(self->fd, ADD | EPOLLPRI), 0);
	EXPECT_EQ(vpoll_read(self->fd), EPOLLPRI);
	EXPECT_EQ(vpoll_read(self->fd), EPOLLPRI);
	alarm(0);
	close(nb);
}

TEST_F(dev, read_bad_buffer)
{
	void *page = bad_page();

	ASSERT_NE(page, MAP_FAILED);
	ASSERT_EQ(vpoll_write(self->fd, MOD | EPOLLIN), 0);
	errno = 0;
	EXPECT_EQ(read(self->fd, page, 8), -1);
	EXPECT_EQ(errno, EFAULT);
	munmap(page, 4096);
	EXPECT_EQ(vpoll_read(self->fd), EPOLLIN);
}

TEST_F(dev, write_sizes)
{
	static const size_t sizes[] = { 0, 1, 4, 7, 9, 16 };
	char buf[16];
	__u64 req = ADD | EPOLLPRI;
	unsigned int i;

	memset(buf, 0, sizeof(buf));
	memcpy(buf, &req, sizeof(req));
	ASSERT_EQ(vpoll_write(self->fd, MOD | EPOLLIN), 0);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		errno = 0;
		EXPECT_EQ(write(self->fd, buf, sizes[i]), -1) TH_LOG("size %zu", sizes[i]);
		EXPECT_EQ(errno, EINVAL) TH_LOG("size %zu", sizes[i]);
		EXPECT_EQ(vpoll_read(self->fd), EPOLLIN) TH_LOG("size %zu", sizes[i]);
	}
}

TEST_F(dev, write_bad_buffer)
{
	void *page = bad_page();

	ASSERT_NE(page, MAP_FAILED);
	ASSERT_EQ(vpoll_write(self->fd, MOD | EPOLLIN), 0);
	errno = 0;
	EXPECT_EQ(write(self->fd, page, 8), -1);
	EXPECT_EQ(errno, EFAULT);
	munmap(page, 4096);
	EXPECT_EQ(vpoll_read(self->fd), EPOLLIN);
}

TEST_F(dev, bad_commands)
{
	static const __u64 cmds[] = { 0, 4, 5, 0x80000001, 0xffffffff };
	unsigned int i;

	ASSERT_EQ(vpoll_write(self->fd, MOD | EPOLLOUT), 0);
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		EXPECT_EQ(vpoll_write(self->fd, cmds[i] << 32 | EPOLLIN), -EINVAL)
			TH_LOG("command %#llx", (unsigned long long)cmds[i]);
		EXPECT_EQ(vpoll_read(self->fd), EPOLLOUT);
	}
}

/* Every bit with every command: inside the mask it works, outside EINVAL with the set kept. */
TEST_F(dev, command_each_bit)
{
	const __u64 start = EPOLLOUT | EPOLLRDHUP;
	unsigned int bit;

	for (bit = 0; bit < 32; bit++) {
		__u64 ev = 1ULL << bit;

		ASSERT_EQ(vpoll_write(self->fd, MOD | start), 0);
		if (!in_mask(bit)) {
			EXPECT_EQ(vpoll_write(self->fd, ADD | ev), -EINVAL) TH_LOG("bit %u", bit);
			EXPECT_EQ(vpoll_write(self->fd, DEL | ev), -EINVAL) TH_LOG("bit %u", bit);
			EXPECT_EQ(vpoll_write(self->fd, MOD | ev), -EINVAL) TH_LOG("bit %u", bit);
			EXPECT_EQ(vpoll_write(self->fd, ADD | EPOLLIN | ev), -EINVAL) TH_LOG("bit %u", bit);
			EXPECT_EQ(vpoll_read(self->fd), start) TH_LOG("bit %u", bit);
			continue;
		}
		EXPECT_EQ(vpoll_write(self->fd, ADD | ev), 0);
		EXPECT_EQ(vpoll_read(self->fd), start | ev) TH_LOG("bit %u", bit);
		EXPECT_EQ(vpoll_write(self->fd, DEL | ev), 0);
		EXPECT_EQ(vpoll_read(self->fd), start & ~ev) TH_LOG("bit %u", bit);
		EXPECT_EQ(vpoll_write(self->fd, MOD | ev), 0);
		EXPECT_EQ(vpoll_read(self->fd), ev) TH_LOG("bit %u", bit);
	}
}

TEST_F(dev, command_table)
{
	EXPECT_EQ(vpoll_write(self->fd, ADD | EPOLLIN | EPOLLOUT), 0);
	EXPECT_EQ(vpoll_read(self->fd), EPOLLIN | EPOLLOUT);
	EXPECT_EQ(vpoll_write(self->fd, ADD | EPOLLPRI), 0);
	EXPECT_EQ(vpoll_read(self->fd), EPOLLIN | EPOLLOUT | EPOLLPRI);
	EXPECT_EQ(vpoll_write(self->fd, DEL | EPOLLIN | EPOLLHUP), 0);
	EXPECT_EQ(vpoll_read(self->fd), EPOLLOUT | EPOLLPRI);
	EXPECT_EQ(vpoll_write(self->fd, MOD | EPOLLERR), 0);
	EXPECT_EQ(vpoll_read(self->fd), EPOLLERR);
	EXPECT_EQ(vpoll_write(self->fd, ADD), 0);
	EXPECT_EQ(vpoll_read(self->fd), EPOLLERR);
	EXPECT_EQ(vpoll_write(self->fd, MOD), 0);
	EXPECT_EQ(vpoll_read(self->fd), 0);
	EXPECT_EQ(vpoll_write(self->fd, MOD | MASK), 0);
	EXPECT_EQ(vpoll_read(self->fd), MASK);
}

/* libvpoll's ioctls: the same commands, the new set returned. */
TEST_F(dev, ioctl_each_bit)
{
	const unsigned long start = EPOLLOUT | EPOLLRDHUP;
	unsigned int bit;

	for (bit = 0; bit < 32; bit++) {
		unsigned long ev = 1UL << bit;

		ASSERT_EQ(vioctl(self->fd, IOC_SET, start), (long)start);
		if (!in_mask(bit)) {
			EXPECT_EQ(vioctl(self->fd, IOC_ADD, ev), -EINVAL) TH_LOG("bit %u", bit);
			EXPECT_EQ(vioctl(self->fd, IOC_DEL, ev), -EINVAL) TH_LOG("bit %u", bit);
			EXPECT_EQ(vioctl(self->fd, IOC_SET, ev), -EINVAL) TH_LOG("bit %u", bit);
			EXPECT_EQ(vioctl(self->fd, IOC_ADD, EPOLLIN | ev), -EINVAL) TH_LOG("bit %u", bit);
			EXPECT_EQ(vpoll_read(self->fd), start) TH_LOG("bit %u", bit);
			continue;
		}
		EXPECT_EQ(vioctl(self->fd, IOC_ADD, ev), (long)(start | ev)) TH_LOG("bit %u", bit);
		EXPECT_EQ(vioctl(self->fd, IOC_DEL, ev), (long)(start & ~ev)) TH_LOG("bit %u", bit);
		EXPECT_EQ(vioctl(self->fd, IOC_SET, ev), (long)ev) TH_LOG("bit %u", bit);
		EXPECT_EQ(vpoll_read(self->fd), ev) TH_LOG("bit %u", bit);
	}
	/* What Debian's vpoll-dkms masked silently is EINVAL. */
	EXPECT_EQ(vioctl(self->fd, IOC_ADD, 0x0fffffff), -EINVAL);
	if (sizeof(long) > 4)
		EXPECT_EQ(vioctl(self->fd, IOC_ADD, (unsigned long)((1ULL << 32) | EPOLLIN)), -EINVAL);
	EXPECT_EQ(vpoll_read(self->fd), start);
}

TEST_F(dev, ioctl_unknown_is_enotty)
{
	static const unsigned long cmds[] = {
		_IO('^', 0), _IO('^', 4), _IOW('^', 1, int), _IOR('^', 3, int),
		_IO('v', 1), 0x5401 /* TCGETS */,
	};
	unsigned int i;

	ASSERT_EQ(vioctl(self->fd, IOC_SET, EPOLLIN), EPOLLIN);
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		EXPECT_EQ(vioctl(self->fd, cmds[i], EPOLLOUT), -ENOTTY) TH_LOG("cmd %#lx", cmds[i]);
	EXPECT_EQ(vpoll_read(self->fd), EPOLLIN);
}

TEST_F(dev, poll_each_event)
{
	unsigned int bit, rev;

	for (bit = 0; bit < 32; bit++) {
		if (!in_mask(bit))
			continue;
		ASSERT_EQ(vpoll_write(self->fd, MOD | 1U << bit), 0);
		EXPECT_EQ(vpoll_poll(&self->fd, 1, MASK, false, 0, &rev), 1) TH_LOG("bit %u", bit);
		EXPECT_EQ(rev, 1U << bit) TH_LOG("bit %u", bit);
		EXPECT_EQ(vpoll_poll(&self->fd, 1, MASK, true, 0, &rev), 1) TH_LOG("bit %u", bit);
		EXPECT_EQ(rev, 1U << bit) TH_LOG("bit %u", bit);
	}
	ASSERT_EQ(vpoll_write(self->fd, MOD), 0);
	EXPECT_EQ(vpoll_poll(&self->fd, 1, MASK, false, 0, &rev), 0);
}

TEST_F(dev, select_sets)
{
	static const struct { unsigned int set, seen; } t[] = {
		{ EPOLLIN, EPOLLIN }, { EPOLLOUT, EPOLLOUT }, { EPOLLPRI, EPOLLPRI },
		{ EPOLLERR, EPOLLIN | EPOLLOUT }, { EPOLLHUP, EPOLLIN },
		{ EPOLLRDHUP, 0 },
	};
	unsigned int i, rev;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ASSERT_EQ(vpoll_write(self->fd, MOD | t[i].set), 0);
		vpoll_select(&self->fd, 1, EPOLLIN | EPOLLOUT | EPOLLPRI, false, 0, &rev);
		EXPECT_EQ(rev, t[i].seen) TH_LOG("set %#x", t[i].set);
		vpoll_select(&self->fd, 1, EPOLLIN | EPOLLOUT | EPOLLPRI, true, 0, &rev);
		EXPECT_EQ(rev, t[i].seen) TH_LOG("set %#x", t[i].set);
	}
}

TEST_F(dev, epoll_each_event)
{
	int ep = vpoll_epoll_create(&self->fd, 1, MASK);
	unsigned int bit, rev;

	ASSERT_GE(ep, 0);
	for (bit = 0; bit < 32; bit++) {
		if (!in_mask(bit))
			continue;
		ASSERT_EQ(vpoll_write(self->fd, MOD | 1U << bit), 0);
		EXPECT_EQ(vpoll_epoll_wait(ep, 1, 0, &rev), 1) TH_LOG("bit %u", bit);
		EXPECT_EQ(rev, 1U << bit) TH_LOG("bit %u", bit);
	}
	close(ep);
}

static unsigned int epoll_now(int ep)
{
	unsigned int rev = 0;

	vpoll_epoll_wait(ep, 1, 0, &rev);
	return rev;
}

TEST_F(dev, epollet_edges)
{
	int ep = vpoll_epoll_create(&self->fd, 1, EPOLLIN | EPOLLET);

	ASSERT_GE(ep, 0);
	EXPECT_EQ(epoll_now(ep), 0);
	ASSERT_EQ(vpoll_write(self->fd, ADD | EPOLLIN), 0);
	EXPECT_EQ(epoll_now(ep), EPOLLIN);
	EXPECT_EQ(epoll_now(ep), 0);
	/* Re-asserting a pending event is a new edge, by ADD or MOD. */
	ASSERT_EQ(vpoll_write(self->fd, ADD | EPOLLIN), 0);
	EXPECT_EQ(epoll_now(ep), EPOLLIN);
	ASSERT_EQ(vpoll_write(self->fd, MOD | EPOLLIN), 0);
	EXPECT_EQ(epoll_now(ep), EPOLLIN);
	ASSERT_EQ(vioctl(self->fd, IOC_ADD, EPOLLIN), EPOLLIN);
	EXPECT_EQ(epoll_now(ep), EPOLLIN);
	ASSERT_EQ(vioctl(self->fd, IOC_SET, EPOLLIN), EPOLLIN);
	EXPECT_EQ(epoll_now(ep), EPOLLIN);
	close(ep);
}

/* The key is what the command asserts; a delete, or an empty add, wakes nobody. */
TEST_F(dev, wake_key_is_asserted_events)
{
	int ep = vpoll_epoll_create(&self->fd, 1, EPOLLOUT | EPOLLET);

	ASSERT_GE(ep, 0);
	ASSERT_EQ(vpoll_write(self->fd, ADD | EPOLLOUT), 0);
	EXPECT_EQ(epoll_now(ep), EPOLLOUT);
	/* OUT stays pending; adding IN is no edge for an OUT waiter. */
	ASSERT_EQ(vpoll_write(self->fd, ADD | EPOLLIN), 0);
	EXPECT_EQ(epoll_now(ep), 0);
	ASSERT_EQ(vioctl(self->fd, IOC_ADD, EPOLLPRI), EPOLLIN | EPOLLOUT | EPOLLPRI);
	EXPECT_EQ(epoll_now(ep), 0);
	/* MOD and SET assert the whole new set. */
	ASSERT_EQ(vpoll_write(self->fd, MOD | EPOLLIN | EPOLLOUT), 0);
	EXPECT_EQ(epoll_now(ep), EPOLLOUT);
	ASSERT_EQ(vioctl(self->fd, IOC_SET, EPOLLIN | EPOLLOUT), EPOLLIN | EPOLLOUT);
	EXPECT_EQ(epoll_now(ep), EPOLLOUT);
	ASSERT_EQ(vpoll_write(self->fd, MOD | EPOLLIN), 0);
	EXPECT_EQ(epoll_now(ep), 0);
	close(ep);
}

TEST_F(dev, del_wakes_nobody)
{
	int ep = vpoll_epoll_create(&self->fd, 1, EPOLLIN | EPOLLOUT | EPOLLET);

	ASSERT_GE(ep, 0);
	ASSERT_EQ(vpoll_write(self->fd, ADD | EPOLLIN | EPOLLOUT | EPOLLPRI), 0);
	EXPECT_EQ(epoll_now(ep), EPOLLIN | EPOLLOUT);
	/* IN and OUT still pending: any wake-up would be a new edge here. */
	ASSERT_EQ(vpoll_write(self->fd, DEL | EPOLLPRI), 0);
	EXPECT_EQ(epoll_now(ep), 0);
	ASSERT_EQ(vioctl(self->fd, IOC_DEL, EPOLLPRI), EPOLLIN | EPOLLOUT);
	EXPECT_EQ(epoll_now(ep), 0);
	ASSERT_EQ(vpoll_write(self->fd, DEL), 0);
	EXPECT_EQ(epoll_now(ep), 0);
	ASSERT_EQ(vpoll_write(self->fd, ADD), 0);
	EXPECT_EQ(epoll_now(ep), 0);
	ASSERT_EQ(vioctl(self->fd, IOC_ADD, 0), EPOLLIN | EPOLLOUT);
	EXPECT_EQ(epoll_now(ep), 0);
	close(ep);
}

/* A thread waits in one poll family for EVENTS, nothing pending; then it is raised. */
enum family { F_SELECT, F_POLL, F_PPOLL, F_EPOLL };

struct waiter {
	int fd, ep;
	enum family family;
	unsigned int events, rev;
	int ret;
	pid_t tid;
	pthread_t thread;
};

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;

	w->tid = syscall(SYS_gettid);
	switch (w->family) {
	case F_SELECT:
		w->ret = vpoll_select(&w->fd, 1, w->events, false, 5000, &w->rev);
		break;
	case F_POLL:
	case F_PPOLL:
		w->ret = vpoll_poll(&w->fd, 1, w->events, w->family == F_PPOLL, 5000, &w->rev);
		break;
	case F_EPOLL:
		w->ret = vpoll_epoll_wait(w->ep, 1, 5000, &w->rev);
		break;
	}
	return NULL;
}

static void arm_then_raise(struct __test_metadata *_metadata, int fd,
			   enum family family, unsigned int events,
			   unsigned int raise, unsigned int expect)
{
	struct waiter w = { .fd = fd, .ep = -1, .family = family, .events = events };

	ASSERT_EQ(vpoll_write(fd, MOD), 0);
	if (family == F_EPOLL) {
		w.ep = vpoll_epoll_create(&fd, 1, events);
		ASSERT_GE(w.ep, 0);
	}
	ASSERT_EQ(pthread_create(&w.thread, NULL, waiter_main, &w), 0);
	while (!__atomic_load_n(&w.tid, __ATOMIC_ACQUIRE))
		usleep(1000);
	ASSERT_EQ(wait_sleeping(w.tid), 0);
	usleep(SETTLE_MS * 1000);
	ASSERT_EQ(vpoll_write(fd, ADD | raise), 0);
	ASSERT_EQ(pthread_join(w.thread, NULL), 0);
	EXPECT_EQ(w.ret, 1) TH_LOG("family %d raise %#x", family, raise);
	EXPECT_EQ(w.rev, expect) TH_LOG("family %d raise %#x", family, raise);
	if (w.ep >= 0)
		close(w.ep);
}

TEST_F(dev, arm_then_raise_select)
{
	arm_then_raise(_metadata, self->fd, F_SELECT, EPOLLIN, EPOLLIN, EPOLLIN);
	arm_then_raise(_metadata, self->fd, F_SELECT, EPOLLPRI, EPOLLPRI, EPOLLPRI);
	arm_then_raise(_metadata, self->fd, F_SELECT, EPOLLOUT, EPOLLOUT, EPOLLOUT);
}

TEST_F(dev, arm_then_raise_poll)
{
	arm_then_raise(_metadata, self->fd, F_POLL, EPOLLIN, EPOLLIN, EPOLLIN);
	arm_then_raise(_metadata, self->fd, F_POLL, EPOLLPRI, EPOLLPRI, EPOLLPRI);
	arm_then_raise(_metadata, self->fd, F_PPOLL, EPOLLIN, EPOLLERR, EPOLLERR);
	arm_then_raise(_metadata, self->fd, F_PPOLL, EPOLLRDHUP, EPOLLRDHUP, EPOLLRDHUP);
}

TEST_F(dev, arm_then_raise_epoll)
{
	arm_then_raise(_metadata, self->fd, F_EPOLL, EPOLLIN, EPOLLIN, EPOLLIN);
	arm_then_raise(_metadata, self->fd, F_EPOLL, EPOLLPRI, EPOLLPRI, EPOLLPRI);
	arm_then_raise(_metadata, self->fd, F_EPOLL, EPOLLIN, EPOLLERR, EPOLLERR);
	arm_then_raise(_metadata, self->fd, F_EPOLL, EPOLLIN | EPOLLET, EPOLLIN, EPOLLIN);
}

/*
 * io_uring reports the key: the events of the wake-up it asked for. A poll
 * for EPOLLPRI alone needs the io_uring fix (patches/io_uring), which stock
 * kernels lack: this test then fails on PRI.
 */
TEST_F(dev, arm_then_raise_io_uring)
{
	static const unsigned int evs[] = { EPOLLIN, EPOLLOUT, EPOLLPRI, EPOLLRDHUP };
	struct io_uring_cqe cqe;
	struct vpoll_ring r;
	unsigned int i;
	int ret;

	ret = vpoll_ring_init(&r, 8);
	if (ret == -ENOSYS || ret == -EPERM)
		SKIP(return, "no io_uring: %s", strerror(-ret));
	ASSERT_EQ(ret, 0);
	for (i = 0; i < sizeof(evs) / sizeof(evs[0]); i++) {
		ASSERT_EQ(vpoll_write(self->fd, MOD), 0);
		ASSERT_EQ(vpoll_ring_poll_add(&r, self->fd, evs[i], false, i), 0);
		EXPECT_EQ(vpoll_ring_wait(&r, &cqe, SETTLE_MS), -ETIME) TH_LOG("event %#x", evs[i]);
		ASSERT_EQ(vpoll_write(self->fd, ADD | evs[i]), 0);
		ASSERT_EQ(vpoll_ring_wait(&r, &cqe, 5000), 0) TH_LOG("event %#x", evs[i]);
		EXPECT_EQ(cqe.user_data, i);
		EXPECT_EQ(cqe.res, (int)evs[i]) TH_LOG("event %#x", evs[i]);
	}
	/* Raised by the ioctl, and what another event's key does not wake. */
	ASSERT_EQ(vpoll_write(self->fd, MOD), 0);
	ASSERT_EQ(vpoll_ring_poll_add(&r, self->fd, EPOLLIN, false, 9), 0);
	ASSERT_EQ(vioctl(self->fd, IOC_ADD, EPOLLOUT), EPOLLOUT);
	EXPECT_EQ(vpoll_ring_wait(&r, &cqe, SETTLE_MS), -ETIME);
	ASSERT_EQ(vioctl(self->fd, IOC_ADD, EPOLLIN), EPOLLIN | EPOLLOUT);
	ASSERT_EQ(vpoll_ring_wait(&r, &cqe, 5000), 0);
	EXPECT_EQ(cqe.user_data, 9);
	EXPECT_EQ(cqe.res, EPOLLIN);
	vpoll_ring_exit(&r);
}

TEST_F(dev, arm_then_raise_aio)
{
	struct io_event ev;
	aio_context_t ctx;
	struct iocb cb;
	int ret;

	ret = vpoll_aio_setup(4, &ctx);
	if (ret == -ENOSYS)
		SKIP(return, "no aio");
	ASSERT_EQ(ret, 0);
	/* 32-bit: io_getevents has a 32-bit timespec, gone without COMPAT_32BIT_TIME. */
	ret = vpoll_aio_getevents(ctx, 0, 1, &ev, 0);
	if (ret == -ENOSYS) {
		vpoll_aio_destroy(ctx);
		SKIP(return, "io_getevents: ENOSYS (a 32-bit program on a kernel without COMPAT_32BIT_TIME)");
	}
	ASSERT_EQ(ret, 0);
	ASSERT_EQ(vpoll_aio_poll(ctx, &cb, self->fd, EPOLLPRI, 7), 0);
	EXPECT_EQ(vpoll_aio_getevents(ctx, 1, 1, &ev, SETTLE_MS), 0);
	ASSERT_EQ(vpoll_write(self->fd, ADD | EPOLLPRI), 0);
	ASSERT_EQ(vpoll_aio_getevents(ctx, 1, 1, &ev, 5000), 1);
	EXPECT_EQ(ev.data, 7);
	EXPECT_EQ(ev.res, EPOLLPRI);
	vpoll_aio_destroy(ctx);
}

/* FMODE_NOWAIT and a write that accepts IOCB_NOWAIT. */
TEST_F(dev, write_rwf_nowait)
{
	__u64 req = ADD | EPOLLHUP;
	struct iovec iov = { .iov_base = &req, .iov_len = sizeof(req) };

	EXPECT_EQ(pwritev2(self->fd, &iov, 1, -1, RWF_NOWAIT), 8) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(vpoll_read(self->fd), EPOLLHUP);
}

/* stream_open(): no positioned I/O, no seeking. */
TEST_F(dev, stream)
{
	__u64 v = ADD | EPOLLIN;

	errno = 0;
	EXPECT_EQ(pread(self->fd, &v, sizeof(v), 0), -1);
	EXPECT_EQ(errno, ESPIPE);
	errno = 0;
	EXPECT_EQ(pwrite(self->fd, &v, sizeof(v), 0), -1);
	EXPECT_EQ(errno, ESPIPE);
	errno = 0;
	EXPECT_EQ(lseek(self->fd, 0, SEEK_SET), -1);
	EXPECT_EQ(errno, ESPIPE);
	EXPECT_EQ(vpoll_read(self->fd), 0);
}

TEST_F(dev, fdinfo)
{
	char path[64], line[256];
	int found = 0;
	FILE *f;

	ASSERT_EQ(vpoll_write(self->fd, MOD | EPOLLIN | EPOLLRDHUP), 0);
	EXPECT_EQ(vpoll_fdinfo_field(self->fd, "vpoll-events", 16), EPOLLIN | EPOLLRDHUP);
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", self->fd);
	f = fopen(path, "r");
	ASSERT_NE(f, NULL);
	while (fgets(line, sizeof(line), f))
		found |= !strncmp(line, "vpoll-device: vpoll ", 20);
	fclose(f);
	EXPECT_TRUE(found);
}

/* fops.owner: the module cannot go while a descriptor is open and waited on. */
TEST_F(dev, unload_refused_while_open)
{
	struct waiter w = { .fd = self->fd, .ep = -1, .family = F_POLL, .events = EPOLLIN };

	if (geteuid() != 0)
		SKIP(return, "not root: delete_module needs CAP_SYS_MODULE");
	ASSERT_EQ(pthread_create(&w.thread, NULL, waiter_main, &w), 0);
	while (!__atomic_load_n(&w.tid, __ATOMIC_ACQUIRE))
		usleep(1000);
	ASSERT_EQ(wait_sleeping(w.tid), 0);
	errno = 0;
	EXPECT_EQ(syscall(__NR_delete_module, MODULE, O_NONBLOCK), -1);
	EXPECT_EQ(errno, EWOULDBLOCK) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(vpoll_write(self->fd, ADD | EPOLLIN), 0);
	ASSERT_EQ(pthread_join(w.thread, NULL), 0);
	EXPECT_EQ(w.rev, EPOLLIN);
}

TEST_HARNESS_MAIN
