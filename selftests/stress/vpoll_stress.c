// SPDX-License-Identifier: GPL-2.0
/*
 * vpoll_stress: reliability tests for EFD_VPOLL, meant for the debug kernel
 * (lockdep, KASAN, kmemleak) booted by scripts/vm-run-debug.
 *
 *   vpoll_stress stress   [--seconds N] [--writers N] [--seed S]
 *   vpoll_stress pingpong [--count N] [--max-seconds N] [--family NAME] [--timeout-ms N]
 *   vpoll_stress badinput [--fuzz N] [--seed S]
 *   vpoll_stress hygiene  [--fds N] [--batch N]
 *
 * VPOLL_STRESS_SECONDS, _COUNT, _FUZZ and _FDS in the environment override the
 * options (the long runs). Output is TAP; the exit status is 0 when every check passed, 1 otherwise,
 * 77 when the kernel has no EFD_VPOLL. Builds for x86_64 and, static, i386.
 */

#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
/* <fcntl.h> clashes with <linux/fcntl.h>, which <linux/eventfd.h> includes. */
extern int fcntl(int fd, int cmd, ...);
#include <linux/aio_abi.h>
#include <linux/eventfd.h>
#include <linux/io_uring.h>

#ifndef EPOLLNVAL
#define EPOLLNVAL	0x00000020
#endif

#define ADD	EFD_VPOLL_ADDEVENTS
#define DEL	EFD_VPOLL_DELEVENTS
#define MOD	EFD_VPOLL_MODEVENTS
#define MASK	((uint32_t)EFD_VPOLL_EVENTMASK)

/* ---------------------------------------------------------------- helpers */

static int tap_n;
static int tap_failed;

static void tap_result(int ok, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", ok ? "" : "not ", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!ok)
		tap_failed = 1;
}

static void note(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int sys_eventfd2(unsigned int count, int flags)
{
	return syscall(__NR_eventfd2, count, flags);
}

/* 0 or -errno; -EIO for a short write. */
static int vw(int fd, uint64_t req)
{
	ssize_t n = write(fd, &req, sizeof(req));

	if (n < 0)
		return -errno;
	return n == sizeof(req) ? 0 : -EIO;
}

/* The pending set, or ~0 on failure. */
static uint64_t vr(int fd)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return ~0ULL;
	return v;
}

/* xorshift64*: seeded, reproducible. */
static uint64_t rnd_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int have_vpoll(void)
{
	int fd = sys_eventfd2(0, EFD_VPOLL);

	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

/* ------------------------------------------------- io_uring, raw syscalls */

struct ring {
	int fd;
	unsigned int *sq_tail, *sq_mask, *sq_array;
	unsigned int *cq_head, *cq_tail, *cq_mask;
	struct io_uring_sqe *sqes;
	struct io_uring_cqe *cqes;
	void *sq_map, *cq_map;
	size_t sq_len, cq_len, sqe_len;
};

static int ring_init(struct ring *r, unsigned int entries)
{
	struct io_uring_params p;
	char *sq, *cq;

	memset(&p, 0, sizeof(p));
	memset(r, 0, sizeof(*r));
	r->fd = syscall(__NR_io_uring_setup, entries, &p);
	if (r->fd < 0)
		return -1;
	r->sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned int);
	r->cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	if (p.features & IORING_FEAT_SINGLE_MMAP) {
		if (r->cq_len > r->sq_len)
			r->sq_len = r->cq_len;
		r->cq_len = 0;
	}
	r->sq_map = mmap(NULL, r->sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
			 r->fd, IORING_OFF_SQ_RING);
	if (r->sq_map == MAP_FAILED)
		goto fail;
	if (r->cq_len) {
		r->cq_map = mmap(NULL, r->cq_len, PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_CQ_RING);
		if (r->cq_map == MAP_FAILED) {
			munmap(r->sq_map, r->sq_len);
			goto fail;
		}
	} else {
		r->cq_map = r->sq_map;
	}
	r->sqe_len = p.sq_entries * sizeof(struct io_uring_sqe);
	r->sqes = mmap(NULL, r->sqe_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
		       r->fd, IORING_OFF_SQES);
	if (r->sqes == MAP_FAILED) {
		munmap(r->sq_map, r->sq_len);
		if (r->cq_len)
			munmap(r->cq_map, r->cq_len);
		goto fail;
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
fail:
	close(r->fd);
	r->fd = -1;
	return -1;
}

static void ring_exit(struct ring *r)
{
	if (r->fd < 0)
		return;
	munmap(r->sqes, r->sqe_len);
	if (r->cq_len)
		munmap(r->cq_map, r->cq_len);
	munmap(r->sq_map, r->sq_len);
	close(r->fd);
	r->fd = -1;
}

/* Queues and submits one POLL_ADD; 0 or -1. */
static int ring_poll_add(struct ring *r, int fd, uint32_t events, int multishot, uint64_t data)
{
	unsigned int tail = *r->sq_tail, idx = tail & *r->sq_mask;
	struct io_uring_sqe *sqe = &r->sqes[idx];

	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = IORING_OP_POLL_ADD;
	sqe->fd = fd;
	sqe->poll32_events = events;
	sqe->len = multishot ? IORING_POLL_ADD_MULTI : 0;
	sqe->user_data = data;
	r->sq_array[idx] = idx;
	__atomic_store_n(r->sq_tail, tail + 1, __ATOMIC_RELEASE);
	return syscall(__NR_io_uring_enter, r->fd, 1, 0, 0, NULL, 0) == 1 ? 0 : -1;
}

/* Waits for at least one CQE for up to timeout_ms; 0, or -1 with errno (ETIME). */
static int ring_wait(struct ring *r, int timeout_ms)
{
	struct __kernel_timespec ts = { timeout_ms / 1000, (timeout_ms % 1000) * 1000000LL };
	struct io_uring_getevents_arg arg;

	if (__atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE) != *r->cq_head)
		return 0;
	memset(&arg, 0, sizeof(arg));
	arg.sigmask_sz = _NSIG / 8;
	arg.ts = (uint64_t)(uintptr_t)&ts;
	if (syscall(__NR_io_uring_enter, r->fd, 0, 1,
		    IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, &arg, sizeof(arg)) < 0)
		return -1;
	return 0;
}

/* Pops one CQE into *cqe; 1 if there was one. */
static int ring_pop(struct ring *r, struct io_uring_cqe *cqe)
{
	unsigned int head = *r->cq_head;

	if (head == __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE))
		return 0;
	*cqe = r->cqes[head & *r->cq_mask];
	__atomic_store_n(r->cq_head, head + 1, __ATOMIC_RELEASE);
	return 1;
}

/* ------------------------------------------------------------ aio, raw */

static int aio_setup(unsigned int nr, aio_context_t *ctx)
{
	*ctx = 0;
	return syscall(__NR_io_setup, nr, ctx);
}

static int aio_destroy(aio_context_t ctx)
{
	return syscall(__NR_io_destroy, ctx);
}

static int aio_poll_submit(aio_context_t ctx, struct iocb *cb, int fd, uint32_t events,
			   uint64_t data)
{
	struct iocb *cbs[1] = { cb };

	memset(cb, 0, sizeof(*cb));
	cb->aio_lio_opcode = IOCB_CMD_POLL;
	cb->aio_fildes = fd;
	cb->aio_buf = events;
	cb->aio_data = data;
	return syscall(__NR_io_submit, ctx, 1, cbs) == 1 ? 0 : -1;
}

