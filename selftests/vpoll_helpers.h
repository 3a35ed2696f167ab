/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the EFD_VPOLL tests: the eventfd2, io_uring and Linux AIO
 * system calls without a library, and one wait of each poll family with
 * what it reports given as event bits.
 *
 * Plain C without kselftest_harness.h, so that programs other than the
 * kselftest can use it too. Define _GNU_SOURCE before including it (ppoll).
 * The functions return 0 (or a count) on success and -errno on failure.
 *
 * Events are EPOLL* values everywhere here, as an EFD_VPOLL eventfd takes
 * them. poll(2), io_uring and aio poll take and report POLL* values, which
 * differ on some architectures (mips, sparc, m68k, xtensa): the helpers
 * convert with vpoll_to_poll() and vpoll_from_poll().
 */
#ifndef __VPOLL_HELPERS_H
#define __VPOLL_HELPERS_H

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#include <linux/aio_abi.h>
#include <linux/eventfd.h>
#include <linux/io_uring.h>
#include <linux/types.h>

/* <sys/epoll.h> lacks it; the value is include/uapi/linux/eventpoll.h's. */
#ifndef EPOLLNVAL
#define EPOLLNVAL	0x00000020
#endif

/* The EPOLL* event bits and the POLL* value of each. */
static const struct {
	unsigned int epoll, poll;
} vpoll_poll_bits[] = {
	{ EPOLLIN, POLLIN }, { EPOLLPRI, POLLPRI }, { EPOLLOUT, POLLOUT },
	{ EPOLLERR, POLLERR }, { EPOLLHUP, POLLHUP }, { EPOLLNVAL, POLLNVAL },
	{ EPOLLRDNORM, POLLRDNORM }, { EPOLLRDBAND, POLLRDBAND },
	{ EPOLLWRNORM, POLLWRNORM }, { EPOLLWRBAND, POLLWRBAND },
	{ EPOLLMSG, POLLMSG }, { EPOLLRDHUP, POLLRDHUP }, { 0, 0 }
};

/* The value of "key:" in /proc/self/fdinfo/FD, parsed in BASE, or -1. */
static inline long long vpoll_fdinfo_field(int fd, const char *key, int base)
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

/* EPOLL* EVENTS as POLL* values (other bits are dropped). */
static inline unsigned int vpoll_to_poll(unsigned int events)
{
	unsigned int i, v = 0;

	for (i = 0; vpoll_poll_bits[i].epoll; i++)
		if (events & vpoll_poll_bits[i].epoll)
			v |= vpoll_poll_bits[i].poll;
	return v;
}

/* POLL* REVENTS as EPOLL* values (other bits are dropped). */
static inline unsigned int vpoll_from_poll(unsigned int revents)
{
	unsigned int i, v = 0;

	for (i = 0; vpoll_poll_bits[i].epoll; i++)
		if (revents & vpoll_poll_bits[i].poll)
			v |= vpoll_poll_bits[i].epoll;
	return v;
}

/* The most descriptors one vpoll_poll(), vpoll_select() or vpoll_epoll_wait() takes. */
#define VPOLL_MAX_FDS	8

static inline int sys_eventfd2(unsigned int count, int flags)
{
	return syscall(__NR_eventfd2, count, flags);
}

/* Writes REQUEST (a command and events): 0, -errno, or -EIO for a short write. */
static inline int vpoll_write(int fd, __u64 request)
{
	ssize_t n = write(fd, &request, sizeof(request));

	if (n < 0)
		return -errno;
	return n == sizeof(request) ? 0 : -EIO;
}

/* The pending set, or ~0 when the read fails. */
static inline __u64 vpoll_read(int fd)
{
	__u64 events;

	if (read(fd, &events, sizeof(events)) != sizeof(events))
		return ~0ULL;
	return events;
}

/*
 * Where thread TID of this process is: *NR gets the number of the system
 * call it sleeps in, or -1 when it runs or sleeps outside one. Returns 0, or
 * -errno when /proc/self/task/TID/syscall cannot be read (-ENOENT without
 * CONFIG_HAVE_ARCH_TRACEHOOK).
 */
static inline int vpoll_task_syscall(pid_t tid, long *nr)
{
	char path[64], buf[32];
	FILE *f;
	int err;

	*nr = -1;
	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (!fgets(buf, sizeof(buf), f)) {
		err = ferror(f) ? -errno : -EIO;
		fclose(f);
		return err;
	}
	fclose(f);
	/* "running", or the number, or -1 outside a system call */
	*nr = buf[0] == '-' || (buf[0] >= '0' && buf[0] <= '9') ?
	      strtol(buf, NULL, 10) : -1;
	return 0;
}

