// SPDX-License-Identifier: GPL-2.0
/*
 * EFD_VPOLL: an eventfd whose poll events are set and cleared by write(2).
 *
 * Every TEST runs in the "vpoll" fixture, whose setup skips the test on a
 * kernel without EFD_VPOLL.
 */

#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include "../../kselftest_harness.h"
#include "vpoll_helpers.h"

#define ADD	EFD_VPOLL_ADDEVENTS
#define DEL	EFD_VPOLL_DELEVENTS
#define MOD	EFD_VPOLL_MODEVENTS

/* Long enough for a thread to block under an emulated CPU. */
#define SETTLE_MS	200

static int in_mask(unsigned int bit)
{
	return !!(EFD_VPOLL_EVENTMASK & (1ULL << bit));
}

/* The value of "key:" in /proc/self/fdinfo/FD, parsed in BASE, or -1. */
static long long fdinfo_field(int fd, const char *key, int base)
{
	char path[64], line[256];
	long long value = -1;
	size_t len = strlen(key);
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, len) && line[len] == ':')
			value = strtoll(line + len + 1, NULL, base);
	fclose(f);
	return value;
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

FIXTURE(vpoll) {
	int fd;
};

FIXTURE_SETUP(vpoll)
{
	self->fd = sys_eventfd2(0, EFD_VPOLL | EFD_CLOEXEC);
	if (self->fd < 0 && errno == EINVAL)
		SKIP(return, "the kernel has no EFD_VPOLL");
	ASSERT_GE(self->fd, 0);
}

FIXTURE_TEARDOWN(vpoll)
{
	if (self->fd >= 0)
		close(self->fd);
}

/* Creation */

TEST_F(vpoll, flags_accepted)
{
	static const int extra[] = { 0, EFD_CLOEXEC, EFD_NONBLOCK,
				     EFD_CLOEXEC | EFD_NONBLOCK };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(extra); i++) {
		int fd = sys_eventfd2(0, EFD_VPOLL | extra[i]);
		long long flags;

		ASSERT_GE(fd, 0) TH_LOG("flags %#x", EFD_VPOLL | extra[i]);
		flags = fdinfo_field(fd, "flags", 8);
		EXPECT_EQ(flags & (O_ACCMODE | O_NONBLOCK | O_CLOEXEC),
			  O_RDWR | extra[i]);
		EXPECT_EQ(fdinfo_field(fd, "eventfd-vpoll", 10), 1);
		EXPECT_EQ(fdinfo_field(fd, "eventfd-semaphore", 10), 0);
		close(fd);
	}
}

TEST_F(vpoll, flags_rejected)
{
	static const int bad[] = {
		EFD_VPOLL | EFD_SEMAPHORE,
		EFD_VPOLL | EFD_SEMAPHORE | EFD_CLOEXEC,
		EFD_VPOLL | EFD_SEMAPHORE | EFD_NONBLOCK,
		EFD_VPOLL | EFD_SEMAPHORE | EFD_CLOEXEC | EFD_NONBLOCK,
		EFD_VPOLL | (1 << 2),
		EFD_VPOLL | (1 << 30),
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		errno = 0;
		EXPECT_EQ(sys_eventfd2(0, bad[i]), -1) TH_LOG("flags %#x", bad[i]);
		EXPECT_EQ(errno, EINVAL);
	}
}

TEST_F(vpoll, initval_each_bit)
{
	unsigned int bit;

	for (bit = 0; bit < 32; bit++) {
		int fd = sys_eventfd2(1U << bit, EFD_VPOLL);

		if (in_mask(bit)) {
			ASSERT_GE(fd, 0) TH_LOG("bit %u", bit);
			EXPECT_EQ(vpoll_read(fd), 1ULL << bit);
			close(fd);
		} else {
			EXPECT_EQ(fd, -1) TH_LOG("bit %u", bit);
			EXPECT_EQ(errno, EINVAL);
			if (fd >= 0)
				close(fd);
		}
	}
}

TEST_F(vpoll, initval_whole_mask)
{
	int fd = sys_eventfd2(EFD_VPOLL_EVENTMASK, EFD_VPOLL);

	ASSERT_GE(fd, 0);
	EXPECT_EQ(vpoll_read(fd), EFD_VPOLL_EVENTMASK);
	close(fd);
}

TEST_F(vpoll, mask_is_uapi_events)
{
	EXPECT_EQ(EFD_VPOLL_EVENTMASK,
		  EPOLLIN | EPOLLPRI | EPOLLOUT | EPOLLERR | EPOLLHUP |
		  EPOLLNVAL | EPOLLRDNORM | EPOLLRDBAND | EPOLLWRNORM |
		  EPOLLWRBAND | EPOLLMSG | EPOLLRDHUP);
}

/* read(2) and write(2) */

TEST_F(vpoll, read_sizes)
{
	unsigned char buf[16];
	size_t size;

	ASSERT_EQ(vpoll_write(self->fd, ADD | EPOLLIN | EPOLLPRI), 0);
	for (size = 0; size <= 16; size++) {
		__u64 value;
		ssize_t n;

		memset(buf, 0xa5, sizeof(buf));
		errno = 0;
		n = read(self->fd, buf, size);
		if (size < 8) {
			EXPECT_EQ(n, -1) TH_LOG("size %zu", size);
			EXPECT_EQ(errno, EINVAL);
			continue;
		}
		EXPECT_EQ(n, 8) TH_LOG("size %zu", size);
		memcpy(&value, buf, sizeof(value));
		EXPECT_EQ(value, EPOLLIN | EPOLLPRI);
		if (size > 8)
			EXPECT_EQ(buf[8], 0xa5);
	}
}