/* ------------------------------------------------ one waiter, any family */

enum family {
	F_POLL, F_PPOLL, F_SELECT, F_PSELECT, F_EPOLL_LT, F_EPOLL_ET, F_EPOLL_ONESHOT,
	F_EPOLL_EXCL, F_URING, F_URING_MULTI, F_AIO, NFAMILIES
};

static const char *const family_name[NFAMILIES] = {
	"poll", "ppoll", "select", "pselect", "epoll", "epoll-et", "epoll-oneshot",
	"epoll-exclusive", "io_uring", "io_uring-multishot", "aio",
};

#define MAXW	8	/* fds one waitset watches */

struct waitset {
	enum family fam;
	int n, fds[MAXW];
	uint32_t ev;
	int epfd;
	struct ring ring;
	aio_context_t actx;
	struct iocb cbs[MAXW];
	int rearm[MAXW];	/* single-shot families: arm again at the next wait */
};

static int ws_open(struct waitset *w, enum family fam, const int *fds, int n, uint32_t ev)
{
	int i;

	memset(w, 0, sizeof(*w));
	w->fam = fam;
	w->n = n;
	w->ev = ev;
	w->epfd = -1;
	w->ring.fd = -1;
	memcpy(w->fds, fds, n * sizeof(int));
	switch (fam) {
	case F_EPOLL_LT: case F_EPOLL_ET: case F_EPOLL_ONESHOT: case F_EPOLL_EXCL:
		w->epfd = epoll_create1(EPOLL_CLOEXEC);
		if (w->epfd < 0)
			return -1;
		for (i = 0; i < n; i++) {
			struct epoll_event e = { .events = ev, .data.u32 = i };

			if (fam == F_EPOLL_ET)
				e.events |= EPOLLET;
			else if (fam == F_EPOLL_ONESHOT)
				e.events |= EPOLLONESHOT;
			else if (fam == F_EPOLL_EXCL)
				e.events |= EPOLLEXCLUSIVE;
			if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fds[i], &e))
				return -1;
		}
		return 0;
	case F_URING: case F_URING_MULTI:
		if (ring_init(&w->ring, 16))
			return -1;
		for (i = 0; i < n; i++)
			if (ring_poll_add(&w->ring, fds[i], ev, fam == F_URING_MULTI, i))
				return -1;
		return 0;
	case F_AIO:
		if (aio_setup(2 * MAXW, &w->actx))
			return -1;
		for (i = 0; i < n; i++)
			if (aio_poll_submit(w->actx, &w->cbs[i], fds[i], ev, i))
				return -1;
		return 0;
	default:
		return 0;
	}
}

static void ws_close(struct waitset *w)
{
	if (w->epfd >= 0)
		close(w->epfd);
	w->epfd = -1;
	ring_exit(&w->ring);
	if (w->actx)
		aio_destroy(w->actx);
	w->actx = 0;
}

/* One wait of ws_wait(); -1 with EINTR when interrupted. */
static int ws_wait_once(struct waitset *w, int timeout_ms, uint32_t *rev)
{
	int i, r = 0;

	memset(rev, 0, w->n * sizeof(*rev));
	switch (w->fam) {
	case F_POLL: case F_PPOLL: {
		struct pollfd p[MAXW];
		struct timespec ts = { timeout_ms / 1000, (timeout_ms % 1000) * 1000000L };

		for (i = 0; i < w->n; i++)
			p[i] = (struct pollfd){ .fd = w->fds[i], .events = w->ev };
		r = w->fam == F_POLL ? poll(p, w->n, timeout_ms) : ppoll(p, w->n, &ts, NULL);
		for (i = 0; r > 0 && i < w->n; i++)
			rev[i] = p[i].revents;
		return r;
	}
	case F_SELECT: case F_PSELECT: {
		fd_set rs, ws, es;
		struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
		struct timespec ts = { timeout_ms / 1000, (timeout_ms % 1000) * 1000000L };
		int max = -1;

		FD_ZERO(&rs);
		FD_ZERO(&ws);
		FD_ZERO(&es);
		for (i = 0; i < w->n; i++) {
			if (w->ev & (EPOLLIN | EPOLLRDNORM))
				FD_SET(w->fds[i], &rs);
			if (w->ev & (EPOLLOUT | EPOLLWRNORM))
				FD_SET(w->fds[i], &ws);
			if (w->ev & EPOLLPRI)
				FD_SET(w->fds[i], &es);
			if (w->fds[i] > max)
				max = w->fds[i];
		}
		r = w->fam == F_SELECT ? select(max + 1, &rs, &ws, &es, &tv) :
					 pselect(max + 1, &rs, &ws, &es, &ts, NULL);
		if (r <= 0)
			return r;
		r = 0;
		for (i = 0; i < w->n; i++) {
			rev[i] = (FD_ISSET(w->fds[i], &rs) ? EPOLLIN : 0) |
				 (FD_ISSET(w->fds[i], &ws) ? EPOLLOUT : 0) |
				 (FD_ISSET(w->fds[i], &es) ? EPOLLPRI : 0);
			r += !!rev[i];
		}
		return r;
	}
	case F_EPOLL_LT: case F_EPOLL_ET: case F_EPOLL_ONESHOT: case F_EPOLL_EXCL: {
		struct epoll_event e[MAXW];

		for (i = 0; i < w->n; i++) {
			struct epoll_event m = { .events = w->ev | EPOLLONESHOT, .data.u32 = i };

			if (w->rearm[i] && epoll_ctl(w->epfd, EPOLL_CTL_MOD, w->fds[i], &m))
				return -1;
			w->rearm[i] = 0;
		}
		r = epoll_wait(w->epfd, e, w->n, timeout_ms);
		for (i = 0; i < r; i++) {
			rev[e[i].data.u32] |= e[i].events;
			if (w->fam == F_EPOLL_ONESHOT)
				w->rearm[e[i].data.u32] = 1;
		}
		return r;
	}
	case F_URING: case F_URING_MULTI: {
		struct io_uring_cqe cqe;

		for (i = 0; i < w->n; i++) {
			if (w->rearm[i] && ring_poll_add(&w->ring, w->fds[i], w->ev,
							 w->fam == F_URING_MULTI, i))
				return -1;
			w->rearm[i] = 0;
		}
		if (ring_wait(&w->ring, timeout_ms))
			return errno == ETIME ? 0 : -1;
		while (ring_pop(&w->ring, &cqe)) {
			if (cqe.user_data >= (uint64_t)w->n)
				continue;
			if (cqe.res < 0) {
				errno = -cqe.res;
				return -1;
			}
			if (!rev[cqe.user_data])
				r++;
			rev[cqe.user_data] |= cqe.res;
			if (!(cqe.flags & IORING_CQE_F_MORE))
				w->rearm[cqe.user_data] = 1;
		}
		return r;
	}
	case F_AIO: {
		struct io_event e[MAXW];
		struct timespec ts = { timeout_ms / 1000, (timeout_ms % 1000) * 1000000L };

		for (i = 0; i < w->n; i++) {
			if (w->rearm[i] && aio_poll_submit(w->actx, &w->cbs[i], w->fds[i], w->ev, i))
				return -1;
			w->rearm[i] = 0;
		}
		r = syscall(__NR_io_getevents, w->actx, 1, w->n, e, &ts);
		if (r < 0)
			return -1;
		for (i = 0; i < r; i++) {
			if (e[i].data >= (uint64_t)w->n)
				continue;
			if ((int64_t)e[i].res < 0) {
				errno = -(int)e[i].res;
				return -1;
			}
			rev[e[i].data] |= e[i].res;
			w->rearm[e[i].data] = 1;
		}
		return r;
	}
	default:
		errno = EINVAL;
		return -1;
	}
}

