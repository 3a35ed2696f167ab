/* SPDX-License-Identifier: MIT */
/*
 * <eventfd-vpoll/vpoll.h> - glibc-style C functions for EFD_VPOLL eventfds.
 *
 * An EFD_VPOLL eventfd is a file descriptor whose poll events are set from
 * user space: poll/select/epoll/io_uring report whatever set the owner last
 * wrote.  These functions are thin wrappers over eventfd2(2), read(2) and
 * write(2), in the style of eventfd_read()/eventfd_write() of <sys/eventfd.h>:
 * they return -1 and set errno on failure, allocate nothing and keep no state.
 *
 * They never emulate: on a kernel without EFD_VPOLL, vpollfd_create() fails
 * with the kernel's EINVAL (vpollfd_supported() asks beforehand).  The C++
 * header <eventfd-vpoll/eventfd_vpoll.hpp> adds an emulated backend for such
 * kernels.
 *
 * This header deliberately does not include <linux/eventfd.h>: on Linux 6.12
 * that header pulls in <linux/fcntl.h>, which clashes with <fcntl.h> and
 * redefines glibc's EFD_* macros.  The few constants needed are defined here,
 * each only if the C library's <sys/eventfd.h> does not already define it.
 *
 * Usable from C99 (and later) and from C++.  In C the functions are static
 * inline; in C++ they are inline with external linkage (extern "C"), so that
 * inline C++ functions calling them do not break the one-definition rule.
 * Compiled as C++ the header uses no C-style cast.
 *
 * It lives in a directory of its own (<eventfd-vpoll/...>) so that it does not
 * collide with the <vpoll.h> of other packages (Debian's libvpoll-dev).
 */
#ifndef EVENTFD_VPOLL_VPOLL_H
#define EVENTFD_VPOLL_VPOLL_H

/* The wrapper's version (meson.build's project version, as MAJOR.MINOR.PATCH). */
#define EVENTFD_VPOLL_VERSION_MAJOR 4
#define EVENTFD_VPOLL_VERSION_MINOR 0
#define EVENTFD_VPOLL_VERSION_PATCH 0
/* One number for #if: MAJOR * 10000 + MINOR * 100 + PATCH (4.0.0 is 40000). */
#define EVENTFD_VPOLL_VERSION \
	(EVENTFD_VPOLL_VERSION_MAJOR * 10000 + EVENTFD_VPOLL_VERSION_MINOR * 100 + \
	 EVENTFD_VPOLL_VERSION_PATCH)

#include <errno.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* eventfd2(2) flag: the eventfd holds a poll event set, not a counter. */
#ifndef EFD_VPOLL
#define EFD_VPOLL (1 << 1)
#endif

/* write(2) commands, bits 32-63 of the 8-byte value written to the fd. */
#ifndef EFD_VPOLL_ADDEVENTS
#define EFD_VPOLL_ADDEVENTS (1ULL << 32)
#endif
#ifndef EFD_VPOLL_DELEVENTS
#define EFD_VPOLL_DELEVENTS (2ULL << 32)
#endif
#ifndef EFD_VPOLL_MODEVENTS
#define EFD_VPOLL_MODEVENTS (3ULL << 32)
#endif

/*
 * The events an EFD_VPOLL eventfd may carry: EPOLLIN, EPOLLPRI, EPOLLOUT,
 * EPOLLERR, EPOLLHUP, EPOLLNVAL, EPOLLRDNORM, EPOLLRDBAND, EPOLLWRNORM,
 * EPOLLWRBAND, EPOLLMSG and EPOLLRDHUP.
 */
#ifndef EFD_VPOLL_EVENTMASK
#define EFD_VPOLL_EVENTMASK 0x000027ffULL
#endif

/* vpollfd_ctl() operations: the command number of the write(2) ABI. */
#ifndef VPOLL_ADDEVENTS
#define VPOLL_ADDEVENTS 1
#endif
#ifndef VPOLL_DELEVENTS
#define VPOLL_DELEVENTS 2
#endif
#ifndef VPOLL_MODEVENTS
#define VPOLL_MODEVENTS 3
#endif

/*
 * EVENTFD_VPOLL_INLINE: static inline in C, inline (external linkage) in C++.
 * EVENTFD_VPOLL_CAST(type, value): a C cast in C, static_cast in C++ (for
 * users building with -Wold-style-cast).  Both are #undef'd at the end.
 */
