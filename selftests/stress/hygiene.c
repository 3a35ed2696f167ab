// SPDX-License-Identifier: GPL-2.0
/*
 * vpoll_stress hygiene: vpoll fds created and closed in batches with waiters of every
 * kind attached; slab usage, slab objects and the fd table must come back.
 */

#define _GNU_SOURCE
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include "vpoll_stress.h"

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
		struct vpoll_ring ring;
		aio_context_t ctx;
		struct iocb cbs[32];
		struct kick k;
		pthread_t t;

		for (i = 0; i < n; i++) {
			fds[i] = vpoll_new(i & 1 ? EPOLLOUT : 0);
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
		if (vpoll_ring_init(&ring, 64))
			errors++;
		for (i = 0; ring.fd >= 0 && i < 32 && i < n; i++)
			errors += vpoll_ring_poll_add(&ring, fds[i], EPOLLIN, i & 1, i) != 0;
		if (vpoll_aio_setup(64, &ctx))
			errors++;
		for (i = 0; ctx && i < 32 && i < n; i++)
			errors += vpoll_aio_poll(ctx, &cbs[i], fds[n - 1 - i], EPOLLPRI, i) != 0;
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
		if (vpoll_write(kick, ADD | EPOLLIN))
			errors++;
		pthread_join(t, NULL);
		errors += k.ret < 1;
		close(kick);
		vpoll_ring_exit(&ring);
		if (ctx)
			vpoll_aio_destroy(ctx);
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

int cmd_hygiene(const struct options *o)
{
	long long total = o->fds;
	int batch = o->batch;
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