static inline struct timespec vpoll_timespec(int timeout_ms)
{
	struct timespec ts = { .tv_sec = timeout_ms / 1000,
			       .tv_nsec = timeout_ms % 1000 * 1000000L };

	return ts;
}

/*
 * poll() (or ppoll()) on the N descriptors of FDS for EVENTS, for up to
 * TIMEOUT_MS: REVENTS[i] gets the revents of FDS[i]. Returns what poll()
 * returns (the descriptors that reported), or -errno.
 */
static inline int vpoll_poll(const int *fds, int n, unsigned int events,
			     bool use_ppoll, int timeout_ms,
			     unsigned int *revents)
{
	struct timespec ts = vpoll_timespec(timeout_ms);
	struct pollfd p[VPOLL_MAX_FDS];
	int i, ret;

	if (n < 1 || n > VPOLL_MAX_FDS)
		return -EINVAL;
	memset(revents, 0, n * sizeof(*revents));
	for (i = 0; i < n; i++)
		p[i] = (struct pollfd){ .fd = fds[i],
					.events = vpoll_to_poll(events) };
	ret = use_ppoll ? ppoll(p, n, &ts, NULL) : poll(p, n, timeout_ms);
	if (ret < 0)
		return -errno;
	for (i = 0; ret && i < n; i++)
		revents[i] = vpoll_from_poll((unsigned short)p[i].revents);
	return ret;
}

/*
 * select() (or pselect()) on the N descriptors of FDS, each in the read set
 * when EVENTS has EPOLLIN or EPOLLRDNORM, in the write set when it has
 * EPOLLOUT or EPOLLWRNORM and in the exceptional set when it has EPOLLPRI,
 * for up to TIMEOUT_MS. REVENTS[i] gets EPOLLIN, EPOLLOUT and EPOLLPRI for
 * the sets select() leaves FDS[i] in. Returns what select() returns (the
 * bits left set in the three sets), or -errno.
 */
static inline int vpoll_select(const int *fds, int n, unsigned int events,
			       bool use_pselect, int timeout_ms,
			       unsigned int *revents)
{
	struct timespec ts = vpoll_timespec(timeout_ms);
	struct timeval tv = { .tv_sec = timeout_ms / 1000,
			      .tv_usec = timeout_ms % 1000 * 1000 };
	fd_set r, w, e;
	int i, max = -1, ret;

	if (n < 1 || n > VPOLL_MAX_FDS)
		return -EINVAL;
	memset(revents, 0, n * sizeof(*revents));
	FD_ZERO(&r);
	FD_ZERO(&w);
	FD_ZERO(&e);
	for (i = 0; i < n; i++) {
		if (events & (EPOLLIN | EPOLLRDNORM))
			FD_SET(fds[i], &r);
		if (events & (EPOLLOUT | EPOLLWRNORM))
			FD_SET(fds[i], &w);
		if (events & EPOLLPRI)
			FD_SET(fds[i], &e);
		if (fds[i] > max)
			max = fds[i];
	}
	ret = use_pselect ? pselect(max + 1, &r, &w, &e, &ts, NULL) :
			    select(max + 1, &r, &w, &e, &tv);
	if (ret < 0)
		return -errno;
	for (i = 0; ret && i < n; i++)
		revents[i] = (FD_ISSET(fds[i], &r) ? EPOLLIN : 0) |
			     (FD_ISSET(fds[i], &w) ? EPOLLOUT : 0) |
			     (FD_ISSET(fds[i], &e) ? EPOLLPRI : 0);
	return ret;
}

/*
 * A new epoll instance holding the N descriptors of FDS, each for EVENTS
 * (which may carry EPOLLET, EPOLLONESHOT or EPOLLEXCLUSIVE) with its index
 * in FDS as data.u32. Returns the epoll descriptor, or -errno.
 */
static inline int vpoll_epoll_create(const int *fds, int n,
				     unsigned int events)
{
	int ep = epoll_create1(EPOLL_CLOEXEC), i, err;

	if (ep < 0)
		return -errno;
	for (i = 0; i < n; i++) {
		struct epoll_event ev = { .events = events, .data.u32 = i };

		if (epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev)) {
			err = -errno;
			close(ep);
			return err;
		}
	}
	return ep;
}

/*
 * epoll_wait() on EP for up to N events, for up to TIMEOUT_MS: each event is
 * ORed into REVENTS[data.u32], the index vpoll_epoll_create() gave (events
 * with data.u32 >= N are dropped). Returns what epoll_wait() returns, or
 * -errno.
 */
