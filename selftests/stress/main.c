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
 * VPOLL_STRESS_SECONDS, _COUNT, _FUZZ and _FDS in the environment are the defaults of
 * --seconds, --count, --fuzz and --fds (the long runs); an option on the command line
 * wins. Output is TAP; the exit status is 0 when every check passed, 1 otherwise, 77 when
 * the kernel has no EFD_VPOLL, 2 for a usage error (an unknown subcommand or option).
 * Builds for x86_64 and, static, i386.
 */

#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include "vpoll_stress.h"

static const struct {
	const char *name;
	int (*run)(const struct options *o);
} modes[] = {
	{ "stress", cmd_stress },
	{ "pingpong", cmd_pingpong },
	{ "badinput", cmd_badinput },
	{ "hygiene", cmd_hygiene },
};

int main(int argc, char **argv)
{
	struct options o;
	unsigned int m;

	if (argc < 2)
		usage();
	for (m = 0; m < sizeof(modes) / sizeof(modes[0]); m++)
		if (!strcmp(argv[1], modes[m].name))
			break;
	if (m == sizeof(modes) / sizeof(modes[0])) {
		fprintf(stderr, "vpoll_stress: unknown subcommand '%s'\n", argv[1]);
		usage();
	}
	parse_options(argc, argv, &o);
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (!have_vpoll()) {
		printf("1..0 # SKIP the kernel has no EFD_VPOLL\n");
		return 77;
	}
	note("vpoll_stress %s, %zu-bit", modes[m].name, sizeof(long) * 8);
	return modes[m].run(&o);
}
