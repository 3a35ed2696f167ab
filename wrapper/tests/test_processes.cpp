// SPDX-License-Identifier: MIT
//
// fork, signals, release()/adopt(), the fallback's errno rules and the
// wrapper's own error category; the same cases on every backend.
#include <catch2/catch.hpp>

#include "backend_under_test.hpp"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <vector>

using vpoll::event;
using vpoll::event_set;
using vpoll_test::emulated;
using vpoll_test::exited_zero;
using vpoll_test::make_object;
using vpoll_test::under_test;
using vpoll_test::wait_bounded;

namespace {

constexpr event_set R = vpoll::readable, W = vpoll::writable;
constexpr event_set err_state = event::err | event::hup | event::rdhup | vpoll::readable | vpoll::writable;

} // namespace

// ---------------------------------------------------------------- fork

TEST_CASE("fork: a living child does not keep ERR from showing", "[fork]")
{
	auto v = make_object(W);
	int go[2];
	REQUIRE(::pipe2(go, O_CLOEXEC) == 0);
	pid_t pid = ::fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		char c;
		::close(go[1]);
		::_exit(::read(go[0], &c, 1) == 0 ? 0 : 1); // lives until the parent closes go
	}
	::close(go[0]);
	std::error_code ec;
	v.add(err_state, ec);
	CHECK_FALSE(ec);
	CHECK(v.events(ec) == err_state);
	::close(go[1]);
	CHECK(exited_zero(wait_bounded(pid, 10)));
}

TEST_CASE("fork: without the atfork handler (raw fork), raising ERR fails loudly", "[fork]")
{
	auto v = make_object(W);
	int go[2];
	REQUIRE(::pipe2(go, O_CLOEXEC) == 0);
	// The fork system call itself, as _Fork() or a raw clone(): no atfork
	// handlers run, the child keeps its copy of the driving end.
	long pid = ::syscall(SYS_fork);
	REQUIRE(pid >= 0);
	if (pid == 0) {
		char c;
		::close(go[1]);
		::_exit(::read(go[0], &c, 1) == 0 ? 0 : 1);
	}
	::close(go[0]);
	std::error_code ec;
	v.add(err_state, ec);
	if (emulated) {
		CHECK(ec == vpoll::errc::driver_shared);
		CHECK(ec.category() == vpoll::category());
		CHECK_FALSE(v.events().contains(event::err)); // what the fd shows, not what was asked
		v.add(R, ec);
		CHECK(ec == vpoll::errc::driver_shared); // the object no longer drives
	} else {
		CHECK_FALSE(ec);
		CHECK(v.events() == err_state);
	}
	::close(go[1]);
	CHECK(exited_zero(wait_bounded(static_cast<pid_t>(pid), 10)));
}

TEST_CASE("fork while another thread is inside add()/del(): the child never hangs", "[fork]")
{
	auto v = make_object(W);
	std::atomic<bool> stop{false};
	std::thread driver([&] {
		std::error_code ec;
		while (!stop) {
			v.add(event::pri | R, ec);
			v.del(event::pri | R | W, ec);
			v.add(W, ec);
		}
	});
	int hung = 0, failed = 0;
	for (int i = 0; i < 20; ++i) {
		std::this_thread::sleep_for(std::chrono::milliseconds(2));
		pid_t pid = ::fork();
		REQUIRE(pid >= 0);
		if (pid == 0) {
			std::error_code ec;
			v.events(ec); // no lock
			bool ok = !ec;
			(void)v.can_reach(W);
			v.add(R, ec);
			ok = ok && (emulated ? ec == vpoll::errc::not_owner : !ec);
			struct pollfd p = {v.fd(), POLLOUT | POLLIN, 0};
			ok = ok && ::poll(&p, 1, 0) >= 0;
			::_exit(ok ? 0 : 1);
		}
		const int status = wait_bounded(pid, 10);
		hung += status == -1;
		failed += !exited_zero(status);
	}
	stop = true;
	driver.join();
	CHECK(hung == 0);
	CHECK(failed == 0);
}

// ---------------------------------------------------------------- signals