/*
 * Waits up to timeout_ms; fills rev[i] (for select: EPOLLIN readable, EPOLLOUT
 * writable, EPOLLPRI exceptional). Returns how many fds reported, 0 on timeout,
 * -1 on error (errno). EINTR comes without any signal handler: a completion for an
 * io_uring request this thread submitted is task work (TIF_NOTIFY_SIGNAL), which
 * interrupts whatever blocking call the thread is in; so it waits again.
 */
static int ws_wait(struct waitset *w, int timeout_ms, uint32_t *rev)
{
	int r;

	do
		r = ws_wait_once(w, timeout_ms, rev);
	while (r < 0 && errno == EINTR);
	return r;
}

/* ------------------------------------------------------------ stress */

#define NFD		4
#define MODFD		(NFD - 1)
#define MODFD_ALLOWED	(EPOLLIN | EPOLLPRI | EPOLLOUT | EPOLLRDNORM | EPOLLWRNORM | EPOLLMSG)
#define MAXWRITERS	16

enum op { OP_WRITE, OP_READ, OP_WAIT, OP_WAKE, OP_TIMEOUT, OP_CHURN, OP_FORK, NOPS };
static const char *const op_name[NOPS] = {
	"writes", "reads", "waits", "wakeups", "wait-timeouts", "churn", "forks",
};

struct shared {
	atomic_int stop;		/* writers, readers, churn stop */
	atomic_int phase;		/* 0 run, 1 final wake-up, 2 leave */
	atomic_int armed, final_ok, final_bad;
	atomic_int writers_done, churn_done;
	atomic_ullong ever[NFD];	/* every bit some write asserted */
	atomic_ullong own_final[MAXWRITERS][NFD];
	atomic_llong ops[NOPS];
	atomic_llong fam_wakeups[NFAMILIES];
	atomic_llong errors;
};

static struct shared *sh;
static int sfds[NFD];
static int nwriters = 4;	/* both processes together */

static void fail(const char *fmt, ...)
{
	va_list ap;

	if (atomic_fetch_add(&sh->errors, 1) < 20) {
		fprintf(stdout, "# ERROR [pid %d]: ", getpid());
		va_start(ap, fmt);
		vfprintf(stdout, fmt, ap);
		va_end(ap);
		fprintf(stdout, "\n");
		fflush(stdout);
	}
}

static uint32_t allowed(int j)
{
	return j == MODFD ? MODFD_ALLOWED : MASK;
}

/* Bits of the owned fds that writer w alone adds and deletes. */
static uint32_t own_bits(int w)
{
	uint32_t bits = 0;
	int i = 0, b;

	for (b = 0; b < 32; b++)
		if (MASK & (1u << b) && i++ % nwriters == w)
			bits |= 1u << b;
	return bits;
}

static void check_value(int j, uint64_t v, const char *who)
{
	uint64_t ever = atomic_load(&sh->ever[j]);

	if (v == ~0ULL)
		fail("%s: read of fd %d failed: %s", who, j, strerror(errno));
	else if (v & ~(uint64_t)allowed(j))
		fail("%s: fd %d read %#llx, outside %#x", who, j, (unsigned long long)v, allowed(j));
	else if (v & ~ever)
		fail("%s: fd %d read %#llx, never set (ever %#llx)", who, j,
		     (unsigned long long)v, (unsigned long long)ever);
}

struct writer_arg { int w; uint64_t seed; };

static void *writer(void *p)
{
	struct writer_arg *a = p;
	uint32_t mine = own_bits(a->w), local[NFD] = { 0 };
	uint64_t s = a->seed;
	long long n = 0, reads = 0;
	int j, e;

	while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
		uint64_t r = rnd_next(&s), cmd;
		uint32_t bits;

		j = r % NFD;
		if (j != MODFD) {
			bits = mine & (uint32_t)(r >> 8);
			cmd = (r >> 40) & 1 ? ADD : DEL;
			if (cmd == ADD) {
				atomic_fetch_or(&sh->ever[j], bits);
				local[j] |= bits;
			} else {
				local[j] &= ~bits;
			}
		} else {
			bits = MODFD_ALLOWED & (uint32_t)(r >> 8);
			cmd = ((r >> 40) % 3 + 1) << 32;
			if (cmd != DEL)
				atomic_fetch_or(&sh->ever[j], bits);
		}
		e = vw(sfds[j], cmd | bits);
		if (e)
			fail("writer %d: write %#llx to fd %d: %s", a->w,
			     (unsigned long long)(cmd | bits), j, strerror(-e));
		n++;
		if ((r >> 48) % 4 == 0) {
			check_value(j, vr(sfds[j]), "writer");
			reads++;
		}
	}
	for (j = 0; j < NFD; j++)
		atomic_store(&sh->own_final[a->w][j], local[j]);
	atomic_fetch_add(&sh->ops[OP_WRITE], n);
	atomic_fetch_add(&sh->ops[OP_READ], reads);
	atomic_fetch_add(&sh->writers_done, 1);
	return NULL;
}

static void *reader(void *p)
{
	long long n = 0;
	int j;

	(void)p;
	while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
		for (j = 0; j < NFD; j++)
			check_value(j, vr(sfds[j]), "reader");
		n += NFD;
	}
	atomic_fetch_add(&sh->ops[OP_READ], n);
	return NULL;
}

/* What a family may report for a pending set: checks rev against the bits ever set. */
static void check_rev(enum family fam, int j, uint32_t rev)
{
	uint64_t ever = atomic_load(&sh->ever[j]);

	if (fam == F_SELECT || fam == F_PSELECT) {
		if ((rev & EPOLLIN) && !(ever & (EPOLLIN | EPOLLRDNORM | EPOLLRDBAND | EPOLLERR |
						 EPOLLHUP | EPOLLNVAL)))
			fail("%s: fd %d readable, nothing readable was set", family_name[fam], j);
		if ((rev & EPOLLOUT) && !(ever & (EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND | EPOLLERR |
						  EPOLLNVAL)))
			fail("%s: fd %d writable, nothing writable was set", family_name[fam], j);
		if ((rev & EPOLLPRI) && !(ever & (EPOLLPRI | EPOLLNVAL)))
			fail("%s: fd %d exceptional, nothing such was set", family_name[fam], j);
		return;
	}
	if (rev & ~ever)
		fail("%s: fd %d reported %#x, never set (ever %#llx)", family_name[fam], j, rev,
		     (unsigned long long)ever);
}

