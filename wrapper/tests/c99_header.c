/* SPDX-License-Identifier: MIT */
/* Compile-only check: vpoll.h is valid C99 under -Wall -Wextra -Werror
 * -pedantic, next to the system headers it must not clash with (<fcntl.h>,
 * <sys/eventfd.h>).  Running it only returns 0. */
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include <eventfd-vpoll/vpoll.h>

/* C99 has no _Static_assert: a negative array size fails the build. */
typedef char vpoll_assert_mask[(EFD_VPOLL_EVENTMASK ==
	(unsigned long long)(EPOLLIN | EPOLLPRI | EPOLLOUT | EPOLLERR | EPOLLHUP |
	POLLNVAL /* glibc has no EPOLLNVAL */ | EPOLLRDNORM | EPOLLRDBAND | EPOLLWRNORM | EPOLLWRBAND |
	EPOLLMSG | EPOLLRDHUP)) ? 1 : -1];
typedef char vpoll_assert_flag[(EFD_VPOLL & (EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE)) == 0 ? 1 : -1];

/* Take the functions' addresses so that their definitions are compiled. */
int (*const vpoll_c99_create)(unsigned int, int) = vpollfd_create;
int (*const vpoll_c99_ctl)(int, int, unsigned int) = vpollfd_ctl;
int (*const vpoll_c99_events)(int, unsigned int *) = vpollfd_events;

int main(void)
{
	return (vpoll_c99_create && vpoll_c99_ctl && vpoll_c99_events) ? 0 : 1;
}
