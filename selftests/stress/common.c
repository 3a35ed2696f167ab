// SPDX-License-Identifier: GPL-2.0
/* vpoll_stress: the options, TAP output, the clock and the seeded generator. */

#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "vpoll_stress.h"

void usage(void)
{
	fprintf(stderr,
		"usage: vpoll_stress stress   [--seconds N] [--writers N] [--seed S]\n"
		"       vpoll_stress pingpong [--count N] [--max-seconds N] [--family NAME] [--timeout-ms N]\n"
		"       vpoll_stress badinput [--fuzz N] [--seed S]\n"
		"       vpoll_stress hygiene  [--fds N] [--batch N]\n");
	exit(2);
}

/*
 * The options after the subcommand (argv[2] on). VPOLL_STRESS_SECONDS, _COUNT, _FUZZ
 * and _FDS in the environment replace the built-in defaults of --seconds, --count,
 * --fuzz and --fds; an option given on the command line wins over both.
 */
void parse_options(int argc, char **argv, struct options *o)
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

	for (i = 2; i < argc; i++) {
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

int have_vpoll(void)
{
	int fd = sys_eventfd2(0, EFD_VPOLL);

	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}