static void *waiter(void *p)
{
	enum family fam = (enum family)(intptr_t)p;
	/* EPOLLEXCLUSIVE takes only EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP. */
	uint32_t ev = fam == F_EPOLL_EXCL ? EPOLLIN | EPOLLOUT :
		      EPOLLIN | EPOLLPRI | EPOLLOUT | EPOLLRDHUP | EPOLLMSG;
	uint32_t rev[NFD];
	struct waitset w;
	long long waits = 0, wakes = 0, timeouts = 0;
	int i, r;

	if (ws_open(&w, fam, sfds, NFD, ev)) {
		fail("%s: setup: %s", family_name[fam], strerror(errno));
		ws_close(&w);
		return NULL;
	}
	while (atomic_load(&sh->phase) == 0) {
		r = ws_wait(&w, 100, rev);
		waits++;
		if (r < 0) {
			fail("%s: wait: %s", family_name[fam], strerror(errno));
			break;
		}
		if (r == 0) {
			timeouts++;
			continue;
		}
		wakes++;
		for (i = 0; i < NFD; i++)
			if (rev[i])
				check_rev(fam, i, rev[i]);
	}
	ws_close(&w);
	atomic_fetch_add(&sh->ops[OP_WAIT], waits);
	atomic_fetch_add(&sh->ops[OP_WAKE], wakes);
	atomic_fetch_add(&sh->ops[OP_TIMEOUT], timeouts);
	atomic_fetch_add(&sh->fam_wakeups[fam], wakes);

	/* Final phase: every fd is empty; wait for EPOLLIN, which the controller asserts. */
	while (atomic_load(&sh->phase) == 0)
		sleep_ms(10);
	if (ws_open(&w, fam, sfds, NFD, EPOLLIN)) {
		fail("%s: final setup: %s", family_name[fam], strerror(errno));
		atomic_fetch_add(&sh->final_bad, 1);
		atomic_fetch_add(&sh->armed, 1);
		ws_close(&w);
		return NULL;
	}
	atomic_fetch_add(&sh->armed, 1);
	r = ws_wait(&w, 60000, rev);
	if (r > 0 && ((rev[0] | rev[1] | rev[2] | rev[3]) & EPOLLIN)) {
		atomic_fetch_add(&sh->final_ok, 1);
	} else {
		fail("%s: final wait for a pending EPOLLIN returned %d (%s)", family_name[fam], r,
		     r < 0 ? strerror(errno) : "timeout or wrong event");
		atomic_fetch_add(&sh->final_bad, 1);
	}
	ws_close(&w);
	return NULL;
}

static void *close_while_polling(void *p)
{
	int fd = (int)(intptr_t)p;
	struct pollfd pf = { .fd = fd, .events = EPOLLMSG };

	if (poll(&pf, 1, 50) < 0 && errno != EINTR)
		fail("churn: poll on an fd being closed: %s", strerror(errno));
	return NULL;
}

static void *churn(void *p)
{
	uint64_t s = (uintptr_t)p;
	long long n = 0, forks = 0;

	while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
		uint64_t r = rnd_next(&s);
		int j = r % NFD, fd, fd2, ep;
		struct epoll_event e = { .events = EPOLLIN };
		pthread_t t;

		switch ((r >> 8) % 5) {
		case 0:	/* dup, poll on the dup, close it under the poller */
			fd = dup(sfds[j]);
			if (fd < 0 || pthread_create(&t, NULL, close_while_polling,
						     (void *)(intptr_t)fd)) {
				fail("churn: dup/thread: %s", strerror(errno));
				break;
			}
			sleep_ms(1);
			close(fd);
			pthread_join(t, NULL);
			break;
		case 1:	/* a new vpoll fd in epoll, closed while epoll_wait sleeps */
			fd = sys_eventfd2(EPOLLOUT, EFD_VPOLL | EFD_CLOEXEC);
			ep = epoll_create1(EPOLL_CLOEXEC);
			fd2 = dup(sfds[j]);
			if (fd < 0 || ep < 0 || fd2 < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) ||
			    epoll_ctl(ep, EPOLL_CTL_ADD, fd2, &e)) {
				fail("churn: epoll setup: %s", strerror(errno));
			} else {
				struct epoll_event out[2];

				close(fd);
				fd = -1;
				if (epoll_wait(ep, out, 2, 1) < 0 && errno != EINTR)
					fail("churn: epoll_wait: %s", strerror(errno));
				close(fd2);
				fd2 = -1;
			}
			if (fd >= 0)
				close(fd);
			if (fd2 >= 0)
				close(fd2);
			if (ep >= 0)
				close(ep);
			break;
		case 2: {	/* io_uring and aio polls armed on a dup, which is closed first */
			struct ring ring;
			aio_context_t ctx;
			struct iocb cb;

			fd = dup(sfds[j]);
			if (fd < 0 || ring_init(&ring, 4)) {
				fail("churn: io_uring: %s", strerror(errno));
				if (fd >= 0)
					close(fd);
				break;
			}
			if (ring_poll_add(&ring, fd, EPOLLMSG, r & 1, 1))
				fail("churn: io_uring poll: %s", strerror(errno));
			if (aio_setup(4, &ctx) || aio_poll_submit(ctx, &cb, fd, EPOLLMSG, 1))
				fail("churn: aio poll: %s", strerror(errno));
			close(fd);
			ring_exit(&ring);
			aio_destroy(ctx);
			break;
		}
		case 3: {	/* fork: the child writes the MOD fd, reads, closes, exits */
			pid_t pid = fork();
			int st, k;

			if (pid == 0) {
				int bad = 0;

				for (k = 0; k < 20; k++) {
					uint32_t bits = MODFD_ALLOWED & (uint32_t)rnd_next(&s);

					atomic_fetch_or(&sh->ever[MODFD], bits);
					bad |= vw(sfds[MODFD], ADD | bits) != 0;
					bad |= (vr(sfds[k % NFD]) & ~(uint64_t)allowed(k % NFD)) != 0;
				}
				for (k = 0; k < NFD; k++)
					close(sfds[k]);
				_exit(bad);
			}
			if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
			    WEXITSTATUS(st))
				fail("churn: fork child failed (%s)", strerror(errno));
			forks++;
			break;
		}
		default:	/* fcntl/dup2 churn on a shared fd */
			fd = fcntl(sfds[j], F_DUPFD_CLOEXEC, 100);
			if (fd < 0) {
				fail("churn: F_DUPFD: %s", strerror(errno));
				break;
			}
			check_value(j, vr(fd), "churn");
			close(fd);
			break;
		}
		n++;
	}
	atomic_fetch_add(&sh->ops[OP_CHURN], n);
	atomic_fetch_add(&sh->ops[OP_FORK], forks);
	atomic_fetch_add(&sh->churn_done, 1);
	return NULL;
}

/* The threads of one process: its writers, a reader, a waiter per family, churn. */
static void run_process(int proc, int wpp, uint64_t seed, pthread_t *t, int *nt,
			struct writer_arg *wa)
{
	int i;

	for (i = 0; i < wpp; i++) {
		wa[i].w = proc * wpp + i;
		wa[i].seed = seed ^ (0x9E3779B97F4A7C15ULL * (wa[i].w + 1));
		pthread_create(&t[(*nt)++], NULL, writer, &wa[i]);
	}
	pthread_create(&t[(*nt)++], NULL, reader, NULL);
	for (i = 0; i < NFAMILIES; i++)
		pthread_create(&t[(*nt)++], NULL, waiter, (void *)(intptr_t)i);
	pthread_create(&t[(*nt)++], NULL, churn, (void *)(uintptr_t)(seed * 31 + proc + 1));
}

static int wait_count(atomic_int *v, int want, int seconds)
{
	double end = now() + seconds;

	while (atomic_load(v) < want)
		if (now() > end)
			return -1;
		else
			sleep_ms(5);
	return 0;
}

