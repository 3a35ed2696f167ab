// SPDX-License-Identifier: GPL-2.0
/*
 * io_uring_pri_wake: an IORING_OP_POLL_ADD for POLLPRI, armed before the
 * event, must complete when the event comes: out-of-band data on an AF_UNIX
 * stream socket, and ADD EPOLLPRI on an EFD_VPOLL eventfd.
 *
 * Without "io_uring/poll: let a poll request see EPOLLPRI on its own"
 * (patches/io_uring/) io_poll_wake() drops both wake-ups and the request
 * never completes. Stock kernels lack that fix, so on a kernel without
 * EFD_VPOLL (which this project's kernels carry together with the fix) a
 * socket failure is reported as XFAIL and the vpoll case is skipped.
 */

#define _GNU_SOURCE
#include <sys/socket.h>
#include "../../kselftest.h"
#include "vpoll_helpers.h"

#define WAKE_MS	5000
#define URING_PRI_FIX \
	"io_uring/poll: let a poll request see EPOLLPRI on its own"

static bool have_vpoll;

/*
 * Arms a POLLPRI poll request on FD, calls RAISE(ARG), and waits for the
 * CQE: 1 when it came with POLLPRI, 0 when it did not, -errno on setup
 * failure (-ENOSYS, -EPERM: io_uring unavailable).
 */
static int armed_then_raised(int fd, int (*raise)(int arg), int arg,
			     unsigned int *got)
{
	struct io_uring_cqe cqe;
	struct vpoll_ring r;
	int err;

	*got = 0;
	err = vpoll_ring_init(&r, 4);
	if (err)
		return err;
	err = vpoll_ring_poll_add(&r, fd, EPOLLPRI, false, 1);
	if (!err && vpoll_ring_pop(&r, &cqe)) {
		ksft_print_msg("completed before the event: res %d\n", cqe.res);
		err = -EALREADY;
	}
	if (!err)
		err = raise(arg);
	if (!err) {
		err = vpoll_ring_wait(&r, &cqe, WAKE_MS);
		if (!err) {
			*got = vpoll_from_poll(cqe.res);
			err = !!(*got & EPOLLPRI);
		} else if (err == -ETIME) {
			err = 0;
		}
	}
	vpoll_ring_exit(&r);
	return err;
}

static void report(const char *name, int ret, unsigned int got)
{
	if (ret == -ENOSYS || ret == -EPERM) {
		ksft_test_result_skip("%s: io_uring unavailable (%s)\n", name,
				      strerror(-ret));
	} else if (ret < 0) {
		ksft_test_result_fail("%s: %s\n", name, strerror(-ret));
	} else if (ret) {
		ksft_test_result_pass("%s\n", name);
	} else {
		ksft_print_msg("%s: no CQE with POLLPRI within %d ms (res %#x)\n",
			       name, WAKE_MS, got);
		if (have_vpoll)
			ksft_test_result_fail("%s: needs \"%s\"\n", name,
					      URING_PRI_FIX);
		else
			ksft_test_result_xfail("%s: a stock kernel, without \"%s\"\n",
					       name, URING_PRI_FIX);
	}
}

static int send_oob(int sock)
{
	return send(sock, "x", 1, MSG_OOB) == 1 ? 0 : -errno;
}

static int add_pri(int fd)
{
	return vpoll_write(fd, EFD_VPOLL_ADDEVENTS | EPOLLPRI);
}

int main(void)
{
	unsigned int got;
	int sv[2], fd, ret, vpoll_errno;

	ksft_print_header();
	ksft_set_plan(2);

	fd = sys_eventfd2(0, EFD_VPOLL | EFD_CLOEXEC);
	vpoll_errno = errno;
	have_vpoll = fd >= 0;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		ksft_test_result_skip("af_unix_oob: no AF_UNIX socket: %s\n",
				      strerror(errno));
	} else {
		ret = armed_then_raised(sv[1], send_oob, sv[0], &got);
		if (ret == -EOPNOTSUPP)
			ksft_test_result_skip("af_unix_oob: no MSG_OOB (CONFIG_AF_UNIX_OOB=n)\n");
		else
			report("af_unix_oob", ret, got);
		close(sv[0]);
		close(sv[1]);
	}

	if (!have_vpoll) {
		ksft_test_result_skip("vpoll_add_pri: no EFD_VPOLL (%s)\n",
				      strerror(vpoll_errno));
	} else {
		ret = armed_then_raised(fd, add_pri, fd, &got);
		report("vpoll_add_pri", ret, got);
		close(fd);
	}
	ksft_finished();
}
