/* SPDX-License-Identifier: MIT */
/*
 * <eventfd-vpoll/vpoll.h> - glibc-style C functions for EFD_VPOLL eventfds.
 *
 * An EFD_VPOLL eventfd is a file descriptor whose poll events are set from
 * user space: poll/select/epoll/io_uring report whatever set the owner last
 * wrote.  These functions are thin wrappers over eventfd2(2), open(2), read(2)
 * and write(2), in the style of eventfd_read()/eventfd_write() of
 * <sys/eventfd.h>: they return -1 and set errno on failure and allocate
 * nothing.
 *
 * Two backends speak the same protocol (8-byte writes and reads):
 *   native  an EFD_VPOLL eventfd, on a kernel carrying the EFD_VPOLL series;
 *   device  a descriptor of /dev/vpoll, from the vpoll module (module/ of
 *           this project) on a kernel without the series.
 * vpollfd_create() takes the process's backend: native if the kernel accepts
 * EFD_VPOLL, else the device if /dev/vpoll answers as the vpoll module does.
 * A transient answer (EMFILE, ENFILE, ENOMEM, ENOBUFS, EAGAIN, EINTR) is
 * returned and decides nothing; any other error means "this backend cannot be
 * used here" and moves on (EINVAL, ENOSYS, EPERM from eventfd2; ENOENT,
 * EACCES, EPERM, ENXIO, ENODEV from open, ...), as does a /dev/vpoll that does
 * not read as the module's.  The choice is made once per process, lock-free
 * (the first answers race, one is kept; every caller sees that one), so every
 * function here stays async-signal-safe.
 * vpollfd_backend() tells the choice, vpollfd_create_backend() takes a backend
 * explicitly.
 *
 * They never emulate: with neither backend, vpollfd_create() fails with
 * EINVAL.  The C++ header <eventfd-vpoll/eventfd_vpoll.hpp> adds an emulated
 * backend for that case.
 *
 * This header deliberately includes neither <linux/eventfd.h> nor <fcntl.h>:
 * the first pulls in <linux/fcntl.h>, which clashes with the second and
 * redefines glibc's EFD_* macros; a program may include either with this one.  The few constants needed are defined here,
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
#define EVENTFD_VPOLL_VERSION_MINOR 1
#define EVENTFD_VPOLL_VERSION_PATCH 0
/* One number for #if: MAJOR * 10000 + MINOR * 100 + PATCH (4.0.0 is 40000). */
#define EVENTFD_VPOLL_VERSION \
	(EVENTFD_VPOLL_VERSION_MAJOR * 10000 + EVENTFD_VPOLL_VERSION_MINOR * 100 + \
	 EVENTFD_VPOLL_VERSION_PATCH)

#if !defined(__GNUC__)
#error "<eventfd-vpoll/vpoll.h> needs GCC or Clang (a weak symbol and __atomic builtins)"
#endif

#include <errno.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

/*
 * /dev/vpoll is opened with openat(2) through syscall(2), not open(): open()
 * needs <fcntl.h>, which clashes with the <linux/fcntl.h> of
 * <linux/eventfd.h>.  glibc declares syscall() only for _DEFAULT_SOURCE
 * (__USE_MISC); this declaration is the same for strict C99.
 */
#if !defined(__cplusplus) && !defined(__USE_MISC)
extern long syscall(long number, ...);
#endif

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

/* Backends: vpollfd_backend(), vpollfd_backend_supported(), vpollfd_create_backend(). */
#define VPOLLFD_BACKEND_NONE 0   /* neither: vpollfd_create() fails with EINVAL */
#define VPOLLFD_BACKEND_NATIVE 1 /* an EFD_VPOLL eventfd */
#define VPOLLFD_BACKEND_DEVICE 2 /* a descriptor of /dev/vpoll (the vpoll module) */

/* The vpoll module's device. */
#define VPOLLFD_DEVICE_PATH "/dev/vpoll"
/* openat(2)'s AT_FDCWD and O_RDWR: the same on every Linux architecture. */
#define VPOLLFD_AT_FDCWD_ (-100)
#define VPOLLFD_O_RDWR_ 02

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
 * The process's backend choice: 0 while not made, else VPOLLFD_BACKEND_* + 1.
 * Not an interface: a weak definition in every translation unit, exported
 * (default visibility, even under -fvisibility=hidden), so that a program and
 * the shared objects it links share one.  A shared object that binds its own
 * symbols (-Bsymbolic, a version script with "local: *") or a plugin loaded
 * RTLD_LOCAL by a program that does not export it has its own: it probes once
 * more and comes to the same answer.
 */