TEST_F(vpoll, read_does_not_block_or_consume)
{
	/* self->fd is blocking and its set is empty. */
	EXPECT_EQ(vpoll_read(self->fd), 0);
	ASSERT_EQ(vpoll_write(self->fd, ADD | EPOLLIN), 0);
	EXPECT_EQ(vpoll_read(self->fd), EPOLLIN);
	EXPECT_EQ(vpoll_read(self->fd), EPOLLIN);
}

TEST_F(vpoll, read_bad_buffer)
{
	void *page = mmap(NULL, 4096, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(page, MAP_FAILED);
	errno = 0;
	EXPECT_EQ(read(self->fd, page, 8), -1);
	EXPECT_EQ(errno, EFAULT);
	munmap(page, 4096);
}

TEST_F(vpoll, write_sizes)
{
	unsigned char buf[16];
	size_t size;
	__u64 request = ADD | EPOLLOUT;

	ASSERT_EQ(vpoll_write(self->fd, MOD | EPOLLIN), 0);
	memset(buf, 0, sizeof(buf));
	memcpy(buf, &request, sizeof(request));
	for (size = 0; size <= 16; size++) {
		if (size == 8)
			continue;
		errno = 0;
		EXPECT_EQ(write(self->fd, buf, size), -1) TH_LOG("size %zu", size);
		EXPECT_EQ(errno, EINVAL);
		EXPECT_EQ(vpoll_read(self->fd), EPOLLIN);
	}
	EXPECT_EQ(write(self->fd, buf, 8), 8);
	EXPECT_EQ(vpoll_read(self->fd), EPOLLIN | EPOLLOUT);
}

TEST_F(vpoll, write_bad_buffer)
{
	void *page = mmap(NULL, 4096, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(page, MAP_FAILED);
	ASSERT_EQ(vpoll_write(self->fd, MOD | EPOLLIN), 0);
	errno = 0;
	EXPECT_EQ(write(self->fd, page, 8), -1);
	EXPECT_EQ(errno, EFAULT);
	EXPECT_EQ(vpoll_read(self->fd), EPOLLIN);
	munmap(page, 4096);
}

TEST_F(vpoll, bad_commands)
{
	static const __u64 cmds[] = { 0, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
				      14, 15, 16, 0x80000001, 0xffffffff };
	unsigned int i;

	ASSERT_EQ(vpoll_write(self->fd, MOD | EPOLLIN | EPOLLHUP), 0);
	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		if (cmds[i] >= 1 && cmds[i] <= 3)
			continue;
		EXPECT_EQ(vpoll_write(self->fd, (cmds[i] << 32) | EPOLLOUT),
			  -EINVAL) TH_LOG("command %#llx", cmds[i]);
		EXPECT_EQ(vpoll_write(self->fd, cmds[i] << 32), -EINVAL);
		EXPECT_EQ(vpoll_read(self->fd), EPOLLIN | EPOLLHUP);
	}
}

TEST_F(vpoll, command_each_bit)
{
	static const __u64 cmds[] = { ADD, DEL, MOD };
	const __u64 before = EPOLLIN | EPOLLOUT;
	unsigned int i, bit;

	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		for (bit = 0; bit < 32; bit++) {
			__u64 ev = 1ULL << bit, expect;

			ASSERT_EQ(vpoll_write(self->fd, MOD | before), 0);
			if (!in_mask(bit)) {
				EXPECT_EQ(vpoll_write(self->fd, cmds[i] | ev), -EINVAL)
					TH_LOG("command %u bit %u", i + 1, bit);
				EXPECT_EQ(vpoll_read(self->fd), before);
				continue;
			}
			expect = cmds[i] == ADD ? before | ev :
				 cmds[i] == DEL ? before & ~ev : ev;
			EXPECT_EQ(vpoll_write(self->fd, cmds[i] | ev), 0)
				TH_LOG("command %u bit %u", i + 1, bit);
			EXPECT_EQ(vpoll_read(self->fd), expect)
				TH_LOG("command %u bit %u", i + 1, bit);
		}
	}
}