static int cmd_stress(int seconds, int wpp, uint64_t seed)
{
	pthread_t t[64];
	struct writer_arg wa[MAXWRITERS];
	int nt = 0, i, j, nwaiters = 2 * NFAMILIES, st, adds = 0;
	uint64_t expect, v;
	double t0, elapsed;
	long long total = 0;
	pid_t child;
	int ok;

	nwriters = 2 * wpp;
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return 1;
	for (j = 0; j < NFD; j++) {
		sfds[j] = sys_eventfd2(0, EFD_VPOLL | EFD_CLOEXEC);
		if (sfds[j] < 0)
			return 1;
	}
	printf("1..4\n");
	note("stress: %d s, 2 processes x (%d writers, 1 reader, %d waiters, 1 churn) = %d threads, "
	     "%d shared vpoll fds, seed %" PRIu64 ", %ld CPUs online", seconds, wpp, NFAMILIES,
	     2 * (wpp + 2 + NFAMILIES), NFD, seed, sysconf(_SC_NPROCESSORS_ONLN));

	t0 = now();
	child = fork();
	if (child < 0)
		return 1;
	run_process(child == 0, wpp, seed, t, &nt, wa);
	if (child == 0) {
		for (i = 0; i < nt; i++)
			pthread_join(t[i], NULL);
		_exit(0);
	}

	sleep_ms(seconds * 1000);
	atomic_store(&sh->stop, 1);
	ok = !wait_count(&sh->writers_done, nwriters, 120) &&
	     !wait_count(&sh->churn_done, 2, 120);
	elapsed = now() - t0;
	tap_result(ok && !atomic_load(&sh->errors),
		   "concurrent phase: values in the mask, waiters saw events that were set");

	/* The writers stopped: each owned fd holds exactly the owners' last bits. */
	ok = 1;
	for (j = 0; j < NFD; j++) {
		if (j == MODFD)
			continue;
		expect = 0;
		for (i = 0; i < nwriters; i++)
			expect |= atomic_load(&sh->own_final[i][j]);
		v = vr(sfds[j]);
		if (v != expect) {
			fail("fd %d: final set %#llx, the writers' last writes make %#llx", j,
			     (unsigned long long)v, (unsigned long long)expect);
			ok = 0;
		}
	}
	if (vw(sfds[MODFD], MOD | EPOLLOUT | EPOLLMSG) || vr(sfds[MODFD]) != (EPOLLOUT | EPOLLMSG) ||
	    vw(sfds[MODFD], ADD | EPOLLIN) || vr(sfds[MODFD]) != (EPOLLOUT | EPOLLMSG | EPOLLIN) ||
	    vw(sfds[MODFD], DEL | EPOLLMSG) || vr(sfds[MODFD]) != (EPOLLOUT | EPOLLIN)) {
		fail("MOD fd: the final MOD/ADD/DEL sequence did not give its set");
		ok = 0;
	}
	tap_result(ok, "final sets equal what the last writes make them");

	/* Every waiter, re-armed on empty fds, returns when EPOLLIN is asserted. */
	for (j = 0; j < NFD; j++)
		if (vw(sfds[j], MOD | 0))
			fail("final MOD 0 on fd %d: %s", j, strerror(errno));
	atomic_store(&sh->phase, 1);
	ok = !wait_count(&sh->armed, nwaiters, 60);
	sleep_ms(300);
	{
		double end = now() + 60;

		/* EPOLLEXCLUSIVE wakes one or more of its waiters per event: assert again. */
		while (atomic_load(&sh->final_ok) + atomic_load(&sh->final_bad) < nwaiters &&
		       now() < end) {
			for (j = 0; j < NFD; j++)
				if (vw(sfds[j], ADD | EPOLLIN))
					fail("final ADD EPOLLIN on fd %d: %s", j, strerror(errno));
			adds++;
			sleep_ms(50);
		}
	}
	tap_result(ok && atomic_load(&sh->final_ok) == nwaiters && !atomic_load(&sh->final_bad),
		   "all %d waiters (2 per family) returned for the pending event "
		   "(%d/%d ok, %d assertions)", nwaiters, atomic_load(&sh->final_ok), nwaiters, adds);
	atomic_store(&sh->phase, 2);

	for (i = 0; i < nt; i++)
		pthread_join(t[i], NULL);
	if (waitpid(child, &st, 0) != child || !WIFEXITED(st) || WEXITSTATUS(st))
		fail("the second process failed");
	for (i = 0; i < NOPS; i++)
		total += i == OP_TIMEOUT ? 0 : atomic_load(&sh->ops[i]);
	for (i = 0; i < NOPS; i++)
		note("%-14s %12lld  %10.0f/s", op_name[i], (long long)atomic_load(&sh->ops[i]),
		     atomic_load(&sh->ops[i]) / elapsed);
	for (i = 0; i < NFAMILIES; i++)
		note("wakeups %-20s %10lld", family_name[i], (long long)atomic_load(&sh->fam_wakeups[i]));
	note("total %lld operations in %.1f s: %.0f ops/s", total, elapsed, total / elapsed);
	tap_result(!atomic_load(&sh->errors), "no errors (%lld)", (long long)atomic_load(&sh->errors));
	return tap_failed;
}

/* ------------------------------------------------------------ ping-pong */

struct pp {
	enum family fam;
	int fd;
	long long count, timeouts, errors;
	int timeout_ms;
	int side;	/* 0: asserts EPOLLIN, waits EPOLLOUT; 1: the reverse */
	int cpu;	/* pinned there, or -1 */
	double deadline;	/* side 0 stops there (now()), or 0 */
	_Atomic long long *done;	/* the hand-offs side 0 started: side 1 answers that many */
};

static void *pp_side(void *p)
{
	struct pp *a = p;
	uint32_t want = a->side ? EPOLLIN : EPOLLOUT, give = a->side ? EPOLLOUT : EPOLLIN, rev[1];
	struct waitset w;
	long long i;
	int r;

	if (a->cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(a->cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set))
			a->errors++;
	}
	if (ws_open(&w, a->fam, &a->fd, 1, want)) {
		a->errors++;
		printf("# %s: setup: %s\n", family_name[a->fam], strerror(errno));
		ws_close(&w);
		return NULL;
	}
	for (i = 0; i < a->count; i++) {
		if (a->side == 0 && a->deadline && now() > a->deadline) {
			/* Out of time: tell side 1 before the assert that wakes it. */
			atomic_store(a->done, i);
			vw(a->fd, MOD | give);
			break;
		}
		if (a->side == 0 && vw(a->fd, MOD | give))
			a->errors++;
		do {
			r = ws_wait(&w, a->timeout_ms, rev);
			if (r == 0)
				a->timeouts++;
			if (r < 0) {
				a->errors++;
				printf("# %s: wait: %s\n", family_name[a->fam], strerror(errno));
				goto out;
			}
		} while (!(rev[0] & want));
		if (a->side == 1 && i >= atomic_load(a->done))
			break;
		if (a->side == 1 && vw(a->fd, MOD | give))
			a->errors++;
	}
out:
	a->count = i;	/* the hand-offs done, which the result reports */
	ws_close(&w);
	return NULL;
}