extern int vpollfd_backend_choice_;
__attribute__((weak, visibility("default"))) int vpollfd_backend_choice_;

/*
 * Whether an open(2) or eventfd2(2) error is transient ("not now": no
 * descriptor, no memory, interrupted) rather than "cannot be used here".
 */
EVENTFD_VPOLL_INLINE int vpollfd_transient_(int err)
{
	return err == EMFILE || err == ENFILE || err == ENOMEM || err == ENOBUFS ||
	       err == EAGAIN || err == EINTR;
}

/*
 * Create an object of one backend, explicitly: no fallback, and the process's
 * choice is neither used nor made.  backend: VPOLLFD_BACKEND_NATIVE or
 * VPOLLFD_BACKEND_DEVICE; init_events and flags as for vpollfd_create().
 * Returns the new fd, or -1 with errno set: EINVAL for an unknown backend, a
 * bad flag or a bit of init_events outside EFD_VPOLL_EVENTMASK (checked here,
 * before any system call), else what eventfd2(2) or open(2) report (native on a kernel
 * without EFD_VPOLL: EINVAL; device without the module: ENOENT).
 * The device object starts empty and init_events is then added by a write:
 * nobody can wait on the fd before this function returns it, so the result
 * is the same.
 */
EVENTFD_VPOLL_INLINE int vpollfd_create_backend(int backend, unsigned int init_events, int flags)
{
	int fd, err;

	if ((backend != VPOLLFD_BACKEND_NATIVE && backend != VPOLLFD_BACKEND_DEVICE) ||
	    (flags & ~(EFD_CLOEXEC | EFD_NONBLOCK)) || (init_events & ~EFD_VPOLL_EVENTMASK)) {
		errno = EINVAL;
		return -1;
	}
	if (backend == VPOLLFD_BACKEND_NATIVE)
		return eventfd(init_events, flags | EFD_VPOLL);
	/* EFD_CLOEXEC and EFD_NONBLOCK are O_CLOEXEC and O_NONBLOCK (the kernel's eventfd.h). */
	fd = EVENTFD_VPOLL_CAST(int, syscall(SYS_openat, VPOLLFD_AT_FDCWD_, VPOLLFD_DEVICE_PATH,
					     VPOLLFD_O_RDWR_ | flags));
	if (fd < 0 || !init_events)
		return fd;
	{
		uint64_t request = EFD_VPOLL_ADDEVENTS | EVENTFD_VPOLL_CAST(uint64_t, init_events);
		ssize_t n;

		do
			n = write(fd, &request, sizeof(request));
		while (n < 0 && errno == EINTR);
		if (n == EVENTFD_VPOLL_CAST(ssize_t, sizeof(request)))
			return fd;
		err = n < 0 ? errno : EIO;
	}
	close(fd);
	errno = err;
	return -1;
}

/*
 * Whether this process can use one backend, asked now (nothing is cached):
 * creates an object (EFD_CLOEXEC) and closes it; for the device, its first
 * read must give the empty set, as the vpoll module's does (an older
 * /dev/vpoll, Debian's vpoll-dkms, refuses read(2): no).  Returns 1 if it can,
 * 0 if the answer is "cannot" (any error but a transient one; errno is then
 * left as it was), or -1 with errno set if the probe cannot tell (EMFILE,
 * ENFILE, ENOMEM, ENOBUFS, EAGAIN, EINTR: try again later; EINVAL for an
 * unknown backend).
 * Async-signal-safe.
 */
EVENTFD_VPOLL_INLINE int vpollfd_backend_supported(int backend)
{
	int saved = errno;
	uint64_t value = 1;
	ssize_t n = 0;
	int fd;

	if (backend != VPOLLFD_BACKEND_NATIVE && backend != VPOLLFD_BACKEND_DEVICE) {
		errno = EINVAL;
		return -1;
	}
	fd = vpollfd_create_backend(backend, 0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0) {
		if (vpollfd_transient_(errno))
			return -1;
		errno = saved;
		return 0;
	}
	if (backend == VPOLLFD_BACKEND_DEVICE) {
		do
			n = read(fd, &value, sizeof(value));
		while (n < 0 && errno == EINTR);
	}
	close(fd);
	errno = saved;
	if (backend == VPOLLFD_BACKEND_NATIVE)
		return 1;
	return n == EVENTFD_VPOLL_CAST(ssize_t, sizeof(value)) && value == 0;
}