namespace {

vpoll::eventfd_vpoll *signal_target;
std::atomic<int> handler_ok{0}, handler_reentered{0}, handler_other{0};

extern "C" void add_from_handler(int)
{
	const int saved = errno;
	std::error_code ec;
	signal_target->add(R, ec);
	if (!ec)
		++handler_ok;
	else if (ec == vpoll::errc::reentered)
		++handler_reentered;
	else
		++handler_other;
	errno = saved;
}

} // namespace

TEST_CASE("signals: add() from a signal handler, bounded", "[signals]")
{
	// In a child with an alarm: a deadlock kills it instead of hanging the run.
	pid_t pid = ::fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		::alarm(60);
		auto v = make_object(W);
		signal_target = &v;
		struct sigaction sa = {};
		sa.sa_handler = add_from_handler;
		::sigemptyset(&sa.sa_mask);
		if (::sigaction(SIGUSR1, &sa, nullptr) < 0)
			::_exit(2);
		// Outside any change: the handler's add() works.
		::raise(SIGUSR1);
		if (handler_ok != 1 || v.events() != (R | W))
			::_exit(3);
		// Interrupting changes of the same object on another thread, and
		// on the thread itself.
		std::atomic<bool> stop{false};
		std::thread driver([&] {
			std::error_code ec;
			while (!stop) {
				v.del(R, ec);
				v.mod(W, ec);
			}
		});
		for (int i = 0; i < 2000; ++i) {
			::pthread_kill(driver.native_handle(), SIGUSR1);
			if (i % 4 == 0)
				::raise(SIGUSR1);
		}
		stop = true;
		driver.join();
		std::printf("handler: %d ok, %d reentered, %d other\n", handler_ok.load(),
			    handler_reentered.load(), handler_other.load());
		if (handler_other != 0)
			::_exit(4);
		if (!emulated && handler_reentered != 0)
			::_exit(5);
		// The object is still consistent and drivable.
		v.mod(R | W);
		if (v.events() != (R | W))
			::_exit(6);
		std::fflush(stdout);
		::_exit(0);
	}
	const int status = wait_bounded(pid, 90);
	INFO("status " << status);
	CHECK(exited_zero(status));
}

const int *vpoll_test_choice_address_processes()
{
	return &vpollfd_backend_choice_;
}

// ---------------------------------------------------------------- release, adopt

TEST_CASE("release() gives the documented state; adopt() takes only vpoll fds", "[release]")
{
	std::error_code ec;
	for (event_set initial : {event::pri | R | W, R, err_state}) {
		INFO("released from " << vpoll::to_string(initial));
		auto v = make_object(initial);
		const int fd = v.release();
		REQUIRE(fd >= 0);
		CHECK(v.fd() == -1);
		struct pollfd p = {fd, static_cast<short>(vpoll::event_mask), 0};
		REQUIRE(::poll(&p, 1, 0) >= 0);
		const event_set shown = event_set::from_epoll_masked(static_cast<unsigned short>(p.revents));
		char link[64] = {}, path[64];
		std::snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		if (::readlink(path, link, sizeof(link) - 1) < 0)
			std::strcpy(link, "?");
		std::printf("released fd: %s\n", link);
		auto again = vpoll::eventfd_vpoll::adopt(fd, ec);
		if (!emulated) {
			CHECK(shown == initial);
			REQUIRE_FALSE(ec);
			CHECK(again.kind() == under_test);
			CHECK(again.events() == initial);
			continue;
		}
		// A socket whose peer closed cleanly (or the frozen ERR state).
		const event_set expected = initial.contains(event::err)
			? err_state : R | W | event::hup | event::rdhup;
		CHECK(vpoll::to_string(shown) == vpoll::to_string(expected));
		char c;
		if (!initial.contains(event::err))
			CHECK(::read(fd, &c, 1) == 0);
		CHECK(ec == vpoll::errc::not_vpoll);
		CHECK(again.fd() == -1);
		CHECK(::fcntl(fd, F_GETFD) >= 0); // still the caller's
		::close(fd);
	}

	// A counting eventfd, a pipe, a closed fd.
	const int counter = ::eventfd(0, EFD_CLOEXEC);
	REQUIRE(counter >= 0);
	auto refused = vpoll::eventfd_vpoll::adopt(counter, ec);
	CHECK(ec == vpoll::errc::not_vpoll);
	CHECK(ec == std::errc::invalid_argument);
	CHECK(refused.fd() == -1);
	CHECK(::fcntl(counter, F_GETFD) >= 0);
	int pfd[2];
	REQUIRE(::pipe2(pfd, O_CLOEXEC) == 0);
	vpoll::eventfd_vpoll::adopt(pfd[1], ec);
	CHECK(ec == vpoll::errc::not_vpoll);
	::close(pfd[0]);
	::close(pfd[1]);
	// adopt_native() keeps its 4.0 contract: EFD_VPOLL eventfds only.
	if (vpoll_test::device) {
		auto d = make_object(W);
		auto refused_dev = vpoll::eventfd_vpoll::adopt_native(d.fd(), ec);
		CHECK(ec == vpoll::errc::not_vpoll);
		CHECK_FALSE(refused_dev);
		// Open for reading only: not adoptable (add() would fail).
		const int ro = ::open(VPOLLFD_DEVICE_PATH, O_RDONLY | O_CLOEXEC);
		REQUIRE(ro >= 0);
		vpoll::eventfd_vpoll::adopt(ro, ec);
		CHECK(ec == vpoll::errc::not_vpoll);
		::close(ro);
	}
	// A character device other than /dev/vpoll.
	const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
	REQUIRE(null >= 0);
	vpoll::eventfd_vpoll::adopt(null, ec);
	CHECK(ec == vpoll::errc::not_vpoll);
	::close(null);
	::close(counter);
	vpoll::eventfd_vpoll::adopt(counter, ec);
	CHECK(ec == std::errc::bad_file_descriptor);
	CHECK_THROWS_AS(vpoll::eventfd_vpoll::adopt(counter), std::system_error);
	CHECK_THROWS_AS(vpoll::eventfd_vpoll::adopt_native(counter), std::system_error);
}