static inline int vpoll_epoll_wait(int ep, int n, int timeout_ms,
				   unsigned int *revents)
{
	struct epoll_event ev[VPOLL_MAX_FDS];
	int i, ret;

	if (n < 1 || n > VPOLL_MAX_FDS)
		return -EINVAL;
	memset(revents, 0, n * sizeof(*revents));
	ret = epoll_wait(ep, ev, n, timeout_ms);
	if (ret < 0)
		return -errno;
	for (i = 0; i < ret; i++)
		if (ev[i].data.u32 < (unsigned int)n)
			revents[ev[i].data.u32] |= ev[i].events;
	return ret;
}

/* io_uring, through its raw system calls */

struct vpoll_ring {
	int fd;
	unsigned int *sq_tail, *sq_mask, *sq_array;
	unsigned int *cq_head, *cq_tail, *cq_mask;
	struct io_uring_sqe *sqes;
	struct io_uring_cqe *cqes;
	void *sq_map, *cq_map;
	size_t sq_len, cq_len, sqes_len;	/* cq_len 0: CQ in sq_map */
};

/*
 * Sets up a ring of ENTRIES and maps it. Returns 0 or -errno; on failure
 * nothing is left open or mapped and R->fd is -1, so vpoll_ring_exit() may
 * be called either way.
 */
static inline int vpoll_ring_init(struct vpoll_ring *r, unsigned int entries)
{
	struct io_uring_params p;
	char *sq, *cq;
	int err;

	memset(&p, 0, sizeof(p));
	memset(r, 0, sizeof(*r));
	r->fd = syscall(__NR_io_uring_setup, entries, &p);
	if (r->fd < 0) {
		r->fd = -1;
		return -errno;
	}
	r->sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned int);
	r->cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	if (p.features & IORING_FEAT_SINGLE_MMAP) {
		if (r->cq_len > r->sq_len)
			r->sq_len = r->cq_len;
		r->cq_len = 0;
	}
	r->sqes_len = p.sq_entries * sizeof(struct io_uring_sqe);

	r->sq_map = mmap(NULL, r->sq_len, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQ_RING);
	if (r->sq_map == MAP_FAILED) {
		err = -errno;
		goto close_fd;
	}
	r->cq_map = r->sq_map;
	if (r->cq_len) {
		r->cq_map = mmap(NULL, r->cq_len, PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_POPULATE, r->fd,
				 IORING_OFF_CQ_RING);
		if (r->cq_map == MAP_FAILED) {
			err = -errno;
			goto unmap_sq;
		}
	}
	r->sqes = mmap(NULL, r->sqes_len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQES);
	if (r->sqes == MAP_FAILED) {
		err = -errno;
		goto unmap_cq;
	}

	sq = r->sq_map;
	cq = r->cq_map;
	r->sq_tail = (unsigned int *)(sq + p.sq_off.tail);
	r->sq_mask = (unsigned int *)(sq + p.sq_off.ring_mask);
	r->sq_array = (unsigned int *)(sq + p.sq_off.array);
	r->cq_head = (unsigned int *)(cq + p.cq_off.head);
	r->cq_tail = (unsigned int *)(cq + p.cq_off.tail);
	r->cq_mask = (unsigned int *)(cq + p.cq_off.ring_mask);
	r->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
	return 0;

unmap_cq:
	if (r->cq_len)
		munmap(r->cq_map, r->cq_len);
unmap_sq:
	munmap(r->sq_map, r->sq_len);
close_fd:
	close(r->fd);
	memset(r, 0, sizeof(*r));
	r->fd = -1;
	return err;
}

static inline void vpoll_ring_exit(struct vpoll_ring *r)
{
	if (r->fd < 0)
		return;
	munmap(r->sqes, r->sqes_len);
	if (r->cq_len)
		munmap(r->cq_map, r->cq_len);
	munmap(r->sq_map, r->sq_len);
	close(r->fd);
	r->fd = -1;
}

/* Queues a copy of *SQE and submits it: 0 or -errno. */
static inline int vpoll_ring_submit(struct vpoll_ring *r,
				    const struct io_uring_sqe *sqe)
{
	unsigned int tail = *r->sq_tail, idx = tail & *r->sq_mask;
	long ret;

	r->sqes[idx] = *sqe;
	r->sq_array[idx] = idx;
	__atomic_store_n(r->sq_tail, tail + 1, __ATOMIC_RELEASE);
	ret = syscall(__NR_io_uring_enter, r->fd, 1, 0, 0, NULL, 0);
	if (ret < 0)
		return -errno;
	return ret == 1 ? 0 : -EAGAIN;
}