TEST_F(vpoll, command_table)
{
	static const struct {
		__u64 before, request, after;
	} t[] = {
		{ 0,			ADD | EPOLLIN,			EPOLLIN },
		{ EPOLLIN,		ADD | EPOLLIN,			EPOLLIN },
		{ EPOLLIN,		ADD | EPOLLOUT | EPOLLPRI,
					EPOLLIN | EPOLLOUT | EPOLLPRI },
		{ EPOLLIN,		ADD,				EPOLLIN },
		{ EPOLLIN | EPOLLOUT,	DEL | EPOLLIN,			EPOLLOUT },
		{ EPOLLIN,		DEL | EPOLLOUT,			EPOLLIN },
		{ EPOLLIN,		DEL | EPOLLIN,			0 },
		{ EPOLLIN | EPOLLOUT,	DEL,				EPOLLIN | EPOLLOUT },
		{ EPOLLIN | EPOLLOUT,	DEL | EFD_VPOLL_EVENTMASK,	0 },
		{ EPOLLIN | EPOLLOUT,	MOD | EPOLLPRI,			EPOLLPRI },
		{ EPOLLIN,		MOD,				0 },
		{ 0,			MOD | EFD_VPOLL_EVENTMASK,	EFD_VPOLL_EVENTMASK },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(t); i++) {
		ASSERT_EQ(vpoll_write(self->fd, MOD | t[i].before), 0);
		EXPECT_EQ(vpoll_write(self->fd, t[i].request), 0) TH_LOG("row %u", i);
		EXPECT_EQ(vpoll_read(self->fd), t[i].after) TH_LOG("row %u", i);
	}
}

/*
 * What each poll family shows for each event: select() through the fd sets
 * of fs/select.c, poll() and epoll through the requested events plus
 * EPOLLERR and EPOLLHUP, which they always report.
 */

#define ALWAYS	(EPOLLERR | EPOLLHUP)
#define IN_SET	(EPOLLRDNORM | EPOLLRDBAND | EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLNVAL)
#define OUT_SET	(EPOLLWRBAND | EPOLLWRNORM | EPOLLOUT | EPOLLERR | EPOLLNVAL)
#define EX_SET	(EPOLLPRI | EPOLLNVAL)

/* POLL* and EPOLL* values are the same on x86, arm64 and most others. */
static short poll_revents(int fd, short events, int use_ppoll)
{
	unsigned int revents;

	if (vpoll_poll(&fd, 1, events, use_ppoll, 0, &revents) < 0)
		return -1;
	return revents;
}

static void check_poll_family(struct __test_metadata *_metadata, int fd,
			      int use_ppoll)
{
	unsigned int bit;

	for (bit = 0; bit < 32; bit++) {
		short ev = 1 << bit;

		if (!in_mask(bit))
			continue;
		ASSERT_EQ(vpoll_write(fd, MOD | ev), 0);
		EXPECT_EQ(poll_revents(fd, ev, use_ppoll), ev) TH_LOG("bit %u", bit);
		EXPECT_EQ(poll_revents(fd, 0, use_ppoll), ev & ALWAYS)
			TH_LOG("bit %u", bit);
		EXPECT_EQ(poll_revents(fd, ~ev & EFD_VPOLL_EVENTMASK, use_ppoll),
			  ev & ALWAYS) TH_LOG("bit %u", bit);
	}
}

TEST_F(vpoll, poll_each_event)
{
	check_poll_family(_metadata, self->fd, 0);
}

TEST_F(vpoll, ppoll_each_event)
{
	check_poll_family(_metadata, self->fd, 1);
}

static int select_sets(int fd, int use_pselect, int *in, int *out, int *ex)
{
	unsigned int revents;
	int n;

	n = vpoll_select(&fd, 1, EPOLLIN | EPOLLOUT | EPOLLPRI, use_pselect, 0,
			 &revents);
	*in = !!(revents & EPOLLIN);
	*out = !!(revents & EPOLLOUT);
	*ex = !!(revents & EPOLLPRI);
	return n;
}

static void check_select_family(struct __test_metadata *_metadata, int fd,
				int use_pselect)
{
	unsigned int bit;

	for (bit = 0; bit < 32; bit++) {
		unsigned int ev = 1U << bit;
		int in, out, ex, n;

		if (!in_mask(bit))
			continue;
		ASSERT_EQ(vpoll_write(fd, MOD | ev), 0);
		n = select_sets(fd, use_pselect, &in, &out, &ex);
		EXPECT_EQ(n, !!(ev & IN_SET) + !!(ev & OUT_SET) + !!(ev & EX_SET))
			TH_LOG("bit %u", bit);
		EXPECT_EQ(in, !!(ev & IN_SET)) TH_LOG("bit %u", bit);
		EXPECT_EQ(out, !!(ev & OUT_SET)) TH_LOG("bit %u", bit);
		EXPECT_EQ(ex, !!(ev & EX_SET)) TH_LOG("bit %u", bit);
	}
}

TEST_F(vpoll, select_each_event)
{
	check_select_family(_metadata, self->fd, 0);
}

TEST_F(vpoll, pselect_each_event)
{
	check_select_family(_metadata, self->fd, 1);
}

/* Adds FD to a new epoll instance with EVENTS; returns the epoll fd. */
static int epoll_with(int fd, unsigned int events)
{
	return vpoll_epoll_create(&fd, 1, events);
}

/* The events epoll_wait reports, 0 for none, ~0 on error. */
static unsigned int epoll_events(int ep, int timeout_ms)
{
	unsigned int revents;

	if (vpoll_epoll_wait(ep, 1, timeout_ms, &revents) < 0)
		return ~0U;
	return revents;
}