/* count hand-offs per family, or as many as fit in max_seconds (when not 0). */
static int cmd_pingpong(long long count, int max_seconds, int only, int timeout_ms)
{
	/* With two CPUs, the sides are pinned apart: every hand-off wakes a thread on the other CPU. */
	int f, n = 0, smp = sysconf(_SC_NPROCESSORS_ONLN) > 1;

	for (f = 0; f < NFAMILIES; f++)
		n += (only < 0 || only == f) && f != F_EPOLL_EXCL;
	printf("1..%d\n", n);
	note("ping-pong: %lld hand-offs per family (at most %d s each, 0: no limit), %d ms timeout "
	     "on every wait, %s", count, max_seconds, timeout_ms,
	     smp ? "the two threads pinned to CPUs 0 and 1" : "one CPU");
	for (f = 0; f < NFAMILIES; f++) {
		_Atomic long long done = count;
		struct pp a, b;
		pthread_t ta, tb;
		double t0, dt;

		/* EPOLLEXCLUSIVE with one waiter is plain epoll: covered by the stress test. */
		if ((only >= 0 && only != f) || f == F_EPOLL_EXCL)
			continue;
		memset(&a, 0, sizeof(a));
		a.fam = f;
		a.fd = sys_eventfd2(0, EFD_VPOLL | EFD_CLOEXEC);
		a.count = count;
		a.timeout_ms = timeout_ms;
		a.cpu = smp ? 0 : -1;
		a.done = &done;
		b = a;
		b.side = 1;
		b.cpu = smp ? 1 : -1;
		t0 = now();
		a.deadline = max_seconds ? t0 + max_seconds : 0;
		pthread_create(&ta, NULL, pp_side, &a);
		pthread_create(&tb, NULL, pp_side, &b);
		pthread_join(ta, NULL);
		pthread_join(tb, NULL);
		dt = now() - t0;
		close(a.fd);
		tap_result(!a.timeouts && !b.timeouts && !a.errors && !b.errors,
			   "%s: %lld hand-offs in %.1f s (%.1f us each), %lld timeouts, %lld errors",
			   family_name[f], a.count, dt, dt * 1e6 / (a.count ? a.count : 1),
			   a.timeouts + b.timeouts,
			   a.errors + b.errors);
	}
	return tap_failed;
}

/* ------------------------------------------------------------ bad input */

/* The reference model: the errno a write of REQ gets, and the set it leaves. */
static int model_write(uint64_t req, uint64_t *set)
{
	uint64_t cmd = req & ~0xffffffffULL;
	uint32_t ev = (uint32_t)req;

	if (ev & ~MASK)
		return EINVAL;
	if (cmd == ADD)
		*set |= ev;
	else if (cmd == DEL)
		*set &= ~(uint64_t)ev;
	else if (cmd == MOD)
		*set = ev;
	else
		return EINVAL;
	return 0;
}

struct bad_ctx {
	int fd;
	uint64_t set;
	long long cases, bad;
};

/* Writes REQ, compares errno and the resulting set with the model. */
static void check_write(struct bad_ctx *c, uint64_t req, const char *what)
{
	int want = model_write(req, &c->set), got = vw(c->fd, req);
	uint64_t v = vr(c->fd);

	c->cases++;
	if (-got != want || v != c->set) {
		if (c->bad++ < 10)
			note("%s: write %#018llx: errno %d (want %d), set %#llx (want %#llx)", what,
			     (unsigned long long)req, -got, want, (unsigned long long)v,
			     (unsigned long long)c->set);
		c->set = v;
	}
}

static void check_raw(struct bad_ctx *c, const void *buf, size_t len, int want, const char *what)
{
	ssize_t n = write(c->fd, buf, len);
	int got = n < 0 ? errno : 0;
	uint64_t v = vr(c->fd);

	c->cases++;
	if (got != want || (want && v != c->set) || (!want && n != 8)) {
		if (c->bad++ < 10)
			note("%s: write(%p, %zu) = %zd errno %d (want %d), set %#llx (was %#llx)", what,
			     buf, len, n, got, want, (unsigned long long)v, (unsigned long long)c->set);
	}
	c->set = v;
}

static void check_read(struct bad_ctx *c, void *buf, size_t len, int want, const char *what)
{
	ssize_t n = read(c->fd, buf, len);
	int got = n < 0 ? errno : 0;

	c->cases++;
	if (got != want || (!want && n != 8) || vr(c->fd) != c->set) {
		if (c->bad++ < 10)
			note("%s: read(%p, %zu) = %zd errno %d (want %d)", what, buf, len, n, got, want);
	}
}

