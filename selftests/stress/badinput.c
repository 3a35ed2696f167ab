// SPDX-License-Identifier: GPL-2.0
/*
 * vpoll_stress badinput: every bad write, read and buffer, and a seeded fuzzer,
 * against a reference model of the errno and the resulting set. With --device, the
 * same on /dev/vpoll, but for eventfd2's initial value and flags (a SKIP).
 */

#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include "vpoll_stress.h"

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
	int want = model_write(req, &c->set), got = vpoll_write(c->fd, req);
	uint64_t v = vpoll_read(c->fd);

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
	uint64_t v = vpoll_read(c->fd);

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
	if (got != want || (!want && n != 8) || vpoll_read(c->fd) != c->set) {
		if (c->bad++ < 10)
			note("%s: read(%p, %zu) = %zd errno %d (want %d)", what, buf, len, n, got, want);
	}
}

int cmd_badinput(const struct options *o)
{
	long long fuzz = o->fuzz;
	uint64_t seed = o->seed;
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
	c.fd = vpoll_new(EPOLLOUT);
	if (c.fd < 0) {
		note("no vpoll object: %s", strerror(errno));
		return 1;
	}
	c.set = EPOLLOUT;

	/* eventfd2: every bit of the initial value, and EFD_SEMAPHORE */
	before = c.bad;
	if (use_device) {
		tap_skip("eventfd2: each initial bit, EFD_SEMAPHORE",
			 VPOLL_DEVICE " has no initial value nor eventfd2 flags");
	} else {
		for (b = 0; b < 32; b++) {
			int fd = sys_eventfd2(1u << b, EFD_VPOLL), err = errno;
			int want_ok = !!(MASK & (1u << b));
			uint64_t v = fd >= 0 ? vpoll_read(fd) : 0;

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
	}

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
		vpoll_write(c.fd, DEL | EPOLLMSG);
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