#ifdef __cplusplus
#define EVENTFD_VPOLL_INLINE inline
#define EVENTFD_VPOLL_CAST(type, value) static_cast<type>(value)
#else
#define EVENTFD_VPOLL_INLINE static inline
#define EVENTFD_VPOLL_CAST(type, value) ((type)(value))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Create an EFD_VPOLL eventfd whose pending set is init_events.
 * flags: 0 or an OR of EFD_CLOEXEC and EFD_NONBLOCK.
 * Returns the new fd, or -1 with errno set (EINVAL: a bad flag, a bit of
 * init_events outside EFD_VPOLL_EVENTMASK, or a kernel without EFD_VPOLL).
 */
EVENTFD_VPOLL_INLINE int vpollfd_create(unsigned int init_events, int flags)
{
	return eventfd(init_events, flags | EFD_VPOLL);
}

/*
 * Whether this process can use EFD_VPOLL: creates an EFD_VPOLL eventfd
 * (EFD_CLOEXEC) and closes it.  Returns 1 if it can, 0 if the answer is
 * "cannot": EINVAL (a kernel without EFD_VPOLL), ENOSYS (no eventfd2) or
 * EPERM (a seccomp filter refuses eventfd2); errno is then left as it was.
 * Returns -1 with errno set if the probe cannot tell (EMFILE, ENFILE, ENOMEM,
 * ...: a transient answer, try again later).
 * Async-signal-safe: it calls only eventfd(2) and close(2).
 */
EVENTFD_VPOLL_INLINE int vpollfd_supported(void)
{
	int saved = errno;
	int fd = vpollfd_create(0, EFD_CLOEXEC);

	if (fd >= 0) {
		close(fd);
		errno = saved;
		return 1;
	}
	if (errno == EINVAL || errno == ENOSYS || errno == EPERM) {
		errno = saved;
		return 0;
	}
	return -1;
}

/*
 * Change the pending set of an EFD_VPOLL eventfd: op is VPOLL_ADDEVENTS
 * (set the bits of events), VPOLL_DELEVENTS (clear them) or VPOLL_MODEVENTS
 * (replace the set by events).  Returns 0, or -1 with errno set: EINVAL for
 * an unknown op (detected before any system call) or a bit outside
 * EFD_VPOLL_EVENTMASK (from the kernel; the set is then unchanged), or
 * what write(2) reports (EBADF, ...).  fd must be an EFD_VPOLL eventfd: on a
 * pipe or socket whose reader is gone, write(2) raises SIGPIPE.
 * Async-signal-safe (one write(2)), as are vpollfd_create() and
 * vpollfd_events().
 */
EVENTFD_VPOLL_INLINE int vpollfd_ctl(int fd, int op, unsigned int events)
{
	uint64_t request;
	ssize_t n;

	if (op < VPOLL_ADDEVENTS || op > VPOLL_MODEVENTS) {
		errno = EINVAL;
		return -1;
	}
	request = (EVENTFD_VPOLL_CAST(uint64_t, EVENTFD_VPOLL_CAST(unsigned int, op)) << 32) |
		  EVENTFD_VPOLL_CAST(uint64_t, events);
	do
		n = write(fd, &request, sizeof(request));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	if (n != EVENTFD_VPOLL_CAST(ssize_t, sizeof(request))) {
		errno = EIO;
		return -1;
	}
	return 0;
}

/*
 * Store the pending set of an EFD_VPOLL eventfd in *events.  Never blocks
 * and consumes nothing.  Returns 0, or -1 with errno set (what read(2)
 * reports: EBADF, ...).  *events is untouched on failure.
 */
EVENTFD_VPOLL_INLINE int vpollfd_events(int fd, unsigned int *events)
{
	uint64_t value;
	ssize_t n;

	do
		n = read(fd, &value, sizeof(value));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	if (n != EVENTFD_VPOLL_CAST(ssize_t, sizeof(value))) {
		errno = EIO;
		return -1;
	}
	*events = EVENTFD_VPOLL_CAST(unsigned int, value & EFD_VPOLL_EVENTMASK);
	return 0;
}

#ifdef __cplusplus
}
#endif

#undef EVENTFD_VPOLL_INLINE
#undef EVENTFD_VPOLL_CAST

#endif /* EVENTFD_VPOLL_VPOLL_H */