static int cmd_badinput(long long fuzz, uint64_t seed)
{
	static const uint32_t evsets[] = { 0, EPOLLIN, EPOLLOUT | EPOLLHUP, MASK, 0x4000, 0x80000000 };
	static const uint64_t cmds[] = { ADD, DEL, MOD };
	struct bad_ctx c = { 0 };
	long long before;
	long page = sysconf(_SC_PAGESIZE);
	unsigned char *map, buf[128];
	uint64_t s = seed, cmdv, req;
	unsigned int b, k, sz;
	int i;

	printf("1..6\n");
	c.fd = sys_eventfd2(EPOLLOUT, EFD_VPOLL | EFD_CLOEXEC);
	if (c.fd < 0)
		return 1;
	c.set = EPOLLOUT;

	/* eventfd2: every bit of the initial value, and EFD_SEMAPHORE */
	before = c.bad;
	for (b = 0; b < 32; b++) {
		int fd = sys_eventfd2(1u << b, EFD_VPOLL), err = errno;
		int want_ok = !!(MASK & (1u << b));
		uint64_t v = fd >= 0 ? vr(fd) : 0;

		c.cases++;
		if ((fd >= 0) != want_ok || (fd < 0 && err != EINVAL) ||
		    (fd >= 0 && v != (1u << b))) {
			c.bad++;
			note("eventfd2(%#x, EFD_VPOLL): %d (%s), read %#llx", 1u << b, fd,
			     fd < 0 ? strerror(err) : "ok", (unsigned long long)v);
		}
		if (fd >= 0)
			close(fd);
	}
	c.cases++;
	if (sys_eventfd2(0, EFD_VPOLL | EFD_SEMAPHORE) >= 0 || errno != EINVAL) {
		c.bad++;
		note("EFD_VPOLL | EFD_SEMAPHORE accepted");
	}
	tap_result(c.bad == before, "eventfd2: each initial bit, EFD_SEMAPHORE");

	/* Every single bit of both halves, alone and with each command; every command value. */
	before = c.bad;
	for (b = 0; b < 64; b++) {
		check_write(&c, 1ULL << b, "single bit");
		for (k = 0; k < 3; k++)
			check_write(&c, cmds[k] | (1ULL << b), "command | bit");
		check_write(&c, MOD | EPOLLOUT | EPOLLPRI, "reset");
	}
	for (cmdv = 0; cmdv <= 17; cmdv++) {
		uint64_t top = cmdv == 17 ? 0xffffffffULL : cmdv;

		for (k = 0; k < sizeof(evsets) / sizeof(evsets[0]); k++)
			check_write(&c, top << 32 | evsets[k], "command value");
	}
	tap_result(c.bad == before, "every bit in both halves, commands 0-16 and 0xffffffff");

	/* Sizes 0-64 for write and read. */
	before = c.bad;
	memset(buf, 0, sizeof(buf));
	req = ADD | EPOLLMSG;
	memcpy(buf, &req, 8);
	for (sz = 0; sz <= 64; sz++) {
		check_raw(&c, buf, sz, sz == 8 ? 0 : EINVAL, "write size");
		if (sz == 8 && !(c.set & EPOLLMSG))
			c.bad++;
		vw(c.fd, DEL | EPOLLMSG);
		c.set &= ~(uint64_t)EPOLLMSG;
		check_read(&c, buf, sz, sz < 8 ? EINVAL : 0, "read size");
	}
	tap_result(c.bad == before, "write and read sizes 0-64");

	/* Bad and half-mapped buffers: a buffer that ends in a PROT_NONE page. */
	before = c.bad;
	map = mmap(NULL, 3 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED || mprotect(map + page, page, PROT_NONE))
		return 1;
	munmap(map + 2 * page, page);		/* unmapped after the PROT_NONE page */
	req = MOD | EPOLLIN;
	for (i = 1; i < 8; i++) {
		memcpy(map + page - i, &req, i);
		check_raw(&c, map + page - i, 8, EFAULT, "half-mapped write");
		check_read(&c, map + page - i, 8, EFAULT, "half-mapped read");
	}
	check_raw(&c, map + page, 8, EFAULT, "PROT_NONE write");
	check_read(&c, map + page, 8, EFAULT, "PROT_NONE read");
	check_raw(&c, map + 2 * page, 8, EFAULT, "unmapped write");
	check_read(&c, map + 2 * page, 8, EFAULT, "unmapped read");
	check_raw(&c, NULL, 8, EFAULT, "NULL write");
	check_read(&c, NULL, 8, EFAULT, "NULL read");
	check_raw(&c, NULL, 4, EINVAL, "NULL write, size 4");
	check_raw(&c, (void *)(uintptr_t)-4096, 8, EFAULT, "top-of-address-space write");
	check_read(&c, (void *)(uintptr_t)-4096, 8, EFAULT, "top-of-address-space read");
	memcpy(map + page - 8, &req, 8);	/* exactly fits: accepted */
	check_raw(&c, map + page - 8, 8, 0, "last 8 bytes before PROT_NONE");
	if (c.set != EPOLLIN)
		c.bad++;
	munmap(map, 2 * page);
	tap_result(c.bad == before, "bad, PROT_NONE, unmapped and half-mapped buffers: EFAULT, "
		   "set unchanged");

	/* The seeded fuzzer against the model. */
	before = c.bad;
	{
		long long i2, accepted = 0, start = c.cases;
		double t0 = now();

		for (i2 = 0; i2 < fuzz; i2++) {
			uint64_t r = rnd_next(&s), x = rnd_next(&s);
			uint64_t top, low;

			switch (r & 7) {
			case 0: case 1:	/* anything */
				req = x;
				break;
			case 2: case 3:	/* a valid command, any low half */
				req = cmds[(r >> 3) % 3] | (uint32_t)x;
				break;
			case 4: case 5: case 6:	/* a valid command and events */
				req = cmds[(r >> 3) % 3] | ((uint32_t)x & MASK);
				break;
			default:	/* small commands, events with maybe one stray bit */
				top = (r >> 3) % 6;
				low = ((uint32_t)x & MASK) | ((r >> 8) % 4 ? 0 : 1u << ((r >> 16) % 32));
				req = top << 32 | low;
				break;
			}
			if (!model_write(req, &(uint64_t){ c.set }))
				accepted++;
			check_write(&c, req, "fuzz");
		}
		tap_result(c.bad == before, "fuzz: %lld random writes (seed %" PRIu64 ", %lld accepted) "
			   "match the model in %.1f s", c.cases - start, seed, accepted, now() - t0);
	}
	close(c.fd);
	note("bad input: %lld cases, %lld mismatches", c.cases, c.bad);
	tap_result(!c.bad, "no mismatch in %lld cases", c.cases);
	return tap_failed;
}

/* ------------------------------------------------------------ hygiene */

static long long meminfo_kb(const char *key)
{
	char line[256];
	long long v = -1;
	size_t len = strlen(key);
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, len) && line[len] == ':')
			v = strtoll(line + len + 1, NULL, 10);
	fclose(f);
	return v;
}

/* Active objects of a slab cache in /proc/slabinfo, or -1. */
static long long slab_objs(const char *cache)
{
	char line[512], name[128];
	long long active = -1, a;
	FILE *f = fopen("/proc/slabinfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%127s %lld", name, &a) == 2 && !strcmp(name, cache))
			active = a;
	fclose(f);
	return active;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1;	/* the directory's own fd */
}

/*
 * Hands freed objects back to their slabs: kmem_cache_shrink() through sysfs flushes the
 * per-cpu partial lists and, on a KASAN kernel, takes the cache's objects out of KASAN's
 * quarantine, which otherwise holds up to 1/32 of RAM of freed objects counted as slab.
 */
static void shrink_slabs(void)
{
	DIR *d = opendir("/sys/kernel/slab");
	struct dirent *e;
	char path[512];
	FILE *f;

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/kernel/slab/%s/shrink", e->d_name);
		f = fopen(path, "w");
		if (f) {
			fputs("1", f);
			fclose(f);
		}
	}
	closedir(d);
}

/* Slab noise after the caches are shrunk: one leaked 64-byte object per fd is total*64 bytes. */
#define SLAB_NOISE_KB	4096

struct snap { long long slab, sunreclaim, filp, epi; int fds; };

static void snapshot(struct snap *s)
{
	s->slab = meminfo_kb("Slab");
	s->sunreclaim = meminfo_kb("SUnreclaim");
	s->filp = slab_objs("filp");
	s->epi = slab_objs("eventpoll_epi");
	s->fds = count_fds();
}

struct kick { int *fds; int n; int ret; };

static void *batch_poller(void *p)
{
	struct kick *k = p;
	struct pollfd pf[65];
	int i;

	for (i = 0; i < k->n; i++)
		pf[i] = (struct pollfd){ .fd = k->fds[i], .events = EPOLLIN };
	k->ret = poll(pf, k->n, 30000);
	return NULL;
}

/* Creates and closes n vpoll fds with waiters of each kind attached; counts failures. */
static long long churn_fds(long long total, int batch)
{
	int *fds = calloc(batch, sizeof(int));
	long long done = 0, errors = 0;

	while (done < total) {
		int n = total - done < batch ? total - done : batch, i, ep, kick;
		struct ring ring;
		aio_context_t ctx;
		struct iocb cbs[32];
		struct kick k;
		pthread_t t;

		for (i = 0; i < n; i++) {
			fds[i] = sys_eventfd2(i & 1 ? EPOLLOUT : 0, EFD_VPOLL | EFD_CLOEXEC);
			if (fds[i] < 0) {
				errors++;
				n = i;
				break;
			}
		}
		if (n < 2)
			break;
		ep = epoll_create1(EPOLL_CLOEXEC);
		for (i = 0; i < n; i++) {
			struct epoll_event e = { .events = EPOLLIN | (i & 2 ? EPOLLET : 0), .data.u32 = i };

			errors += epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &e) != 0;
		}
		if (ring_init(&ring, 64))
			errors++;
		for (i = 0; ring.fd >= 0 && i < 32 && i < n; i++)
			errors += ring_poll_add(&ring, fds[i], EPOLLIN, i & 1, i) != 0;
		if (aio_setup(64, &ctx))
			errors++;
		for (i = 0; ctx && i < 32 && i < n; i++)
			errors += aio_poll_submit(ctx, &cbs[i], fds[n - 1 - i], EPOLLPRI, i) != 0;
		/* A poller on the first 64 fds, the last one being the kick. */
		k.n = n < 65 ? n : 65;
		k.fds = fds;
		kick = fds[n - 1];
		fds[n - 1] = fds[k.n - 1];
		fds[k.n - 1] = kick;
		pthread_create(&t, NULL, batch_poller, &k);
		/* Close everything under the waiters but the kick, then wake the poller. */
		for (i = 0; i < n; i++)
			if (fds[i] != kick)
				close(fds[i]);
		if (vw(kick, ADD | EPOLLIN))
			errors++;
		pthread_join(t, NULL);
		errors += k.ret < 1;
		close(kick);
		ring_exit(&ring);
		if (ctx)
			aio_destroy(ctx);
		close(ep);
		done += n;
	}
	free(fds);
	return errors;
}

