// SPDX-License-Identifier: GPL-2.0
/*
 * The series' kselftest, selftests/vpoll_test.c as patch 2 adds it to the
 * kernel, run against /dev/vpoll. The kselftest makes every object it tests
 * with sys_eventfd2() of vpoll_helpers.h; this file hooks that one helper
 * (a macro defined before vpoll_test.c is included): a request with
 * EFD_VPOLL opens /dev/vpoll and writes the initial value as an ADD, a
 * request without it is a counting eventfd as before. Every test body then
 * runs unchanged on the device, and the kselftest itself has no /dev/vpoll
 * code.
 *
 * What does not apply to a device is excluded by the caller (-T, see
 * module/meson.build): flags_accepted and flags_rejected (eventfd2's flags),
 * initval_each_bit and initval_whole_mask (eventfd2's initial value), fdinfo
 * and scm_rights_to_child (the eventfd's fdinfo fields, which the latter reads
 * to recognise the descriptor it received). The kernel-user refusals
 * (io_uring_register_eventfd_refused, aio_resfd_refused) do apply: a device
 * is refused as any non-eventfd is.
 *
 * Without /dev/vpoll the whole program SKIPs (a TAP plan of 1..0).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>

#include "vpoll_helpers.h"

#define VPOLL_DEV	"/dev/vpoll"

/* sys_eventfd2() for the kselftest: EFD_VPOLL requests become /dev/vpoll. */
static int dev_eventfd2(unsigned int count, int flags)
{
	__u64 add = EFD_VPOLL_ADDEVENTS | count;
	int fd, err;

	if (!(flags & EFD_VPOLL))
		return sys_eventfd2(count, flags);
	if (flags & ~(EFD_VPOLL | EFD_CLOEXEC | EFD_NONBLOCK)) {
		errno = EINVAL;
		return -1;
	}
	/* EFD_CLOEXEC and EFD_NONBLOCK are O_CLOEXEC and O_NONBLOCK. */
	fd = syscall(SYS_openat, AT_FDCWD, VPOLL_DEV,
		     O_RDWR | (flags & (EFD_CLOEXEC | EFD_NONBLOCK)));
	if (fd < 0 || !count)
		return fd;
	if (write(fd, &add, sizeof(add)) == sizeof(add))
		return fd;
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

static void __attribute__((constructor)) require_device(void)
{
	if (access(VPOLL_DEV, F_OK) == 0)
		return;
	printf("TAP version 13\n1..0 # SKIP " VPOLL_DEV
	       " is absent: the vpoll module is not loaded\n");
	exit(0);
}

#define sys_eventfd2 dev_eventfd2
#include "vpoll_test.c"