/*
 * The process's backend: VPOLLFD_BACKEND_NATIVE, VPOLLFD_BACKEND_DEVICE or
 * VPOLLFD_BACKEND_NONE, chosen on the first call that gets an answer (native
 * first) and kept for the life of the process (a forked child inherits it).
 * Returns -1 with errno set when the probe cannot tell (EMFILE, ...); nothing
 * is kept then.  errno is left as it was otherwise.  Lock-free and
 * async-signal-safe.
 */
EVENTFD_VPOLL_INLINE int vpollfd_backend(void)
{
	int choice = __atomic_load_n(&vpollfd_backend_choice_, __ATOMIC_ACQUIRE);
	int expected = 0;
	int r;

	if (choice > 0)
		return choice - 1;
	r = vpollfd_backend_supported(VPOLLFD_BACKEND_NATIVE);
	if (r < 0)
		return -1;
	if (r) {
		choice = VPOLLFD_BACKEND_NATIVE;
	} else {
		r = vpollfd_backend_supported(VPOLLFD_BACKEND_DEVICE);
		if (r < 0)
			return -1;
		choice = r ? VPOLLFD_BACKEND_DEVICE : VPOLLFD_BACKEND_NONE;
	}
	/* Concurrent first calls (threads, a signal handler) agree on one. */
	if (!__atomic_compare_exchange_n(&vpollfd_backend_choice_, &expected, choice + 1, 0,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return expected - 1;
	return choice;
}

/*
 * Create an object whose pending set is init_events, on the process's backend
 * (vpollfd_backend()).  flags: 0 or an OR of EFD_CLOEXEC and EFD_NONBLOCK.
 * Returns the new fd, or -1 with errno set: EINVAL for a bad flag or a bit of
 * init_events outside EFD_VPOLL_EVENTMASK (checked before anything else: bad
 * arguments neither probe nor make the choice), or neither backend available;
 * a transient errno of the probe or of the creation (EMFILE, ENFILE, ENOMEM).
 */
EVENTFD_VPOLL_INLINE int vpollfd_create(unsigned int init_events, int flags)
{
	int backend;

	if ((flags & ~(EFD_CLOEXEC | EFD_NONBLOCK)) || (init_events & ~EFD_VPOLL_EVENTMASK)) {
		errno = EINVAL;
		return -1;
	}
	backend = vpollfd_backend();
	if (backend < 0)
		return -1;
	if (backend == VPOLLFD_BACKEND_NONE) {
		errno = EINVAL;
		return -1;
	}
	return vpollfd_create_backend(backend, init_events, flags);
}

/*
 * Whether the kernel accepts EFD_VPOLL (the native backend), asked now:
 * vpollfd_backend_supported(VPOLLFD_BACKEND_NATIVE).  Returns 1 if it does, 0
 * if the answer is "cannot" (EINVAL: a kernel without EFD_VPOLL; ENOSYS: no
 * eventfd2; EPERM: a seccomp filter; any error but a transient one); errno is
 * then left as it was.  Returns -1 with errno set if the probe cannot tell
 * (EMFILE, ENFILE, ENOMEM, ...: a transient answer, try again later).
 * Async-signal-safe: it calls only eventfd(2) and close(2).
 */
EVENTFD_VPOLL_INLINE int vpollfd_supported(void)
{
	return vpollfd_backend_supported(VPOLLFD_BACKEND_NATIVE);
}

/*
 * Change the pending set of an object (either backend): op is VPOLL_ADDEVENTS
 * (set the bits of events), VPOLL_DELEVENTS (clear them) or VPOLL_MODEVENTS
 * (replace the set by events).  Returns 0, or -1 with errno set: EINVAL for
 * an unknown op (detected before any system call) or a bit outside
 * EFD_VPOLL_EVENTMASK (from the kernel; the set is then unchanged), or
 * what write(2) reports (EBADF, ...).  fd must be an object of this header: on
 * a pipe or socket whose reader is gone, write(2) raises SIGPIPE.
 * Async-signal-safe (one write(2)), as is every function here.
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
 * Store the pending set of an object (either backend) in *events.  Never blocks
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
#undef VPOLLFD_AT_FDCWD_
#undef VPOLLFD_O_RDWR_

#endif /* EVENTFD_VPOLL_VPOLL_H */