TEST_F(vpoll, epoll_each_event)
{
	unsigned int bit;

	for (bit = 0; bit < 32; bit++) {
		unsigned int ev = 1U << bit;
		int asked, none, others;

		if (!in_mask(bit))
			continue;
		ASSERT_EQ(vpoll_write(self->fd, MOD | ev), 0);
		asked = epoll_with(self->fd, ev);
		none = epoll_with(self->fd, 0);
		others = epoll_with(self->fd, ~ev & EFD_VPOLL_EVENTMASK);
		ASSERT_GE(asked, 0);
		ASSERT_GE(none, 0);
		ASSERT_GE(others, 0);
		EXPECT_EQ(epoll_events(asked, 0), ev) TH_LOG("bit %u", bit);
		EXPECT_EQ(epoll_events(none, 0), ev & ALWAYS) TH_LOG("bit %u", bit);
		EXPECT_EQ(epoll_events(others, 0), ev & ALWAYS) TH_LOG("bit %u", bit);
		close(asked);
		close(none);
		close(others);
	}
}

/* Blocking waiters */

struct waiter {
	pthread_t thread;
	int fd;			/* what it waits on */
	int how;		/* WAIT_* */
	unsigned int events;	/* what it asks for */
	int timeout_ms;
	atomic_int tid;
	atomic_int done;
	int ret;		/* the wait's return value */
	unsigned int got;	/* what it saw */
};

enum { WAIT_POLL, WAIT_SELECT, WAIT_EPOLL };

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;

	atomic_store(&w->tid, gettid());
	if (w->how == WAIT_POLL)
		w->ret = vpoll_poll(&w->fd, 1, w->events, false, w->timeout_ms,
				    &w->got);
	else if (w->how == WAIT_SELECT)
		w->ret = vpoll_select(&w->fd, 1, EPOLLIN, false, w->timeout_ms,
				      &w->got);
	else
		w->ret = vpoll_epoll_wait(w->fd, 1, w->timeout_ms, &w->got);
	atomic_store(&w->done, 1);
	return NULL;
}

/* Starts W and returns once it sleeps in its wait. */
static int waiter_start(struct waiter *w)
{
	int i;

	atomic_store(&w->tid, 0);
	atomic_store(&w->done, 0);
	if (pthread_create(&w->thread, NULL, waiter_main, w))
		return -1;
	for (i = 0; i < 5000 && !atomic_load(&w->tid); i++)
		usleep(1000);
	return atomic_load(&w->tid) ? wait_sleeping(atomic_load(&w->tid)) : -1;
}

TEST_F(vpoll, wake_thread_waiters)
{
	static const int hows[] = { WAIT_POLL, WAIT_SELECT, WAIT_EPOLL };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(hows); i++) {
		struct waiter w = { .how = hows[i], .events = EPOLLIN,
				    .timeout_ms = 10000 };

		ASSERT_EQ(vpoll_write(self->fd, MOD), 0);
		w.fd = hows[i] == WAIT_EPOLL ? epoll_with(self->fd, EPOLLIN) : self->fd;
		ASSERT_GE(w.fd, 0);
		ASSERT_EQ(waiter_start(&w), 0);
		usleep(SETTLE_MS * 1000);
		EXPECT_EQ(atomic_load(&w.done), 0) TH_LOG("waiter %u", i);
		ASSERT_EQ(vpoll_write(self->fd, ADD | EPOLLIN), 0);
		pthread_join(w.thread, NULL);
		EXPECT_EQ(w.ret, 1) TH_LOG("waiter %u", i);
		EXPECT_EQ(w.got, EPOLLIN) TH_LOG("waiter %u", i);
		if (hows[i] == WAIT_EPOLL)
			close(w.fd);
	}
}

/*
 * The v3 posting's example: the parent waits in epoll_wait while a forked
 * child adds events one step at a time; the parent deletes what it got, and
 * the child waits for that before its next step.
 */
TEST_F(vpoll, wake_from_forked_child)
{
	static const unsigned int steps[] = {
		EPOLLIN, EPOLLIN, EPOLLIN | EPOLLPRI, EPOLLPRI, EPOLLOUT, EPOLLHUP,
	};
	unsigned int i, got;
	int ep, status;
	pid_t pid;

	ep = epoll_with(self->fd, EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLOUT |
			EPOLLHUP | EPOLLPRI);
	ASSERT_GE(ep, 0);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		for (i = 0; i < ARRAY_SIZE(steps); i++) {
			int spins = 0;

			if (vpoll_write(self->fd, ADD | steps[i]))
				_exit(1);
			while (vpoll_read(self->fd) != 0)
				if (++spins > 10000)
					_exit(2);
				else
					usleep(1000);
		}
		_exit(0);
	}
	for (i = 0; i < ARRAY_SIZE(steps); i++) {
		got = epoll_events(ep, 10000);
		EXPECT_EQ(got, steps[i]) TH_LOG("step %u", i);
		if (got == 0 || got == ~0U)
			break;
		ASSERT_EQ(vpoll_write(self->fd, DEL | got), 0);
	}
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(WEXITSTATUS(status), 0);
	close(ep);
}

/* Edges and wake-up keys */

