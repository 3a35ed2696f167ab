// SPDX-License-Identifier: GPL-2.0
/*
 * Uses every constant the series adds to <linux/eventfd.h>, against the installed uapi headers
 * alone (no C library): compiled by scripts/checks/check-build for each architecture, and as C11 and
 * C++17 by the lint suite.
 */
#include <linux/eventfd.h>
#include <linux/eventpoll.h>
#include <linux/types.h>

#ifdef __cplusplus
#define VPOLL_ASSERT(e) static_assert(e, #e)
#else
#define VPOLL_ASSERT(e) _Static_assert(e, #e)
#endif

/* The flag: its own bit, none of the other eventfd flags. */
VPOLL_ASSERT(EFD_VPOLL == 2);
VPOLL_ASSERT((EFD_VPOLL & (EFD_SEMAPHORE | EFD_CLOEXEC | EFD_NONBLOCK)) == 0);

/* The commands: bits 32-63 of a __u64, whatever the size of long. */
VPOLL_ASSERT(sizeof(EFD_VPOLL_ADDEVENTS) == 8);
VPOLL_ASSERT(EFD_VPOLL_ADDEVENTS >> 32 == 1);
VPOLL_ASSERT(EFD_VPOLL_DELEVENTS >> 32 == 2);
VPOLL_ASSERT(EFD_VPOLL_MODEVENTS >> 32 == 3);
VPOLL_ASSERT((__u32)EFD_VPOLL_ADDEVENTS == 0);
VPOLL_ASSERT((__u32)EFD_VPOLL_DELEVENTS == 0);
VPOLL_ASSERT((__u32)EFD_VPOLL_MODEVENTS == 0);

/* The mask: exactly the event bits of <linux/eventpoll.h>, in the low half. */
VPOLL_ASSERT(EFD_VPOLL_EVENTMASK ==
	     ((__u64)(EPOLLIN | EPOLLPRI | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLNVAL |
		      EPOLLRDNORM | EPOLLRDBAND | EPOLLWRNORM | EPOLLWRBAND | EPOLLMSG |
		      EPOLLRDHUP)));
VPOLL_ASSERT((EFD_VPOLL_EVENTMASK >> 32) == 0);

/* What a program writes: a command and events in one __u64. */
__u64 vpoll_commands[] = {
	EFD_VPOLL_ADDEVENTS | EPOLLIN | EPOLLPRI,
	EFD_VPOLL_DELEVENTS | EPOLLIN,
	EFD_VPOLL_MODEVENTS | (EPOLLOUT & EFD_VPOLL_EVENTMASK),
};
int vpoll_flags = EFD_VPOLL | EFD_CLOEXEC | EFD_NONBLOCK;
