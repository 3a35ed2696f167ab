// SPDX-License-Identifier: GPL-2.0
/*
 * vpoll_stress pingpong: lost wake-ups. Two threads hand EPOLLIN and EPOLLOUT back
 * and forth on one vpoll fd through each family; every wait has a timeout.
 */

#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include "vpoll_stress.h"

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
	r = ws_open(&w, a->fam, &a->fd, 1, want);
	if (r) {
		a->errors++;
		printf("# %s: setup: %s\n", family_name[a->fam], strerror(-r));
		ws_close(&w);
		return NULL;
	}
	for (i = 0; i < a->count; i++) {
		if (a->side == 0 && a->deadline && now() > a->deadline) {
			/* Out of time: tell side 1 before the assert that wakes it. */
			atomic_store(a->done, i);
			vpoll_write(a->fd, MOD | give);
			break;
		}
		if (a->side == 0 && vpoll_write(a->fd, MOD | give))
			a->errors++;
		do {
			r = ws_wait(&w, a->timeout_ms, rev);
			if (r == 0)
				a->timeouts++;
			if (r < 0) {
				a->errors++;
				printf("# %s: wait: %s\n", family_name[a->fam], strerror(-r));
				goto out;
			}
		} while (!(rev[0] & want));
		if (a->side == 1 && i >= atomic_load(a->done))
			break;
		if (a->side == 1 && vpoll_write(a->fd, MOD | give))
			a->errors++;
	}
out:
	a->count = i;	/* the hand-offs done, which the result reports */
	ws_close(&w);
	return NULL;
}

/* count hand-offs per family, or as many as fit in max_seconds (when not 0). */
int cmd_pingpong(const struct options *o)
{
	long long count = o->count;
	int max_seconds = o->max_seconds, only = o->only, timeout_ms = o->timeout_ms;
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
		a.fd = vpoll_new(0);
		if (a.fd < 0) {
			tap_result(0, "%s: no vpoll object: %s", family_name[f], strerror(errno));
			continue;
		}
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