TEST_F(vpoll, epollet_edges)
{
	int ep = epoll_with(self->fd, EPOLLIN | EPOLLET);

	ASSERT_GE(ep, 0);
	EXPECT_EQ(epoll_events(ep, 0), 0);
	ASSERT_EQ(vpoll_write(self->fd, ADD | EPOLLIN), 0);
	EXPECT_EQ(epoll_events(ep, 0), EPOLLIN);
	EXPECT_EQ(epoll_events(ep, 0), 0);
	/* Re-asserting a pending event is a new edge. */
	ASSERT_EQ(vpoll_write(self->fd, ADD | EPOLLIN), 0);
	EXPECT_EQ(epoll_events(ep, 0), EPOLLIN);
	ASSERT_EQ(vpoll_write(self->fd, MOD | EPOLLIN), 0);
	EXPECT_EQ(epoll_events(ep, 0), EPOLLIN);
	/* Deleting is no edge. */
	ASSERT_EQ(vpoll_write(self->fd, ADD | EPOLLOUT), 0);
	EXPECT_EQ(epoll_events(ep, 0), 0);
	ASSERT_EQ(vpoll_write(self->fd, DEL | EPOLLOUT), 0);
	EXPECT_EQ(epoll_events(ep, 0), 0);
	ASSERT_EQ(vpoll_write(self->fd, DEL | EPOLLIN), 0);
	EXPECT_EQ(epoll_events(ep, 0), 0);
	ASSERT_EQ(vpoll_write(self->fd, ADD | EPOLLIN), 0);
	EXPECT_EQ(epoll_events(ep, 0), EPOLLIN);
	close(ep);
}

/* The key is what the write asserts, not the whole pending set. */
TEST_F(vpoll, wake_key_is_asserted_events)
{
	int ep = epoll_with(self->fd, EPOLLOUT | EPOLLET);

	ASSERT_GE(ep, 0);
	ASSERT_EQ(vpoll_write(self->fd, ADD | EPOLLOUT), 0);
	EXPECT_EQ(epoll_events(ep, 0), EPOLLOUT);
	/* OUT stays pending; adding IN is no edge for an OUT waiter. */
	ASSERT_EQ(vpoll_write(self->fd, ADD | EPOLLIN), 0);
	EXPECT_EQ(epoll_events(ep, 0), 0);
	/* Deleting IN wakes nobody, though OUT is still pending. */
	ASSERT_EQ(vpoll_write(self->fd, DEL | EPOLLIN), 0);
	EXPECT_EQ(epoll_events(ep, 0), 0);
	/* MOD asserts the whole new set. */
	ASSERT_EQ(vpoll_write(self->fd, MOD | EPOLLIN | EPOLLOUT), 0);
	EXPECT_EQ(epoll_events(ep, 0), EPOLLOUT);
	ASSERT_EQ(vpoll_write(self->fd, MOD | EPOLLIN), 0);
	EXPECT_EQ(epoll_events(ep, 0), 0);
	close(ep);
}

TEST_F(vpoll, epolloneshot_rearm)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT };
	int ep = epoll_with(self->fd, ev.events);

	ASSERT_GE(ep, 0);
	ASSERT_EQ(vpoll_write(self->fd, ADD | EPOLLIN), 0);
	EXPECT_EQ(epoll_events(ep, 0), EPOLLIN);
	ASSERT_EQ(vpoll_write(self->fd, ADD | EPOLLIN), 0);
	EXPECT_EQ(epoll_events(ep, 0), 0);
	ASSERT_EQ(epoll_ctl(ep, EPOLL_CTL_MOD, self->fd, &ev), 0);
	EXPECT_EQ(epoll_events(ep, 0), EPOLLIN);
	EXPECT_EQ(epoll_events(ep, 0), 0);
	close(ep);
}

#define NR_EXCLUSIVE 4

/*
 * Waits in NR_EXCLUSIVE threads, each on its own epoll instance holding the
 * fd with EPOLLEXCLUSIVE | EVENTS, writes REQUEST and returns how many woke.
 */
static int exclusive_woken(struct __test_metadata *_metadata, int fd,
			   unsigned int events, __u64 request)
{
	struct waiter w[NR_EXCLUSIVE];
	int i, woken = 0, tries;

	for (i = 0; i < NR_EXCLUSIVE; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].how = WAIT_EPOLL;
		w[i].timeout_ms = 3000;
		w[i].fd = epoll_with(fd, EPOLLEXCLUSIVE | events);
		if (w[i].fd < 0 || waiter_start(&w[i]))
			return -1;
	}
	if (vpoll_write(fd, request))
		return -1;
	/* Wait for the first, then give the others time to wake too. */
	for (tries = 0; tries < 5000; tries++) {
		for (i = 0, woken = 0; i < NR_EXCLUSIVE; i++)
			woken += atomic_load(&w[i].done);
		if (woken)
			break;
		usleep(1000);
	}
	usleep(SETTLE_MS * 1000);
	for (i = 0, woken = 0; i < NR_EXCLUSIVE; i++)
		woken += atomic_load(&w[i].done) && w[i].ret == 1;
	for (i = 0; i < NR_EXCLUSIVE; i++) {
		pthread_join(w[i].thread, NULL);
		close(w[i].fd);
	}
	return woken;
}

TEST_F(vpoll, epollexclusive_in_wakes_one)
{
	EXPECT_EQ(exclusive_woken(_metadata, self->fd, EPOLLIN, ADD | EPOLLIN), 1);
}

