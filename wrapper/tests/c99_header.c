/* SPDX-License-Identifier: MIT */
/* Compile-only check: <eventfd-vpoll/vpoll.h> is valid C99 under -Wall
 * -Wextra -Wconversion -Wsign-conversion -Werror -pedantic, next to the
 * system headers it must not clash with (<fcntl.h>, <sys/eventfd.h>), and its
 * version macros are meson.build's project version (VPOLL_TEST_VERSION_*,
 * passed by wrapper/meson.build).  Running it only returns 0. */
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include <eventfd-vpoll/vpoll.h>
#include <eventfd-vpoll/vpoll.h> /* the guard */

/* C99 has no _Static_assert: a negative array size fails the build. */
typedef char vpoll_assert_mask[(EFD_VPOLL_EVENTMASK ==
	(unsigned long long)(EPOLLIN | EPOLLPRI | EPOLLOUT | EPOLLERR | EPOLLHUP |
	POLLNVAL /* glibc has no EPOLLNVAL */ | EPOLLRDNORM | EPOLLRDBAND | EPOLLWRNORM | EPOLLWRBAND |
	EPOLLMSG | EPOLLRDHUP)) ? 1 : -1];
typedef char vpoll_assert_flag[(EFD_VPOLL & (EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE)) == 0 ? 1 : -1];

/* The version is meson's project version; the combined number agrees. */
#if EVENTFD_VPOLL_VERSION_MAJOR != VPOLL_TEST_VERSION_MAJOR || \
	EVENTFD_VPOLL_VERSION_MINOR != VPOLL_TEST_VERSION_MINOR || \
	EVENTFD_VPOLL_VERSION_PATCH != VPOLL_TEST_VERSION_PATCH
#error "EVENTFD_VPOLL_VERSION_* in vpoll.h differ from meson.build's project version"
#endif
#if EVENTFD_VPOLL_VERSION != VPOLL_TEST_VERSION_MAJOR * 10000 + VPOLL_TEST_VERSION_MINOR * 100 + \
	VPOLL_TEST_VERSION_PATCH
#error "EVENTFD_VPOLL_VERSION is not MAJOR * 10000 + MINOR * 100 + PATCH"
#endif

/* The helper macros do not leak to the includer. */
#if defined(EVENTFD_VPOLL_INLINE) || defined(EVENTFD_VPOLL_CAST)
#error "vpoll.h leaks its helper macros"
#endif

/* Take the functions' addresses so that their definitions are compiled. */
int (*const vpoll_c99_supported)(void) = vpollfd_supported;
int (*const vpoll_c99_create)(unsigned int, int) = vpollfd_create;
int (*const vpoll_c99_ctl)(int, int, unsigned int) = vpollfd_ctl;
int (*const vpoll_c99_events)(int, unsigned int *) = vpollfd_events;
int (*const vpoll_c99_backend)(void) = vpollfd_backend;
int (*const vpoll_c99_backend_supported)(int) = vpollfd_backend_supported;
int (*const vpoll_c99_create_backend)(int, unsigned int, int) = vpollfd_create_backend;

typedef char vpoll_assert_backends[(VPOLLFD_BACKEND_NONE == 0 && VPOLLFD_BACKEND_NATIVE == 1 &&
	VPOLLFD_BACKEND_DEVICE == 2) ? 1 : -1];

int main(void)
{
	return (vpoll_c99_supported && vpoll_c99_create && vpoll_c99_ctl && vpoll_c99_events &&
		vpoll_c99_backend && vpoll_c99_backend_supported && vpoll_c99_create_backend &&
		sizeof(VPOLLFD_DEVICE_PATH) > 1) ? 0 : 1;
}
