// SPDX-License-Identifier: GPL-2.0
/*
 * vpoll_stress stress: two processes x (writers, a reader, a waiter per family, churn)
 * on NFD shared vpoll fds, with the invariants of selftests/stress/README.md.
 */

#define _GNU_SOURCE
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/wait.h>
/* <fcntl.h> clashes with <linux/fcntl.h>, which <linux/eventfd.h> includes. */
extern int fcntl(int fd, int cmd, ...);
#include "vpoll_stress.h"

#define NFD		4
#define MODFD		(NFD - 1)
#define MODFD_ALLOWED	(EPOLLIN | EPOLLPRI | EPOLLOUT | EPOLLRDNORM | EPOLLWRNORM | EPOLLMSG)

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

static __attribute__((format(printf, 1, 2))) void fail(const char *fmt, ...)
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
		e = vpoll_write(sfds[j], cmd | bits);
		if (e)
			fail("writer %d: write %#llx to fd %d: %s", a->w,
			     (unsigned long long)(cmd | bits), j, strerror(-e));
		n++;
		if ((r >> 48) % 4 == 0) {
			check_value(j, vpoll_read(sfds[j]), "writer");
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
			check_value(j, vpoll_read(sfds[j]), "reader");
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

	r = ws_open(&w, fam, sfds, NFD, ev);
	if (r) {
		fail("%s: setup: %s", family_name[fam], strerror(-r));
		ws_close(&w);
		return NULL;
	}
	while (atomic_load(&sh->phase) == 0) {
		r = ws_wait(&w, 100, rev);
		waits++;
		if (r < 0) {
			fail("%s: wait: %s", family_name[fam], strerror(-r));
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
	r = ws_open(&w, fam, sfds, NFD, EPOLLIN);
	if (r) {
		fail("%s: final setup: %s", family_name[fam], strerror(-r));
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
		     r < 0 ? strerror(-r) : "timeout or wrong event");
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
			fd = vpoll_new(EPOLLOUT);
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
			struct vpoll_ring ring;
			aio_context_t ctx;
			struct iocb cb;
			int e;

			fd = dup(sfds[j]);
			if (fd < 0) {
				fail("churn: io_uring: %s", strerror(errno));
				break;
			}
			e = vpoll_ring_init(&ring, 4);
			if (e) {
				fail("churn: io_uring: %s", strerror(-e));
				close(fd);
				break;
			}
			e = vpoll_ring_poll_add(&ring, fd, EPOLLMSG, r & 1, 1);
			if (e)
				fail("churn: io_uring poll: %s", strerror(-e));
			e = vpoll_aio_setup(4, &ctx);
			if (!e)
				e = vpoll_aio_poll(ctx, &cb, fd, EPOLLMSG, 1);
			if (e)
				fail("churn: aio poll: %s", strerror(-e));
			close(fd);
			vpoll_ring_exit(&ring);
			vpoll_aio_destroy(ctx);
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
					bad |= vpoll_write(sfds[MODFD], ADD | bits) != 0;
					bad |= (vpoll_read(sfds[k % NFD]) &
						~(uint64_t)allowed(k % NFD)) != 0;
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
			check_value(j, vpoll_read(fd), "churn");
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

int cmd_stress(const struct options *o)
{
	int seconds = o->seconds, wpp = o->wpp;
	uint64_t seed = o->seed;
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
		sfds[j] = vpoll_new(0);
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
		v = vpoll_read(sfds[j]);
		if (v != expect) {
			fail("fd %d: final set %#llx, the writers' last writes make %#llx", j,
			     (unsigned long long)v, (unsigned long long)expect);
			ok = 0;
		}
	}
	if (vpoll_write(sfds[MODFD], MOD | EPOLLOUT | EPOLLMSG) ||
	    vpoll_read(sfds[MODFD]) != (EPOLLOUT | EPOLLMSG) ||
	    vpoll_write(sfds[MODFD], ADD | EPOLLIN) ||
	    vpoll_read(sfds[MODFD]) != (EPOLLOUT | EPOLLMSG | EPOLLIN) ||
	    vpoll_write(sfds[MODFD], DEL | EPOLLMSG) ||
	    vpoll_read(sfds[MODFD]) != (EPOLLOUT | EPOLLIN)) {
		fail("MOD fd: the final MOD/ADD/DEL sequence did not give its set");
		ok = 0;
	}
	tap_result(ok, "final sets equal what the last writes make them");

	/* Every waiter, re-armed on empty fds, returns when EPOLLIN is asserted. */
	for (j = 0; j < NFD; j++)
		if (vpoll_write(sfds[j], MOD | 0))
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
				if (vpoll_write(sfds[j], ADD | EPOLLIN))
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