/*
 * Submits an IORING_OP_POLL_ADD of FD for EVENTS: 0 or -errno. Its CQE's res
 * holds POLL* values (vpoll_from_poll()).
 */
static inline int vpoll_ring_poll_add(struct vpoll_ring *r, int fd,
				      unsigned int events, bool multishot,
				      __u64 user_data)
{
	struct io_uring_sqe sqe;
	__u32 mask = vpoll_to_poll(events);

	/* The kernel swaps the halves of poll32_events on big-endian. */
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	mask = mask << 16 | mask >> 16;
#endif
	memset(&sqe, 0, sizeof(sqe));
	sqe.opcode = IORING_OP_POLL_ADD;
	sqe.fd = fd;
	sqe.poll32_events = mask;
	sqe.len = multishot ? IORING_POLL_ADD_MULTI : 0;
	sqe.user_data = user_data;
	return vpoll_ring_submit(r, &sqe);
}

/* Takes the oldest CQE into *CQE; returns 1, or 0 when there is none. */
static inline int vpoll_ring_pop(struct vpoll_ring *r,
				 struct io_uring_cqe *cqe)
{
	unsigned int head = *r->cq_head;

	if (head == __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE))
		return 0;
	*cqe = r->cqes[head & *r->cq_mask];
	__atomic_store_n(r->cq_head, head + 1, __ATOMIC_RELEASE);
	return 1;
}

/* Takes one CQE, waiting up to TIMEOUT_MS for it: 0, -ETIME or -errno. */
static inline int vpoll_ring_wait(struct vpoll_ring *r,
				  struct io_uring_cqe *cqe, int timeout_ms)
{
	struct __kernel_timespec ts = {
		.tv_sec = timeout_ms / 1000,
		.tv_nsec = timeout_ms % 1000 * 1000000LL,
	};
	struct io_uring_getevents_arg arg = { .ts = (__u64)(uintptr_t)&ts };

	while (!vpoll_ring_pop(r, cqe))
		if (syscall(__NR_io_uring_enter, r->fd, 0, 1,
			    IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG,
			    &arg, sizeof(arg)) < 0)
			return -errno;
	return 0;
}

/* Linux AIO, through its raw system calls */

static inline int vpoll_aio_setup(unsigned int nr, aio_context_t *ctx)
{
	*ctx = 0;
	return syscall(__NR_io_setup, nr, ctx) ? -errno : 0;
}

static inline void vpoll_aio_destroy(aio_context_t ctx)
{
	syscall(__NR_io_destroy, ctx);
}

/* Submits *CB: 0 or -errno. */
static inline int vpoll_aio_submit(aio_context_t ctx, struct iocb *cb)
{
	struct iocb *cbs[1] = { cb };
	long ret = syscall(__NR_io_submit, ctx, 1, cbs);

	if (ret < 0)
		return -errno;
	return ret == 1 ? 0 : -EAGAIN;
}

/*
 * Fills *CB with an IOCB_CMD_POLL of FD for EVENTS and submits it. Its
 * io_event's res holds POLL* values (vpoll_from_poll()).
 */
static inline int vpoll_aio_poll(aio_context_t ctx, struct iocb *cb, int fd,
				 unsigned int events, __u64 data)
{
	memset(cb, 0, sizeof(*cb));
	cb->aio_lio_opcode = IOCB_CMD_POLL;
	cb->aio_fildes = fd;
	cb->aio_buf = vpoll_to_poll(events);
	cb->aio_data = data;
	return vpoll_aio_submit(ctx, cb);
}

/*
 * Waits up to TIMEOUT_MS for MIN to NR completions: their number, or -errno.
 * Where the architecture has time64 system calls (32-bit ones), the kernel's
 * 64-bit timespec goes to io_pgetevents_time64: the C library's timespec may
 * be either, and rv32 has no io_getevents at all.
 */
static inline int vpoll_aio_getevents(aio_context_t ctx, long min, long nr,
				      struct io_event *events, int timeout_ms)
{
#ifdef __NR_io_pgetevents_time64
	struct __kernel_timespec ts = { .tv_sec = timeout_ms / 1000,
					.tv_nsec = timeout_ms % 1000 * 1000000L };
	long ret = syscall(__NR_io_pgetevents_time64, ctx, min, nr, events,
			   &ts, NULL);
#else
	struct timespec ts = vpoll_timespec(timeout_ms);
	long ret = syscall(__NR_io_getevents, ctx, min, nr, events, &ts);
#endif

	return ret < 0 ? -errno : ret;
}

#endif /* __VPOLL_HELPERS_H */