/* An object count that came back: within limit of where it was, or no count to compare. */
static void tap_objects(const char *cache, long long before, long long after, long long limit)
{
	if (before < 0 || after < 0) {
		printf("ok %d - %s objects # SKIP no /proc/slabinfo\n", ++tap_n, cache);
		return;
	}
	tap_result(after <= before + limit, "%s objects back: %lld before, %lld after (limit +%lld)",
		   cache, before, after, limit);
}

static int settled(const struct snap *a, const struct snap *b, long long limit)
{
	return b->slab <= a->slab + SLAB_NOISE_KB && b->filp <= a->filp + limit &&
	       b->epi <= a->epi + limit;
}

static int cmd_hygiene(long long total, int batch)
{
	struct rlimit rl;
	struct snap a, b;
	long long errors, warm = total / 10 > batch ? total / 10 : batch;
	/* Object noise: 1 % of the fds; a leak of one object per fd is 100 times that. */
	long long limit = total / 100 > 256 ? total / 100 : 256;
	double t0, dt;
	int tries = 0;

	printf("1..5\n");
	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < (rlim_t)batch + 64) {
		rl.rlim_cur = batch + 64;
		if (rl.rlim_max < rl.rlim_cur)
			rl.rlim_max = rl.rlim_cur;
		if (setrlimit(RLIMIT_NOFILE, &rl)) {
			batch = 900;	/* stay under the default 1024 */
		}
	}
	note("hygiene: %lld vpoll fds in batches of %d, each with epoll (LT and ET), io_uring "
	     "(single and multishot), aio and poll waiters; warm-up %lld", total, batch, warm);
	errors = churn_fds(warm, batch);	/* fills KASAN's quarantine, caches, fd table */
	sleep_ms(2000);
	shrink_slabs();
	snapshot(&a);
	t0 = now();
	errors += churn_fds(total, batch);
	dt = now() - t0;
	tap_result(!errors, "%lld fds created and closed in %.1f s (%.0f/s), %lld errors", total, dt,
		   total / dt, errors);
	/*
	 * RCU-freed objects (epitems, files), per-cpu caches and KASAN's quarantine settle:
	 * allow up to 30 s, shrinking the caches each second.
	 */
	do {
		sleep_ms(1000);
		shrink_slabs();
		snapshot(&b);
	} while (!settled(&a, &b, limit) && ++tries < 30);
	note("before: Slab %lld kB, SUnreclaim %lld kB, filp %lld, eventpoll_epi %lld, fds %d",
	     a.slab, a.sunreclaim, a.filp, a.epi, a.fds);
	note("after:  Slab %lld kB, SUnreclaim %lld kB, filp %lld, eventpoll_epi %lld, fds %d",
	     b.slab, b.sunreclaim, b.filp, b.epi, b.fds);
	tap_result(b.slab <= a.slab + SLAB_NOISE_KB,
		   "slab usage back to where it started: %+lld kB (limit +%d kB)", b.slab - a.slab,
		   SLAB_NOISE_KB);
	tap_objects("filp", a.filp, b.filp, limit);
	tap_objects("eventpoll_epi", a.epi, b.epi, limit);
	tap_result(b.fds == a.fds, "fd table back: %d open before, %d after", a.fds, b.fds);
	return tap_failed;
}

/* ------------------------------------------------------------ main */

static void usage(void)
{
	fprintf(stderr,
		"usage: vpoll_stress stress   [--seconds N] [--writers N] [--seed S]\n"
		"       vpoll_stress pingpong [--count N] [--max-seconds N] [--family NAME] [--timeout-ms N]\n"
		"       vpoll_stress badinput [--fuzz N] [--seed S]\n"
		"       vpoll_stress hygiene  [--fds N] [--batch N]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	long long count = 100000, fuzz = 1000000, fds = 1000000;
	int seconds = 60, max_seconds = 0, wpp = 2, only = -1, timeout_ms = 5000, batch = 1000, i, f;
	uint64_t seed = 1;
	const char *cmd;

	if (argc < 2)
		usage();
	cmd = argv[1];
	for (i = 2; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v)
			usage();
		i++;
		if (!strcmp(o, "--seconds"))
			seconds = atoi(v);
		else if (!strcmp(o, "--writers"))
			wpp = atoi(v);
		else if (!strcmp(o, "--seed"))
			seed = strtoull(v, NULL, 0);
		else if (!strcmp(o, "--count"))
			count = strtoll(v, NULL, 0);
		else if (!strcmp(o, "--max-seconds"))
			max_seconds = atoi(v);
		else if (!strcmp(o, "--timeout-ms"))
			timeout_ms = atoi(v);
		else if (!strcmp(o, "--fuzz"))
			fuzz = strtoll(v, NULL, 0);
		else if (!strcmp(o, "--fds"))
			fds = strtoll(v, NULL, 0);
		else if (!strcmp(o, "--batch"))
			batch = atoi(v);
		else if (!strcmp(o, "--family")) {
			for (f = 0; f < NFAMILIES && strcmp(v, family_name[f]); f++)
				;
			if (f == NFAMILIES)
				usage();
			only = f;
		} else {
			usage();
		}
	}
	/* The long runs: the environment overrides the command line's (CI) sizes. */
	if (getenv("VPOLL_STRESS_SECONDS"))
		seconds = atoi(getenv("VPOLL_STRESS_SECONDS"));
	if (getenv("VPOLL_STRESS_COUNT"))
		count = strtoll(getenv("VPOLL_STRESS_COUNT"), NULL, 0);
	if (getenv("VPOLL_STRESS_FUZZ"))
		fuzz = strtoll(getenv("VPOLL_STRESS_FUZZ"), NULL, 0);
	if (getenv("VPOLL_STRESS_FDS"))
		fds = strtoll(getenv("VPOLL_STRESS_FDS"), NULL, 0);
	if (wpp < 1 || 2 * wpp > MAXWRITERS || seconds < 1 || count < 1 || max_seconds < 0 ||
	    batch < 70 || !seed)
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (!have_vpoll()) {
		printf("1..0 # SKIP the kernel has no EFD_VPOLL\n");
		return 77;
	}
	note("vpoll_stress %s, %zu-bit", cmd, sizeof(long) * 8);
	if (!strcmp(cmd, "stress"))
		return cmd_stress(seconds, wpp, seed);
	if (!strcmp(cmd, "pingpong"))
		return cmd_pingpong(count, max_seconds, only, timeout_ms);
	if (!strcmp(cmd, "badinput"))
		return cmd_badinput(fuzz, seed);
	if (!strcmp(cmd, "hygiene"))
		return cmd_hygiene(fds, batch);
	usage();
	return 2;
}
