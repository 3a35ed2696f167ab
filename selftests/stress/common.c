// SPDX-License-Identifier: GPL-2.0
/*
 * vpoll_stress: the options, TAP output, the clock, the seeded generator and the
 * making of a vpoll object (an EFD_VPOLL eventfd, or an open of /dev/vpoll).
 */

#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "vpoll_stress.h"
/* <fcntl.h> clashes with <linux/fcntl.h>, which <linux/eventfd.h> includes. */
extern int open(const char *path, int flags, ...);

int use_device;

void usage(void)
{
	fprintf(stderr,
		"usage: vpoll_stress [--device] stress   [--seconds N] [--writers N] [--seed S]\n"
		"       vpoll_stress [--device] pingpong [--count N] [--max-seconds N] [--family NAME] [--timeout-ms N]\n"
		"       vpoll_stress [--device] badinput [--fuzz N] [--seed S]\n"
		"       vpoll_stress [--device] hygiene  [--fds N] [--batch N]\n");
	exit(2);
}

/*
 * The global options, before the subcommand: --device makes every object an open of
 * /dev/vpoll (the module) instead of an EFD_VPOLL eventfd. Returns the index of the
 * subcommand in argv.
 */
int parse_global(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc && !strncmp(argv[i], "--", 2); i++) {
		if (!strcmp(argv[i], "--device"))
			use_device = 1;
		else
			usage();
	}
	if (i == argc)
		usage();
	return i;
}

/*
 * The options after the subcommand (argv[first] on). VPOLL_STRESS_SECONDS, _COUNT, _FUZZ
 * and _FDS in the environment replace the built-in defaults of --seconds, --count,
 * --fuzz and --fds; an option given on the command line wins over both.
 */
void parse_options(int argc, char **argv, int first, struct options *o)
{
	const char *env;
	int i, f;

	*o = (struct options){
		.seconds = 60, .wpp = 2, .seed = 1, .count = 100000, .max_seconds = 0,
		.only = -1, .timeout_ms = 5000, .fuzz = 1000000, .fds = 1000000, .batch = 1000,
	};
	env = getenv("VPOLL_STRESS_SECONDS");
	if (env)
		o->seconds = atoi(env);
	env = getenv("VPOLL_STRESS_COUNT");
	if (env)
		o->count = strtoll(env, NULL, 0);
	env = getenv("VPOLL_STRESS_FUZZ");
	if (env)
		o->fuzz = strtoll(env, NULL, 0);
	env = getenv("VPOLL_STRESS_FDS");
	if (env)
		o->fds = strtoll(env, NULL, 0);

	for (i = first; i < argc; i++) {
		const char *opt = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v)
			usage();
		i++;
		if (!strcmp(opt, "--seconds"))
			o->seconds = atoi(v);
		else if (!strcmp(opt, "--writers"))
			o->wpp = atoi(v);
		else if (!strcmp(opt, "--seed"))
			o->seed = strtoull(v, NULL, 0);
		else if (!strcmp(opt, "--count"))
			o->count = strtoll(v, NULL, 0);
		else if (!strcmp(opt, "--max-seconds"))
			o->max_seconds = atoi(v);
		else if (!strcmp(opt, "--timeout-ms"))
			o->timeout_ms = atoi(v);
		else if (!strcmp(opt, "--fuzz"))
			o->fuzz = strtoll(v, NULL, 0);
		else if (!strcmp(opt, "--fds"))
			o->fds = strtoll(v, NULL, 0);
		else if (!strcmp(opt, "--batch"))
			o->batch = atoi(v);
		else if (!strcmp(opt, "--family") && (f = family_by_name(v)) >= 0)
			o->only = f;
		else
			usage();
	}
	if (o->wpp < 1 || 2 * o->wpp > MAXWRITERS || o->seconds < 1 || o->count < 1 ||
	    o->max_seconds < 0 || o->batch < 70 || !o->seed)
		usage();
}

/* ---------------------------------------------------------------- TAP output */

int tap_n;
int tap_failed;

void tap_result(int ok, const char *fmt, ...)
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

/* A check that does not apply here: "ok N - WHAT # SKIP WHY". */
void tap_skip(const char *what, const char *why)
{
	printf("ok %d - %s # SKIP %s\n", ++tap_n, what, why);
	fflush(stdout);
}

void note(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* ---------------------------------------------------------------- time, randomness */

double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* xorshift64*: seeded, reproducible. */
uint64_t rnd_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/*
 * NULL when the objects can be made, else why not: the kernel has no EFD_VPOLL, or
 * (--device) there is no /dev/vpoll to open.
 */
const char *vpoll_missing(void)
{
	static char why[128];
	int fd;

	if (use_device) {
		fd = open(VPOLL_DEVICE, O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			snprintf(why, sizeof(why), "no %s (open: %s; insmod vpoll.ko)",
				 VPOLL_DEVICE, strerror(errno));
			return why;
		}
	} else {
		fd = sys_eventfd2(0, EFD_VPOLL);
		if (fd < 0)
			return "the kernel has no EFD_VPOLL";
	}
	close(fd);
	return NULL;
}

/*
 * A new vpoll object with EVENTS pending, close-on-exec: an EFD_VPOLL eventfd with
 * EVENTS as its initial value, or with --device an open of /dev/vpoll (which starts
 * empty) and an ADD of EVENTS, checked by reading the set back. Returns the fd, or -1
 * with errno set (EIO when the set read back is not EVENTS).
 */
int vpoll_new(uint32_t events)
{
	uint64_t v;
	int fd, err;

	if (!use_device)
		return sys_eventfd2(events, EFD_VPOLL | EFD_CLOEXEC);
	fd = open(VPOLL_DEVICE, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -1;
	err = events ? -vpoll_write(fd, ADD | events) : 0;
	v = vpoll_read(fd);
	if (!err && v != events)
		err = EIO;
	if (err) {
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}