TEST_F(vpoll, epollexclusive_in_out_wakes_all)
{
	EXPECT_EQ(exclusive_woken(_metadata, self->fd, EPOLLIN | EPOLLOUT,
				  ADD | EPOLLIN | EPOLLOUT), NR_EXCLUSIVE);
}

TEST_F(vpoll, nested_epoll)
{
	int inner = epoll_with(self->fd, EPOLLIN);
	struct waiter w = { .how = WAIT_EPOLL, .timeout_ms = 10000 };

	ASSERT_GE(inner, 0);
	w.fd = epoll_with(inner, EPOLLIN);
	ASSERT_GE(w.fd, 0);
	ASSERT_EQ(waiter_start(&w), 0);
	ASSERT_EQ(vpoll_write(self->fd, ADD | EPOLLIN), 0);
	pthread_join(w.thread, NULL);
	EXPECT_EQ(w.ret, 1);
	EXPECT_EQ(w.got, EPOLLIN);
	EXPECT_EQ(epoll_events(inner, 0), EPOLLIN);
	close(w.fd);
	close(inner);
}

/* io_uring */

/* io_uring poll reports EPOLLERR, EPOLLHUP, EPOLLNVAL and EPOLLRDHUP unasked. */
#define URING_ALWAYS (EPOLLERR | EPOLLHUP | EPOLLNVAL | EPOLLRDHUP)

TEST_F(vpoll, io_uring_poll_each_event)
{
	unsigned int bit;

	for (bit = 0; bit < 32; bit++) {
		unsigned int ev = 1U << bit;
		struct io_uring_cqe cqe;
		struct vpoll_ring r;
		int ret;

		if (!in_mask(bit) || ev == EPOLLIN)
			continue;
		ASSERT_EQ(vpoll_ring_init(&r, 8), 0);
		ASSERT_EQ(vpoll_write(self->fd, MOD | ev), 0);
		/* Asked for: reported. */
		ASSERT_EQ(vpoll_ring_poll_add(&r, self->fd, ev, false, 42), 0);
		ASSERT_EQ(vpoll_ring_wait(&r, &cqe, 5000), 0) TH_LOG("bit %u", bit);
		EXPECT_EQ(cqe.res, (int)ev) TH_LOG("bit %u", bit);
		/* Not asked for (only EPOLLIN is): reported if always reported. */
		ASSERT_EQ(vpoll_ring_poll_add(&r, self->fd, EPOLLIN, false, 42), 0);
		ret = vpoll_ring_wait(&r, &cqe, 50);
		if (ev & URING_ALWAYS) {
			EXPECT_EQ(ret, 0) TH_LOG("bit %u", bit);
			EXPECT_EQ(cqe.res, (int)ev) TH_LOG("bit %u", bit);
		} else {
			EXPECT_EQ(ret, -ETIME) TH_LOG("bit %u", bit);
		}
		vpoll_ring_exit(&r);
	}
}

TEST_F(vpoll, io_uring_poll_single_shot)
{
	struct io_uring_cqe cqe;
	struct vpoll_ring r;

	ASSERT_EQ(vpoll_ring_init(&r, 8), 0);
	ASSERT_EQ(vpoll_ring_poll_add(&r, self->fd, EPOLLIN, false, 42), 0);
	EXPECT_EQ(vpoll_ring_wait(&r, &cqe, 100), -ETIME);
	ASSERT_EQ(vpoll_write(self->fd, ADD | EPOLLIN), 0);
	ASSERT_EQ(vpoll_ring_wait(&r, &cqe, 5000), 0);
	EXPECT_EQ(cqe.user_data, 42);
	EXPECT_EQ(cqe.res, EPOLLIN);
	EXPECT_FALSE(cqe.flags & IORING_CQE_F_MORE);
	ASSERT_EQ(vpoll_write(self->fd, ADD | EPOLLIN), 0);
	EXPECT_EQ(vpoll_ring_wait(&r, &cqe, 100), -ETIME);
	vpoll_ring_exit(&r);
}

/*
 * A multishot poll posts a CQE with IORING_CQE_F_MORE per wake-up while the
 * ring has room; wake-ups that come close together may share one CQE.
 */
static void check_multishot_armed(struct __test_metadata *_metadata,
				  struct vpoll_ring *r, int fd, int rounds)
{
	struct io_uring_cqe cqe;
	int i;

	for (i = 0; i < rounds; i++) {
		ASSERT_EQ(vpoll_write(fd, ADD | EPOLLIN), 0);
		ASSERT_EQ(vpoll_ring_wait(r, &cqe, 5000), 0) TH_LOG("round %d", i);
		EXPECT_EQ(cqe.res & EPOLLIN, EPOLLIN) TH_LOG("round %d", i);
		EXPECT_TRUE(cqe.flags & IORING_CQE_F_MORE) TH_LOG("round %d", i);
		ASSERT_EQ(vpoll_write(fd, DEL | EPOLLIN), 0);
		/* Take any CQE a coalesced wake-up left behind. */
		while (vpoll_ring_wait(r, &cqe, 20) == 0)
			EXPECT_TRUE(cqe.flags & IORING_CQE_F_MORE);
	}
}

