/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
#ifndef _UAPI_LINUX_EVENTFD_H
#define _UAPI_LINUX_EVENTFD_H

#include <linux/fcntl.h>

#define EFD_SEMAPHORE (1 << 0)
#define EFD_VPOLL (1 << 1)
#define EFD_CLOEXEC O_CLOEXEC
#define EFD_NONBLOCK O_NONBLOCK

/*
 * An EFD_VPOLL eventfd holds a set of poll events instead of a counter.
 * A write(2) of a __u64 carries a command in bits 32-63 and events in
 * bits 0-31; a read(2) returns the pending set.
 */
#define EFD_VPOLL_ADDEVENTS (1ULL << 32)
#define EFD_VPOLL_DELEVENTS (2ULL << 32)
#define EFD_VPOLL_MODEVENTS (3ULL << 32)

/*
 * The events an EFD_VPOLL eventfd may carry: EPOLLIN, EPOLLPRI, EPOLLOUT,
 * EPOLLERR, EPOLLHUP, EPOLLNVAL, EPOLLRDNORM, EPOLLRDBAND, EPOLLWRNORM,
 * EPOLLWRBAND, EPOLLMSG and EPOLLRDHUP.
 */
#define EFD_VPOLL_EVENTMASK 0x000027ffULL

#endif /* _UAPI_LINUX_EVENTFD_H */
