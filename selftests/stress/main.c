// SPDX-License-Identifier: GPL-2.0
/*
 * vpoll_stress: reliability tests for EFD_VPOLL, meant for the debug kernel
 * (lockdep, KASAN, kmemleak) booted by scripts/vm-run-debug.
 *
 *   vpoll_stress [--device] stress   [--seconds N] [--writers N] [--seed S]
 *   vpoll_stress [--device] pingpong [--count N] [--max-seconds N] [--family NAME] [--timeout-ms N]
 *   vpoll_stress [--device] badinput [--fuzz N] [--seed S]
 *   vpoll_stress [--device] hygiene  [--fds N] [--batch N]
 *
 * --device: every object is an open of /dev/vpoll (module/vpoll.c, the same protocol
 * for kernels without the series) instead of an EFD_VPOLL eventfd; the checks of
 * eventfd2 itself are SKIPs then.
 * VPOLL_STRESS_SECONDS, _COUNT, _FUZZ and _FDS in the environment are the defaults of
 * --seconds, --count, --fuzz and --fds (the long runs); an option on the command line
 * wins. Output is TAP; the exit status is 0 when every check passed, 1 otherwise, 77 when
 * the kernel has no EFD_VPOLL (--device: there is no /dev/vpoll), 2 for a usage error
 * (an unknown subcommand or option). Builds for x86_64 and, static, i386.
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
	const char *missing;
	struct options o;
	unsigned int m;
	int cmd;

	cmd = parse_global(argc, argv);
	for (m = 0; m < sizeof(modes) / sizeof(modes[0]); m++)
		if (!strcmp(argv[cmd], modes[m].name))
			break;
	if (m == sizeof(modes) / sizeof(modes[0])) {
		fprintf(stderr, "vpoll_stress: unknown subcommand '%s'\n", argv[cmd]);
		usage();
	}
	parse_options(argc, argv, cmd + 1, &o);
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	missing = vpoll_missing();
	if (missing) {
		printf("1..0 # SKIP %s\n", missing);
		return 77;
	}
	note("vpoll_stress %s, %zu-bit, on %s", modes[m].name, sizeof(long) * 8,
	     use_device ? VPOLL_DEVICE " (the module)" : "EFD_VPOLL eventfds");
	return modes[m].run(&o);
}