TEST_F(vpoll, io_uring_poll_multishot)
{
	struct vpoll_ring r;

	ASSERT_EQ(vpoll_ring_init(&r, 8), 0);
	ASSERT_EQ(vpoll_ring_poll_add(&r, self->fd, EPOLLIN, true, 42), 0);
	check_multishot_armed(_metadata, &r, self->fd, 5);
	vpoll_ring_exit(&r);
}

TEST_F(vpoll, io_uring_read_completes_at_once)
{
	struct vpoll_ring r;
	struct io_uring_cqe cqe;
	__u64 value = 0xdeadbeef;
	struct io_uring_sqe sqe = {
		.opcode = IORING_OP_READ,
		.fd = self->fd,
		.addr = (__u64)(uintptr_t)&value,
		.len = sizeof(value),
		.user_data = 7,
	};

	/* self->fd is blocking and its set is empty. */
	ASSERT_EQ(vpoll_ring_init(&r, 8), 0);
	ASSERT_EQ(vpoll_ring_submit(&r, &sqe), 0);
	ASSERT_EQ(vpoll_ring_wait(&r, &cqe, 5000), 0);
	EXPECT_EQ(cqe.res, 8);
	EXPECT_EQ(value, 0);
	ASSERT_EQ(vpoll_write(self->fd, ADD | EPOLLPRI), 0);
	ASSERT_EQ(vpoll_ring_submit(&r, &sqe), 0);
	ASSERT_EQ(vpoll_ring_wait(&r, &cqe, 5000), 0);
	EXPECT_EQ(cqe.res, 8);
	EXPECT_EQ(value, EPOLLPRI);
	vpoll_ring_exit(&r);
}

TEST_F(vpoll, io_uring_register_eventfd_refused)
{
	struct vpoll_ring r;
	int efd = sys_eventfd2(0, 0);

	ASSERT_GE(efd, 0);
	ASSERT_EQ(vpoll_ring_init(&r, 8), 0);
	errno = 0;
	EXPECT_EQ(syscall(__NR_io_uring_register, r.fd, IORING_REGISTER_EVENTFD,
			  &self->fd, 1), -1);
	EXPECT_EQ(errno, EINVAL);
	/* A counting eventfd is accepted, so the refusal is about vpoll. */
	EXPECT_EQ(syscall(__NR_io_uring_register, r.fd, IORING_REGISTER_EVENTFD,
			  &efd, 1), 0);
	vpoll_ring_exit(&r);
	close(efd);
}

/* Writes that would have been kernel commands as wake-up keys. */
TEST_F(vpoll, internal_bits_rejected_pollers_survive)
{
	static const __u64 internal[] = {
		0x4000,		/* POLLFREE */
		0x8000,		/* POLL_BUSY_LOOP */
		1U << 27,	/* EPOLL_URING_WAKE */
		EPOLLEXCLUSIVE, EPOLLWAKEUP, EPOLLONESHOT, EPOLLET,
	};
	int ep = epoll_with(self->fd, EPOLLIN);
	struct vpoll_ring r;
	unsigned int i;

	ASSERT_GE(ep, 0);
	ASSERT_EQ(vpoll_ring_init(&r, 8), 0);
	ASSERT_EQ(vpoll_ring_poll_add(&r, self->fd, EPOLLIN, true, 42), 0);
	for (i = 0; i < ARRAY_SIZE(internal); i++) {
		EXPECT_EQ(vpoll_write(self->fd, ADD | internal[i] | EPOLLIN), -EINVAL);
		EXPECT_EQ(vpoll_write(self->fd, MOD | internal[i]), -EINVAL);
		EXPECT_EQ(vpoll_read(self->fd), 0);
	}
	EXPECT_EQ(epoll_events(ep, 0), 0);
	check_multishot_armed(_metadata, &r, self->fd, 2);
	ASSERT_EQ(vpoll_write(self->fd, ADD | EPOLLIN), 0);
	EXPECT_EQ(epoll_events(ep, 0), EPOLLIN);
	vpoll_ring_exit(&r);
	close(ep);
}

/* Linux AIO */

TEST_F(vpoll, aio_poll_completes)
{
	aio_context_t ctx;
	struct io_event ev;
	struct iocb cb;

	ASSERT_EQ(vpoll_aio_setup(4, &ctx), 0);
	ASSERT_EQ(vpoll_aio_poll(ctx, &cb, self->fd, EPOLLIN, 9), 0);
	ASSERT_EQ(vpoll_write(self->fd, ADD | EPOLLIN), 0);
	ASSERT_EQ(vpoll_aio_getevents(ctx, 1, 1, &ev, 5000), 1);
	EXPECT_EQ(ev.data, 9);
	EXPECT_EQ(ev.res, EPOLLIN);
	vpoll_aio_destroy(ctx);
}

TEST_F(vpoll, aio_resfd_refused)
{
	aio_context_t ctx;
	int pipefd[2], efd = sys_eventfd2(0, 0);
	struct iocb cb = {
		.aio_lio_opcode = IOCB_CMD_POLL,
		.aio_buf = EPOLLIN,
		.aio_flags = IOCB_FLAG_RESFD,
		.aio_resfd = self->fd,
	};

	ASSERT_GE(efd, 0);
	ASSERT_EQ(pipe(pipefd), 0);
	cb.aio_fildes = pipefd[0];
	ASSERT_EQ(vpoll_aio_setup(4, &ctx), 0);
	EXPECT_EQ(vpoll_aio_submit(ctx, &cb), -EINVAL);
	/* A counting eventfd is accepted, so the refusal is about vpoll. */
	cb.aio_resfd = efd;
	EXPECT_EQ(vpoll_aio_submit(ctx, &cb), 0);
	vpoll_aio_destroy(ctx);
	close(pipefd[0]);
	close(pipefd[1]);
	close(efd);
}