TEST_CASE("adopt(release()) never dies of SIGPIPE", "[release]")
{
	pid_t pid = ::fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		::signal(SIGPIPE, SIG_DFL);
		auto v = make_object(R | W);
		std::error_code ec;
		auto again = vpoll::eventfd_vpoll::adopt(v.release(), ec);
		again.add(R, ec);
		again.mod(W, ec);
		again.del(W, ec);
		::_exit(emulated ? (ec == std::errc::bad_file_descriptor ? 0 : 1) : (ec ? 1 : 0));
	}
	const int status = wait_bounded(pid, 10);
	CHECK_FALSE((status >= 0 && WIFSIGNALED(status) && WTERMSIG(status) == SIGPIPE));
	CHECK(exited_zero(status));
}

// ---------------------------------------------------------------- fallback and errors

namespace {

// In a child: system call nr fails with err, as under a container's seccomp
// policy.  Filters stack: each refuses one system call.
bool refuse(long nr, int err)
{
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, static_cast<unsigned>(nr), 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (static_cast<unsigned>(err) & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {static_cast<unsigned short>(sizeof(code) / sizeof(code[0])), code};
	return ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
	       ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0;
}

// Runs body in a child that has not chosen a backend; its exit status (77: no
// seccomp filters here).
template <typename F>
int in_fresh_child(F body)
{
	pid_t pid = ::fork();
	if (pid == 0) {
		vpoll_test::forget_backend_choice();
		::_exit(body());
	}
	return pid < 0 ? -2 : wait_bounded(pid, 30);
}

// Judges a child of in_fresh_child(): exit 0 passes; 77 (no seccomp filters
// here) is a SKIP, said so, and returns true: the caller stops.
bool skipped_or_checked(int status)
{
	INFO("status " << status);
	if (status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 77) {
		WARN("SKIP: this kernel has no seccomp filters (CONFIG_SECCOMP_FILTER)");
		return true;
	}
	CHECK(exited_zero(status));
	return false;
}

const char *errno_name(int e)
{
	switch (e) {
	case EINVAL: return "EINVAL";
	case EISDIR: return "EISDIR";
	case ELOOP: return "ELOOP";
	case EBUSY: return "EBUSY";
	case ENOBUFS: return "ENOBUFS";
	case EAGAIN: return "EAGAIN";
	case ENOSYS: return "ENOSYS";
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case ENOTDIR: return "ENOTDIR";
	case EACCES: return "EACCES";
	case ENXIO: return "ENXIO";
	case ENODEV: return "ENODEV";
	case EMFILE: return "EMFILE";
	case ENFILE: return "ENFILE";
	case ENOMEM: return "ENOMEM";
	}
	return "?";
}

} // namespace

TEST_CASE("fallback: EPERM from seccomp selects /dev/vpoll, else the emulation", "[fallback]")
{
	const vpoll::backend want = vpoll::device_available() ? vpoll::backend::device
							      : vpoll::backend::emulated;
	const int status = in_fresh_child([want] {
		if (!refuse(__NR_eventfd2, EPERM))
			return 77; // no CONFIG_SECCOMP_FILTER
		errno = 0;
		if (vpollfd_supported() != 0 || errno != 0)
			return 3;
		std::error_code ec;
		if (vpoll::native_available(ec) || ec)
			return 4;
		vpoll::eventfd_vpoll v(W, EFD_CLOEXEC, vpoll::backend::automatic, ec);
		return !ec && v && v.kind() == want && v.events() == W ? 0 : 5;
	});
	skipped_or_checked(status);
}

// A transient errno (EMFILE, ENFILE, ENOMEM, ENOBUFS, EAGAIN) is returned and
// leaves the choice unmade; any other makes its backend "cannot": those the
// issue lists (EINVAL, ENOSYS, EPERM, ENOENT, EACCES), and others a sandbox or
// another driver's /dev/vpoll may give.
TEST_CASE("fallback: which errors decide the choice and which do not", "[fallback]")
{
	const bool device = vpoll::device_available();
	struct row {
		long nr;
		int err;
		int expect; // vpollfd_backend(), -1 for a transient answer
	};
	const int after_eventfd = device ? VPOLLFD_BACKEND_DEVICE : VPOLLFD_BACKEND_NONE;
	const row rows[] = {
		{__NR_eventfd2, EINVAL, after_eventfd},
		{__NR_eventfd2, ENOSYS, after_eventfd},
		{__NR_eventfd2, EPERM, after_eventfd},
		{__NR_eventfd2, EACCES, after_eventfd},
		{__NR_eventfd2, ENODEV, after_eventfd},
		{__NR_eventfd2, EMFILE, -1},
		{__NR_eventfd2, ENFILE, -1},
		{__NR_eventfd2, ENOMEM, -1},
		{__NR_eventfd2, EAGAIN, -1},
		{__NR_openat, ENOENT, VPOLLFD_BACKEND_NONE},
		{__NR_openat, ENOTDIR, VPOLLFD_BACKEND_NONE},
		{__NR_openat, EACCES, VPOLLFD_BACKEND_NONE},
		{__NR_openat, EPERM, VPOLLFD_BACKEND_NONE},
		{__NR_openat, ENXIO, VPOLLFD_BACKEND_NONE},
		{__NR_openat, ENODEV, VPOLLFD_BACKEND_NONE},
		{__NR_openat, EISDIR, VPOLLFD_BACKEND_NONE},
		{__NR_openat, ELOOP, VPOLLFD_BACKEND_NONE},
		{__NR_openat, EBUSY, VPOLLFD_BACKEND_NONE},
		{__NR_openat, EMFILE, -1},
		{__NR_openat, ENFILE, -1},
		{__NR_openat, ENOMEM, -1},
		{__NR_openat, ENOBUFS, -1},
	};
	for (const row &r : rows) {
		const bool open_row = r.nr == __NR_openat;
		INFO((open_row ? "open" : "eventfd2") << " fails with " << errno_name(r.err));
		const int status = in_fresh_child([&r, open_row] {
			// The open rows: eventfd2 refused too (a stock kernel);
			// open(2) is openat(2) in glibc, open(2) elsewhere.
			if ((open_row && !refuse(__NR_eventfd2, EINVAL)) || !refuse(r.nr, r.err))
				return 77;
#ifdef __NR_open
			if (open_row && !refuse(__NR_open, r.err))
				return 77;
#endif
			errno = 1234;
			const int got = vpollfd_backend();
			if (got != r.expect)
				return 10 + got;
			if (got < 0)
				return errno == r.err && vpoll_test::backend_choice() == 0 &&
					       vpollfd_backend() == -1 ? 0 : 2;
			if (errno != 1234 || vpoll_test::backend_choice() != got + 1)
				return 3;
			// The C++ layer follows the C choice; the emulation stands in.
			std::error_code ec;
			vpoll::eventfd_vpoll v(W, EFD_CLOEXEC, vpoll::backend::automatic, ec);
			const vpoll::backend want = got == VPOLLFD_BACKEND_DEVICE
				? vpoll::backend::device : vpoll::backend::emulated;
			return !ec && v.kind() == want && v.events() == W ? 0 : 4;
		});
		if (skipped_or_checked(status))
			return;
	}
}

TEST_CASE("the choice is kept: later answers of the kernel change nothing", "[fallback]")
{
	const int status = in_fresh_child([] {
		const int first = vpollfd_backend();
		if (first < 0)
			return 2;
		// Now both probes would say "cannot": a kept choice does not ask.
		if (!refuse(__NR_eventfd2, EINVAL) || !refuse(__NR_openat, ENOENT))
			return 77;
		for (int i = 0; i < 3; ++i)
			if (vpollfd_backend() != first)
				return 3;
		return 0;
	});
	skipped_or_checked(status);
}

TEST_CASE("fallback: EMFILE is returned, never cached as the process's choice", "[fallback]")
{
	const vpoll::backend want = vpoll_test::expected_automatic();
	const int status = in_fresh_child([want] {
		vpoll::detail::oob_state = -1;
		struct rlimit old;
		if (::getrlimit(RLIMIT_NOFILE, &old) < 0)
			return 2;
		struct rlimit none = {0, old.rlim_max};
		if (::setrlimit(RLIMIT_NOFILE, &none) < 0)
			return 2;
		std::error_code ec;
		vpoll::eventfd_vpoll v(W, EFD_CLOEXEC, vpoll::backend::automatic, ec);
		if (ec != std::errc::too_many_files_open || v)
			return 3;
		// Neither the kernel nor the device could be asked: nothing kept.
		if (vpoll::detail::oob_state != -1)
			return 4;
		if (vpoll_test::backend_choice() != 0)
			return 5;
		vpoll::eventfd_vpoll e(W, EFD_CLOEXEC, vpoll::backend::emulated, ec);
		if (ec != std::errc::too_many_files_open)
			return 6;
		if (::setrlimit(RLIMIT_NOFILE, &old) < 0)
			return 7;
		vpoll::eventfd_vpoll w(W, EFD_CLOEXEC, vpoll::backend::automatic, ec);
		return !ec && w.kind() == want ? 0 : 8;
	});
	INFO("status " << status);
	CHECK(exited_zero(status));
}

TEST_CASE("PRI follows the AF_UNIX MSG_OOB probe", "[fallback]")
{
	std::error_code ec;
	const bool oob = vpoll::detail::oob_available(ec);
	REQUIRE_FALSE(ec);
	std::printf("\nAF_UNIX MSG_OOB shown as POLLPRI: %s\n", oob ? "yes" : "no");
	if (!emulated)
		return;
	auto v = make_object(W);
	CHECK(v.supported().settable.contains(event::pri) == oob);
	CHECK(v.can_reach(event::pri | R | W) == oob);
	// Where the probe says no, PRI is refused (simulated in a child).
	pid_t pid = ::fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		vpoll::detail::oob_state = 0;
		auto w = make_object(W);
		std::error_code e;
		w.add(event::pri | R, e);
		const bool ok = e == vpoll::errc::unreachable && w.events() == W &&
				!w.supported().settable.contains(event::pri) &&
				!w.can_reach(event::pri | R | W) && w.can_reach(R | W);
		::_exit(ok ? 0 : 1);
	}
	CHECK(exited_zero(wait_bounded(pid, 10)));
}

TEST_CASE("the wrapper's refusals are not the kernel's EOPNOTSUPP", "[errors]")
{
	const std::error_code kernel(EOPNOTSUPP, std::system_category());
	const std::error_code refusal = vpoll::errc::unreachable;
	CHECK(refusal != kernel);
	CHECK(refusal.category() == vpoll::category());
	CHECK(refusal == std::errc::not_supported); // the condition, for code that tests it
	CHECK(std::string(vpoll::category().name()) == "vpoll");
	for (int e = 1; e <= 6; ++e)
		CHECK_FALSE(vpoll::category().message(e).empty());
	if (emulated) {
		auto v = make_object(W);
		std::error_code ec;
		v.add(event::msg, ec);
		CHECK(ec == vpoll::errc::unreachable);
		CHECK(ec != kernel);
	}
}