/* Descriptors */

TEST_F(vpoll, fdinfo)
{
	int efd = sys_eventfd2(3, 0);

	ASSERT_GE(efd, 0);
	ASSERT_EQ(vpoll_write(self->fd, MOD | EPOLLIN | EPOLLRDHUP), 0);
	EXPECT_EQ(fdinfo_field(self->fd, "eventfd-count", 16), EPOLLIN | EPOLLRDHUP);
	EXPECT_EQ(fdinfo_field(self->fd, "eventfd-vpoll", 10), 1);
	EXPECT_GE(fdinfo_field(self->fd, "eventfd-id", 10), 0);
	EXPECT_EQ(fdinfo_field(efd, "eventfd-count", 16), 3);
	EXPECT_EQ(fdinfo_field(efd, "eventfd-vpoll", 10), 0);
	close(efd);
}

TEST_F(vpoll, scm_rights)
{
	char byte = 'x', cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cmsg;
	int sv[2], received, ep;

	ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &self->fd, sizeof(int));
	ASSERT_EQ(sendmsg(sv[0], &msg, 0), 1);
	memset(cbuf, 0, sizeof(cbuf));
	ASSERT_EQ(recvmsg(sv[1], &msg, 0), 1);
	cmsg = CMSG_FIRSTHDR(&msg);
	ASSERT_NE(cmsg, NULL);
	ASSERT_EQ(cmsg->cmsg_type, SCM_RIGHTS);
	memcpy(&received, CMSG_DATA(cmsg), sizeof(int));
	ASSERT_NE(received, self->fd);

	ep = epoll_with(received, EPOLLPRI);
	ASSERT_GE(ep, 0);
	ASSERT_EQ(vpoll_write(self->fd, ADD | EPOLLPRI), 0);
	EXPECT_EQ(epoll_events(ep, 0), EPOLLPRI);
	ASSERT_EQ(vpoll_write(received, DEL | EPOLLPRI), 0);
	EXPECT_EQ(vpoll_read(self->fd), 0);
	EXPECT_EQ(fdinfo_field(received, "eventfd-vpoll", 10), 1);
	close(ep);
	close(received);
	close(sv[0]);
	close(sv[1]);
}

/*
 * poll and select hold a reference to the file while they wait, so closing
 * the descriptor wakes nobody. At their timeout they look once more and
 * find the descriptor closed: poll reports POLLNVAL, and select counts it
 * as readable (EPOLLNVAL is in all of its sets).
 */
TEST_F(vpoll, close_while_polling)
{
	static const int hows[] = { WAIT_POLL, WAIT_SELECT };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(hows); i++) {
		struct waiter w = { .how = hows[i], .events = EPOLLIN,
				    .timeout_ms = 3 * SETTLE_MS };
		int fd = sys_eventfd2(0, EFD_VPOLL);

		ASSERT_GE(fd, 0);
		w.fd = fd;
		ASSERT_EQ(waiter_start(&w), 0);
		close(fd);
		usleep(SETTLE_MS * 1000);
		EXPECT_EQ(atomic_load(&w.done), 0) TH_LOG("waiter %u", i);
		pthread_join(w.thread, NULL);
		EXPECT_EQ(w.ret, 1) TH_LOG("waiter %u", i);
		EXPECT_EQ(w.got, hows[i] == WAIT_POLL ? POLLNVAL : EPOLLIN)
			TH_LOG("waiter %u", i);
	}
}

/* epoll drops the item on the last close, and only then. */
TEST_F(vpoll, close_while_epolling)
{
	struct waiter w = { .how = WAIT_EPOLL, .timeout_ms = 2 * SETTLE_MS };
	int fd = sys_eventfd2(0, EFD_VPOLL), dupfd;

	ASSERT_GE(fd, 0);
	w.fd = epoll_with(fd, EPOLLIN | EPOLLHUP);
	ASSERT_GE(w.fd, 0);
	ASSERT_EQ(waiter_start(&w), 0);
	close(fd);
	pthread_join(w.thread, NULL);
	EXPECT_EQ(w.ret, 0);
	EXPECT_EQ(epoll_events(w.fd, 0), 0);
	close(w.fd);

	/* With a second descriptor the item stays and still gets events. */
	fd = sys_eventfd2(0, EFD_VPOLL);
	ASSERT_GE(fd, 0);
	dupfd = dup(fd);
	ASSERT_GE(dupfd, 0);
	w.fd = epoll_with(fd, EPOLLIN);
	ASSERT_GE(w.fd, 0);
	close(fd);
	ASSERT_EQ(vpoll_write(dupfd, ADD | EPOLLIN), 0);
	EXPECT_EQ(epoll_events(w.fd, 0), EPOLLIN);
	close(w.fd);
	close(dupfd);
}

TEST_HARNESS_MAIN
