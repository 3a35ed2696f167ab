// SPDX-License-Identifier: MIT
//
// The wrapper's tests, compiled once per backend (backend_under_test.hpp).
// The native executable exits 77 (SKIP) where the kernel lacks EFD_VPOLL, the
// device one where /dev/vpoll is not the vpoll module's.
#include <catch2/catch.hpp>

#include "backend_under_test.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

using vpoll::event;
using vpoll::event_set;

namespace {

using vpoll_test::backend_name;
using vpoll_test::emulated;
using vpoll_test::under_test;

const event_set every_event[] = {
	event::in, event::pri, event::out, event::err, event::hup, event::nval,
	event::rdnorm, event::rdband, event::wrnorm, event::wrband, event::msg, event::rdhup,
};

// What poll(2) reports for fd right now, every event asked for.
unsigned poll_now(int fd)
{
	struct pollfd p = {fd, static_cast<short>(vpoll::event_mask), 0};
	int n = ::poll(&p, 1, 0);
	REQUIRE(n >= 0);
	return static_cast<unsigned short>(p.revents);
}

// What a fresh level-triggered epoll instance reports for fd right now.
unsigned epoll_now(int fd)
{
	int ep = ::epoll_create1(EPOLL_CLOEXEC);
	REQUIRE(ep >= 0);
	struct epoll_event ev = {};
	ev.events = vpoll::event_mask;
	REQUIRE(::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0);
	struct epoll_event out = {};
	int n = ::epoll_wait(ep, &out, 1, 0);
	::close(ep);
	REQUIRE(n >= 0);
	return n ? out.events : 0u;
}

std::string name(event_set s) { return vpoll::to_string(s); }
std::string name(unsigned bits) { return vpoll::to_string(event_set::from_epoll_masked(bits)) +
				  ((bits & ~vpoll::event_mask) ? "+extra" : ""); }

// The object, poll and epoll all show exactly `expected`.
void check_shows(const vpoll::eventfd_vpoll &v, event_set expected)
{
	INFO("backend " << backend_name << ", expected " << name(expected));
	CHECK(name(v.events()) == name(expected));
	CHECK(name(poll_now(v.fd())) == name(expected));
	CHECK(name(epoll_now(v.fd())) == name(expected));
}

std::size_t open_fds()
{
	std::size_t n = 0;
	DIR *d = ::opendir("/proc/self/fd");
	REQUIRE(d != nullptr);
	while (struct dirent *e = ::readdir(d))
		if (e->d_name[0] != '.')
			++n;
	::closedir(d);
	return n; // includes the DIR's own fd, the same each time
}

vpoll::eventfd_vpoll make(event_set initial = {}, int flags = EFD_CLOEXEC)
{
	return vpoll::eventfd_vpoll(initial, flags, under_test);
}

// The states this backend can show, and whether it can go from one to another.
std::vector<event_set> states()
{
	if (!emulated) {
		std::vector<event_set> s(std::begin(every_event), std::end(every_event));
		s.push_back({});
		s.push_back(event_set::all());
		s.push_back(event::in | event::pri);
		s.push_back(event::err | event::hup | event::out);
		s.push_back(~(event::in | event::out));
		return s;
	}
	// Every combination of the groups a unix socket shows; the model decides
	// which are expected to work, the kernel (poll/epoll) whether they do.
	const event_set groups[] = {vpoll::readable, event::pri, vpoll::writable,
				    event::rdhup, event::hup, event::err};
	std::vector<event_set> s;
	for (unsigned m = 0; m < 64; ++m) {
		event_set e;
		for (unsigned g = 0; g < 6; ++g)
			if (m & (1u << g))
				e |= groups[g];
		s.push_back(e);
	}
	for (event_set e : every_event) // lone bits: mostly ENOTSUP
		s.push_back(e);
	return s;
}

bool expect_reachable(event_set from, event_set to)
{
	return !emulated || vpoll::detail::emulation::reachable(from.to_epoll(), to.to_epoll());
}

constexpr event_set fresh_emulated = vpoll::writable;

} // namespace

const char *vpoll_test_skip_reason()
{
	if (under_test == vpoll::backend::native && !vpoll::native_available())
		return "native backend: this kernel does not accept EFD_VPOLL "
		       "(run inside the patched kernel: scripts/vm-run)";
	if (under_test == vpoll::backend::device && !vpoll::device_available())
		return "device backend: no " VPOLLFD_DEVICE_PATH " of the vpoll module "
		       "(load it: module/README.md)";
	return nullptr;
}

// ---------------------------------------------------------------- event_set

static_assert(!std::is_constructible_v<event_set, std::uint32_t>,
	      "raw bits must go through from_epoll()");
static_assert(!std::is_convertible_v<unsigned, event_set>);
static_assert(std::is_same_v<decltype(event::in | event::pri), event_set>);
static_assert((event::in | event::pri).to_epoll() == (EPOLLIN | EPOLLPRI));
static_assert(!event_set::from_epoll(EPOLLET).has_value());
static_assert(!event_set::from_epoll(EPOLLIN | EPOLLONESHOT).has_value());
static_assert(event_set::from_epoll(EPOLLIN | EPOLLRDHUP) == (event::in | event::rdhup));
static_assert(event_set::from_epoll_masked(EPOLLIN | EPOLLET) == event::in);
static_assert(~event_set() == event_set::all());
static_assert((~event::in).to_epoll() == (vpoll::event_mask & ~EPOLLIN));
static_assert(event_set::all().contains(vpoll::readable | vpoll::writable));
static_assert(!event_set(event::in).contains(event::in | event::pri));
static_assert(event_set(event::in).to_poll() == POLLIN);

TEST_CASE("event_set converts and prints", "[event_set]")
{
	CHECK(vpoll::to_string({}) == "0");
	CHECK(vpoll::to_string(event::in | event::pri | event::rdhup) == "IN|PRI|RDHUP");
	event_set s = event::in;
	s |= event::out;
	s &= ~event_set(event::in);
	CHECK(s == event::out);
	s ^= event::out;
	CHECK(s.empty());
	CHECK(event_set::all().to_epoll() == EFD_VPOLL_EVENTMASK);
}

// ---------------------------------------------------------------- creation

TEST_CASE("creation shows the initial set through poll and epoll", "[create]")
{
	const event_set fresh = emulated ? fresh_emulated : event_set();
	for (event_set initial : states()) {
		INFO("initial " << name(initial));
		std::error_code ec;
		vpoll::eventfd_vpoll v(initial, EFD_CLOEXEC, under_test, ec);
		if (expect_reachable(fresh, initial)) {
			REQUIRE_FALSE(ec);
			CHECK(v.kind() == under_test);
			CHECK(v.native() == (under_test == vpoll::backend::native));
			check_shows(v, initial);
		} else {
			CHECK(ec == std::errc::not_supported);
			CHECK(v.fd() == -1);
			CHECK_FALSE(v);
		}
	}
}

TEST_CASE("creation flags", "[create]")
{
	{
		auto v = make({}, 0);
		CHECK(::fcntl(v.fd(), F_GETFD) == 0);
		CHECK((::fcntl(v.fd(), F_GETFL) & O_NONBLOCK) == 0);
	}
	{
		auto v = make({}, EFD_CLOEXEC | EFD_NONBLOCK);
		CHECK(::fcntl(v.fd(), F_GETFD) == FD_CLOEXEC);
		CHECK((::fcntl(v.fd(), F_GETFL) & O_NONBLOCK) != 0);
	}
	for (int bad : {static_cast<int>(EFD_SEMAPHORE), 1 << 5, EFD_VPOLL}) {
		std::error_code ec;
		vpoll::eventfd_vpoll v(event::in, bad, under_test, ec);
		CHECK(ec == std::errc::invalid_argument);
		CHECK(v.fd() == -1);
		CHECK_THROWS_AS(vpoll::eventfd_vpoll(event::in, bad, under_test), std::system_error);
	}
}

TEST_CASE("automatic backend: native, else /dev/vpoll, else emulated", "[create]")
{
	vpoll::eventfd_vpoll v(vpoll::writable, EFD_CLOEXEC, vpoll::backend::automatic);
	CHECK(v.kind() == vpoll_test::expected_automatic());
	CHECK(v.kind() == vpoll::automatic_backend());
	CHECK(v.native() == vpoll::native_available());
	check_shows(v, vpoll::writable);
	std::error_code ec;
	vpoll::eventfd_vpoll bad(vpoll::writable, EFD_CLOEXEC, static_cast<vpoll::backend>(42), ec);
	CHECK(ec == std::errc::invalid_argument);
	CHECK_FALSE(bad);
}

TEST_CASE("supported() describes the backend", "[create]")
{
	auto v = make(emulated ? fresh_emulated : event_set());
	auto caps = v.supported();
	if (emulated) {
		CHECK(name(caps.settable) == name(vpoll::readable | event::pri | vpoll::writable |
						     event::rdhup | event::hup | event::err));
		CHECK(name(caps.clearable) == name(vpoll::readable | event::pri | vpoll::writable));
		CHECK_FALSE(caps.independent);
	} else {
		CHECK(caps.settable == event_set::all());
		CHECK(caps.clearable == event_set::all());
		CHECK(caps.independent);
	}
}

// ---------------------------------------------------------------- operations

// From every state to every state, by mod, and by add/del where they express
// the step: success leaves exactly the target, ENOTSUP leaves the state.
TEST_CASE("every transition, as seen by poll and epoll", "[ops]")
{
	const event_set fresh = emulated ? fresh_emulated : event_set();
	const auto all = states();
	std::size_t done = 0, refused = 0;
	for (event_set from : all) {
		if (!expect_reachable(fresh, from))
			continue;
		for (event_set to : all) {
			INFO("from " << name(from) << " to " << name(to));
			for (int how = 0; how < 3; ++how) {
				auto v = make(from);
				std::error_code ec;
				switch (how) {
				case 0: v.mod(to, ec); break;
				case 1:
					if (!from.contains(to) && (from & ~to).empty()) {
						v.add(to & ~from, ec);
						break;
					}
					continue;
				case 2:
					if (to.contains(to & from) && (to & ~from).empty() && to != from) {
						v.del(from & ~to, ec);
						break;
					}
					continue;
				}
				if (expect_reachable(from, to)) {
					REQUIRE_FALSE(ec);
					check_shows(v, to);
					++done;
				} else {
					CHECK(ec == std::errc::not_supported);
					check_shows(v, from);
					++refused;
				}
			}
		}
	}
	CHECK(done > 0);
	if (!emulated)
		CHECK(refused == 0);
}

TEST_CASE("add, del and mod on every single event", "[ops]")
{
	for (event_set e : every_event) {
		INFO("event " << name(e));
		auto v = make();
		std::error_code ec;
		if (emulated) {
			// Alone, every bit is refused: the socket shows groups.
			v.add(e, ec);
			CHECK(ec == std::errc::not_supported);
			check_shows(v, {});
			v.mod(e, ec);
			CHECK(ec == std::errc::not_supported);
			check_shows(v, {});
			continue;
		}
		v.add(e);
		check_shows(v, e);
		v.add(e); // idempotent
		check_shows(v, e);
		v.del(e);
		check_shows(v, {});
		v.mod(e | event::out);
		check_shows(v, e | event::out);
		v.mod({});
		check_shows(v, {});
	}
}

TEST_CASE("the groups work on both backends", "[ops]")
{
	auto v = make(vpoll::writable);
	v.add(vpoll::readable);
	check_shows(v, vpoll::readable | vpoll::writable);
	v.add(event::pri);
	check_shows(v, vpoll::readable | vpoll::writable | event::pri);
	v.del(event::pri);
	check_shows(v, vpoll::readable | vpoll::writable);
	v.del(vpoll::writable);
	check_shows(v, vpoll::readable);
	v.mod(vpoll::writable);
	check_shows(v, vpoll::writable);
	v.add(event::pri | vpoll::readable);
	v.del(vpoll::readable | event::pri);
	check_shows(v, vpoll::writable);
	v.add(event::rdhup | vpoll::readable);
	check_shows(v, vpoll::writable | vpoll::readable | event::rdhup);
	v.add(event::hup);
	check_shows(v, vpoll::writable | vpoll::readable | event::rdhup | event::hup);
	v.add(event::err);
	check_shows(v, vpoll::writable | vpoll::readable | event::rdhup | event::hup | event::err);
}

TEST_CASE("a waiter blocked in poll or epoll_wait wakes up on add", "[ops]")
{
	const event_set raises[] = {vpoll::readable, event::pri | vpoll::readable,
				    event::rdhup | vpoll::readable,
				    event::hup | event::rdhup | vpoll::readable, vpoll::writable};
	for (event_set r : raises) {
		for (bool use_epoll : {false, true}) {
			INFO("raise " << name(r) << (use_epoll ? " epoll" : " poll"));
			auto v = make();
			REQUIRE(v.events().empty());
			std::atomic<unsigned> seen{0};
			std::atomic<bool> waiting{false};
			std::thread waiter([&] {
				int ep = -1;
				if (use_epoll) {
					ep = ::epoll_create1(EPOLL_CLOEXEC);
					struct epoll_event ev = {};
					ev.events = vpoll::event_mask;
					::epoll_ctl(ep, EPOLL_CTL_ADD, v.fd(), &ev);
				}
				waiting = true;
				if (use_epoll) {
					struct epoll_event out = {};
					if (::epoll_wait(ep, &out, 1, 10000) == 1)
						seen = out.events;
					::close(ep);
				} else {
					struct pollfd p = {v.fd(), static_cast<short>(vpoll::event_mask), 0};
					if (::poll(&p, 1, 10000) == 1)
						seen = static_cast<unsigned short>(p.revents);
				}
			});
			while (!waiting)
				std::this_thread::yield();
			std::this_thread::sleep_for(std::chrono::milliseconds(20));
			v.add(r);
			waiter.join();
			CHECK(name(seen.load()) == name(r));
		}
	}
}

// ---------------------------------------------------------------- errors

TEST_CASE("ENOTSUP and EBADF leave the state unchanged; throwing overloads", "[errors]")
{
	auto v = make(vpoll::readable | vpoll::writable);
	const event_set before = v.events();
	if (emulated) {
		// add for the first three, del for the others.
		const event_set bad_ones[] = {event::rdband, event::msg, event::nval, event::in, event::wrnorm};
		for (int i = 0; i < 5; ++i) {
			const event_set bad = bad_ones[i];
			const bool add = i < 3;
			INFO((add ? "add " : "del ") << name(bad));
			std::error_code ec;
			add ? v.add(bad, ec) : v.del(bad, ec);
			CHECK(ec == std::errc::not_supported);
			CHECK_FALSE(v.can_reach(add ? before | bad : before & ~bad));
			check_shows(v, before);
			try {
				add ? v.add(bad) : v.del(bad);
				FAIL("no exception");
			} catch (const std::system_error &e) {
				CHECK(e.code() == std::errc::not_supported);
			}
			check_shows(v, before);
		}
		// One way: once RDHUP, it cannot be cleared, nor PRI raised.
		v.add(event::rdhup);
		std::error_code ec;
		v.del(event::rdhup, ec);
		CHECK(ec == std::errc::not_supported);
		v.add(event::pri, ec);
		CHECK(ec == std::errc::not_supported);
		check_shows(v, before | event::rdhup);
	} else {
		CHECK(v.can_reach(event::rdband | event::msg));
	}

	// Closed behind the object's back.
	::close(v.fd());
	std::error_code ec;
	v.add(event::pri | vpoll::readable, ec);
	CHECK(ec == std::errc::bad_file_descriptor);
	v.events(ec);
	CHECK(ec == std::errc::bad_file_descriptor);
	CHECK_THROWS_AS(v.events(), std::system_error);
	v.release(); // already closed

	vpoll::eventfd_vpoll empty;
	empty.mod({}, ec);
	CHECK(ec == std::errc::bad_file_descriptor);
	CHECK_THROWS_AS(empty.add(event::in), std::system_error);
	CHECK(empty.fd() == -1);
	CHECK_FALSE(empty.native());
}

// ---------------------------------------------------------------- ownership

TEST_CASE("move semantics and no fd leak", "[ownership]")
{
	const std::size_t before = open_fds();
	{
		auto a = make(vpoll::readable | vpoll::writable);
		const int fd = a.fd();
		vpoll::eventfd_vpoll b(std::move(a));
		CHECK(a.fd() == -1);
		CHECK(b.fd() == fd);
		check_shows(b, vpoll::readable | vpoll::writable);
		b.del(vpoll::readable);
		check_shows(b, vpoll::writable);

		auto c = make(vpoll::writable);
		c = std::move(b); // c's old fd is closed
		CHECK(c.fd() == fd);
		CHECK(b.fd() == -1);
		check_shows(c, vpoll::writable);
		c = std::move(c);
		CHECK(c.fd() == fd);

		std::error_code ec;
		a.add(event::in, ec); // moved-from: empty
		CHECK(ec == std::errc::bad_file_descriptor);
	}
	for (int i = 0; i < 50; ++i) {
		auto v = make(vpoll::readable);
		std::error_code ec;
		vpoll::eventfd_vpoll bad(event::in | event::msg | (emulated ? event::rdband : event::in),
					 EFD_SEMAPHORE, under_test, ec);
		CHECK(ec);
		if (emulated) {
			vpoll::eventfd_vpoll refused(event::in, EFD_CLOEXEC, under_test, ec);
			CHECK(ec == std::errc::not_supported);
		}
	}
	CHECK(open_fds() == before);

	auto v = make(vpoll::writable);
	int fd = v.release();
	CHECK(v.fd() == -1);
	CHECK(open_fds() == before + 1);
	if (!emulated) {
		auto again = vpoll::eventfd_vpoll::adopt(fd);
		CHECK(again.kind() == under_test);
		check_shows(again, vpoll::writable);
	} else {
		// The driving end was closed cleanly: exactly a socket whose peer
		// closed, end of file on read, and not adoptable.
		CHECK(name(poll_now(fd)) == name(vpoll::readable | vpoll::writable | event::hup | event::rdhup));
		char c;
		CHECK(::read(fd, &c, 1) == 0);
		std::error_code ec;
		auto refused = vpoll::eventfd_vpoll::adopt(fd, ec);
		CHECK(ec == vpoll::errc::not_vpoll);
		CHECK(refused.fd() == -1);
		::close(fd);
	}
	CHECK(open_fds() == before);
	v.reset();
	CHECK(open_fds() == before);
}

// ---------------------------------------------------------------- threads

TEST_CASE("the process's choice: concurrent first calls all get the one kept", "[threads]")
{
	// In a child, which has not chosen yet: 8 threads race to make the choice.
	pid_t pid = ::fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		vpoll_test::forget_backend_choice();
		std::vector<std::thread> threads;
		std::atomic<int> answers[4] = {};
		std::atomic<bool> go{false};
		for (int i = 0; i < 8; ++i)
			threads.emplace_back([&] {
				while (!go)
					std::this_thread::yield();
				for (int j = 0; j < 100; ++j)
					answers[static_cast<int>(vpoll::automatic_backend())]++;
			});
		go = true;
		for (auto &t : threads)
			t.join();
		const int want = static_cast<int>(vpoll_test::expected_automatic());
		const bool ok = answers[want] == 800 &&
				vpoll_test::backend_choice() == vpollfd_backend() + 1;
		::_exit(ok ? 0 : 1);
	}
	CHECK(vpoll_test::exited_zero(vpoll_test::wait_bounded(pid, 30)));
	// One choice for the program: every translation unit sees the same
	// variable (a weak definition), a C99 one included.
	CHECK(&vpollfd_backend_choice_ == vpoll_test_choice_address_processes());
	CHECK(&vpollfd_backend_choice_ == vpoll_test_choice_address_c());
}

TEST_CASE("add/del/mod/events from several threads at once", "[threads]")
{
	auto v = make();
	const event_set mine[] = {emulated ? vpoll::writable : event_set(event::out),
				  emulated ? vpoll::readable : event_set(event::in),
				  emulated ? vpoll::readable : event_set(event::rdband)};
	std::vector<std::thread> threads;
	std::atomic<int> errors{0};
	for (int t = 0; t < 3; ++t)
		threads.emplace_back([&, t] {
			for (int i = 0; i < (emulated && t == 0 ? 30 : 300); ++i) {
				std::error_code ec;
				v.add(mine[t], ec);
				errors += !!ec;
				v.events(ec);
				errors += !!ec;
				if (t != 2)
					v.del(mine[t], ec);
				errors += !!ec;
			}
			std::error_code ec;
			v.add(mine[t], ec);
			errors += !!ec;
		});
	for (auto &t : threads)
		t.join();
	CHECK(errors == 0);
	check_shows(v, mine[0] | mine[1] | mine[2]);
}

// ---------------------------------------------------------------- processes

TEST_CASE("a forked child can wait on the fd; only native lets it drive", "[fork]")
{
	auto v = make(vpoll::writable);
	pid_t pid = ::fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		// Child: see the parent's change, then try to drive.
		struct pollfd p = {v.fd(), POLLIN, 0};
		int ok = ::poll(&p, 1, 10000) == 1 && (p.revents & POLLIN);
		std::error_code ec;
		v.add(event::pri | vpoll::readable, ec);
		int drove = !ec;
		int refused = ec == vpoll::errc::not_owner && ec == std::errc::not_supported;
		v.release(); // leave the fd to the parent
		::_exit(ok && (emulated ? refused : drove) ? 0 : 1);
	}
	std::this_thread::sleep_for(std::chrono::milliseconds(20));
	v.add(vpoll::readable);
	int status = 0;
	REQUIRE(::waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status));
	CHECK(WEXITSTATUS(status) == 0);
	check_shows(v, vpoll::readable | vpoll::writable | (emulated ? event_set() : event_set(event::pri)));
}

// ---------------------------------------------------------------- C layer

TEST_CASE("C layer: errno contract", "[c]")
{
	int pipefd[2];
	REQUIRE(::pipe(pipefd) == 0);
	for (int op : {0, 4, -1, 1 << 16}) {
		errno = 0;
		CHECK(vpollfd_ctl(pipefd[1], op, EPOLLIN) == -1);
		CHECK(errno == EINVAL);
		errno = 0;
		CHECK(vpollfd_ctl(-1, op, EPOLLIN) == -1);
		CHECK(errno == EINVAL); // the op is checked before any system call
	}
	int n = -1;
	CHECK(::ioctl(pipefd[0], FIONREAD, &n) == 0);
	CHECK(n == 0); // nothing was written
	::close(pipefd[0]);
	::close(pipefd[1]);

	errno = 0;
	CHECK(vpollfd_ctl(pipefd[1], VPOLL_ADDEVENTS, EPOLLIN) == -1); // closed
	CHECK(errno == EBADF);
	unsigned ev = 0x1234;
	errno = 0;
	CHECK(vpollfd_events(pipefd[0], &ev) == -1);
	CHECK(errno == EBADF);
	CHECK(ev == 0x1234);

	if (vpollfd_backend() == VPOLLFD_BACKEND_NONE) {
		errno = 0;
		CHECK(vpollfd_create(0, EFD_CLOEXEC) == -1);
		CHECK(errno == EINVAL); // never emulates
		return;
	}
	errno = 0;
	CHECK(vpollfd_create(EPOLLIN | EPOLLET, EFD_CLOEXEC) == -1);
	CHECK(errno == EINVAL);
	errno = 0;
	CHECK(vpollfd_create(0, EFD_SEMAPHORE) == -1);
	CHECK(errno == EINVAL);

	int fd = vpollfd_create(EPOLLOUT, EFD_CLOEXEC | EFD_NONBLOCK);
	REQUIRE(fd >= 0);
	CHECK(vpollfd_events(fd, &ev) == 0);
	CHECK(ev == EPOLLOUT);
	CHECK(vpollfd_ctl(fd, VPOLL_ADDEVENTS, EPOLLIN | EPOLLPRI) == 0);
	CHECK(vpollfd_events(fd, &ev) == 0);
	CHECK(ev == (EPOLLOUT | EPOLLIN | EPOLLPRI));
	CHECK(vpollfd_events(fd, &ev) == 0); // reading does not consume
	CHECK(ev == (EPOLLOUT | EPOLLIN | EPOLLPRI));
	CHECK(vpollfd_ctl(fd, VPOLL_DELEVENTS, EPOLLIN) == 0);
	CHECK(vpollfd_events(fd, &ev) == 0);
	CHECK(ev == (EPOLLOUT | EPOLLPRI));
	for (unsigned bad : {static_cast<unsigned>(EPOLLET), static_cast<unsigned>(EPOLLONESHOT),
			     static_cast<unsigned>(EPOLLEXCLUSIVE), 1u << 20, 1u << 31}) {
		for (int op : {VPOLL_ADDEVENTS, VPOLL_DELEVENTS, VPOLL_MODEVENTS}) {
			errno = 0;
			CHECK(vpollfd_ctl(fd, op, EPOLLIN | bad) == -1);
			CHECK(errno == EINVAL);
			CHECK(vpollfd_events(fd, &ev) == 0);
			CHECK(ev == (EPOLLOUT | EPOLLPRI)); // unchanged
		}
	}
	CHECK(vpollfd_ctl(fd, VPOLL_MODEVENTS, EPOLLHUP) == 0);
	CHECK(vpollfd_events(fd, &ev) == 0);
	CHECK(ev == EPOLLHUP);
	CHECK(poll_now(fd) == EPOLLHUP);
	::close(fd);
}

TEST_CASE("C layer: explicit backends", "[c]")
{
	errno = 0;
	CHECK(vpollfd_create_backend(VPOLLFD_BACKEND_NONE, 0, EFD_CLOEXEC) == -1);
	CHECK(errno == EINVAL);
	errno = 0;
	CHECK(vpollfd_create_backend(7, 0, EFD_CLOEXEC) == -1);
	CHECK(errno == EINVAL);
	errno = 0;
	CHECK(vpollfd_backend_supported(VPOLLFD_BACKEND_NONE) == -1);
	CHECK(errno == EINVAL);
	const int choice = vpollfd_backend();
	REQUIRE(choice >= 0);
	CHECK(choice == vpollfd_backend()); // kept
	for (int b : {VPOLLFD_BACKEND_NATIVE, VPOLLFD_BACKEND_DEVICE}) {
		INFO("backend " << b);
		const std::size_t before = open_fds();
		errno = 4321;
		const int answer = vpollfd_backend_supported(b);
		CHECK(errno == 4321);
		CHECK(open_fds() == before);
		REQUIRE(answer >= 0);
		if (b == VPOLLFD_BACKEND_NATIVE)
			CHECK(answer == vpollfd_supported());
		if (!answer)
			continue;
		// Bad flags and events create nothing, on either backend.
		for (int bad : {static_cast<int>(EFD_SEMAPHORE), EFD_VPOLL, 1 << 5}) {
			errno = 0;
			CHECK(vpollfd_create_backend(b, 0, bad) == -1);
			CHECK(errno == EINVAL);
		}
		errno = 0;
		CHECK(vpollfd_create_backend(b, EPOLLIN | EPOLLET, EFD_CLOEXEC) == -1);
		CHECK(errno == EINVAL);
		CHECK(open_fds() == before);

		const int fd = vpollfd_create_backend(b, EPOLLOUT | EPOLLPRI, EFD_CLOEXEC | EFD_NONBLOCK);
		REQUIRE(fd >= 0);
		CHECK(::fcntl(fd, F_GETFD) == FD_CLOEXEC);
		CHECK((::fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
		unsigned ev = 0;
		CHECK(vpollfd_events(fd, &ev) == 0);
		CHECK(ev == (EPOLLOUT | EPOLLPRI));
		CHECK(poll_now(fd) == (EPOLLOUT | EPOLLPRI));
		CHECK(vpollfd_ctl(fd, VPOLL_MODEVENTS, EPOLLIN) == 0);
		CHECK(epoll_now(fd) == EPOLLIN);
		std::error_code ec;
		auto v = vpoll::eventfd_vpoll::adopt(fd, ec);
		REQUIRE_FALSE(ec);
		CHECK(v.kind() == (b == VPOLLFD_BACKEND_NATIVE ? vpoll::backend::native
							       : vpoll::backend::device));
		const int plain = vpollfd_create_backend(b, 0, 0);
		REQUIRE(plain >= 0);
		CHECK(::fcntl(plain, F_GETFD) == 0);
		CHECK((::fcntl(plain, F_GETFL) & O_NONBLOCK) == 0);
		CHECK(poll_now(plain) == 0);
		::close(plain);
	}
}

TEST_CASE("C layer: vpollfd_supported", "[c]")
{
	// An answer keeps errno and leaves no descriptor behind.
	const std::size_t before = open_fds();
	errno = 4321;
	const int answer = vpollfd_supported();
	CHECK(errno == 4321);
	CHECK(open_fds() == before);
	const int fd = vpollfd_create(0, EFD_CLOEXEC);
	CHECK(answer == (fd >= 0 ? 1 : 0));
	if (fd >= 0)
		::close(fd);

	// No descriptor to spare (EMFILE) is no answer: -1 with errno, not 0.
	// In a child, whose descriptor limit can drop to 0 without harm.  A
	// kernel without EFD_VPOLL still answers: eventfd2 checks the flags
	// (EINVAL) before it allocates a descriptor.
	pid_t pid = ::fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		struct rlimit none = {0, 0};
		if (::setrlimit(RLIMIT_NOFILE, &none) < 0)
			::_exit(2);
		errno = 0;
		int r = vpollfd_supported();
		bool ok = answer == 1 ? r == -1 && errno == EMFILE : r == 0 && errno == 0;
		::_exit(ok ? 0 : 1);
	}
	int status = 0;
	REQUIRE(::waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status));
	CHECK(WEXITSTATUS(status) == 0);
}

// ---------------------------------------------------------------- the table

// Measures, and prints, what the backend can raise from an empty set and
// clear back to empty, one event (or group) at a time; each success is
// checked through poll and epoll.
TEST_CASE("capability table, as measured", "[table]")
{
	struct row {
		const char *label;
		event_set set;
	};
	const row rows[] = {
		{"IN|RDNORM", vpoll::readable},
		{"PRI|IN|RDNORM", event::pri | vpoll::readable},
		{"OUT|WRNORM|WRBAND", vpoll::writable},
		{"RDHUP|IN|RDNORM", event::rdhup | vpoll::readable},
		{"HUP|RDHUP|IN|RDNORM", event::hup | event::rdhup | vpoll::readable},
		{"ERR|HUP|RDHUP|IN|RDNORM|OUT|WRNORM|WRBAND",
		 event::err | event::hup | event::rdhup | vpoll::readable | vpoll::writable},
		{"IN", event::in}, {"RDNORM", event::rdnorm}, {"PRI", event::pri},
		{"OUT", event::out}, {"WRNORM", event::wrnorm}, {"WRBAND", event::wrband},
		{"RDHUP", event::rdhup}, {"HUP", event::hup}, {"ERR", event::err},
		{"RDBAND", event::rdband}, {"MSG", event::msg}, {"NVAL", event::nval},
	};
	std::printf("\n%s backend, kernel %s\n%-42s %-9s %s\n", backend_name,
		    [] {
			    static char release[128] = "?";
			    if (FILE *f = std::fopen("/proc/sys/kernel/osrelease", "r")) {
				    if (std::fgets(release, sizeof(release), f))
					    release[std::strcspn(release, "\n")] = 0;
				    std::fclose(f);
			    }
			    return release;
		    }(),
		    "events", "raise", "clear");
	for (const row &r : rows) {
		INFO(r.label);
		auto v = make();
		std::error_code ec;
		v.add(r.set, ec);
		const bool raised = !ec;
		if (raised)
			check_shows(v, r.set);
		else
			CHECK(ec == std::errc::not_supported);
		std::error_code ec2;
		vpoll::eventfd_vpoll w(r.set, EFD_CLOEXEC, under_test, ec2);
		const char *clear = "-";
		if (!ec2) {
			w.del(r.set, ec2);
			clear = ec2 ? "ENOTSUP" : "yes";
			if (!ec2)
				check_shows(w, {});
			else
				CHECK(ec2 == std::errc::not_supported);
		}
		std::printf("%-42s %-9s %s\n", r.label, raised ? "yes" : "ENOTSUP", clear);
		CHECK(raised == expect_reachable({}, r.set));
	}
}

// ---------------------------------------------------------------- socket facts
#if VPOLL_TEST_EMULATED // only the emulated executable has anything to justify

// The kernel behaviour the emulated backend rests on, checked on a raw
// socketpair (so each kernel the tests run on confirms or refutes the table).
TEST_CASE("AF_UNIX stream facts behind the emulated backend", "[table][facts]")
{
	int sv[2];
	REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	const int a = sv[0], b = sv[1];
	const unsigned W = EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND, R = EPOLLIN | EPOLLRDNORM;
	char c = 'x', buf[4096] = {};
	CHECK(name(poll_now(a)) == name(W)); // fresh: writable, as a triple
	REQUIRE(::send(a, &c, 1, MSG_DONTWAIT) == 1); // the seed the backend keeps queued at b
	CHECK(name(poll_now(a)) == name(W));
	int size = 32768;
	REQUIRE(::setsockopt(a, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size)) == 0);
	long filled = 0;
	while (::send(a, buf, sizeof(buf), MSG_DONTWAIT | MSG_NOSIGNAL) > 0)
		filled += sizeof(buf);
	CHECK(errno == EAGAIN);
	std::printf("\nclearing OUT took %ld bytes\n", filled);
	CHECK(name(poll_now(a)) == "0"); // the triple goes away together
	int queued = 0;
	REQUIRE(::ioctl(b, FIONREAD, &queued) == 0);
	std::vector<char> big(queued);
	REQUIRE(::recv(b, big.data(), queued - 1, MSG_DONTWAIT) == queued - 1);
	CHECK(name(poll_now(a)) == name(W)); // back, with one byte still queued at b
	REQUIRE(::send(b, &c, 1, MSG_OOB | MSG_DONTWAIT) == 1);
	CHECK(name(poll_now(a)) == name(W | R | EPOLLPRI)); // OOB: PRI and IN with it
	REQUIRE(::recv(a, &c, 1, MSG_OOB | MSG_DONTWAIT) == 1);
	const unsigned after_oob = poll_now(a) & R;
	std::printf("after consuming the OOB byte IN is %s\n", after_oob ? "still up" : "down");
	CHECK(::recv(a, buf, sizeof(buf), MSG_DONTWAIT) == -1); // no normal data...
	CHECK(name(poll_now(a)) == name(W)); // ...and the failed recv drops IN
	REQUIRE(::shutdown(b, SHUT_WR) == 0);
	CHECK(name(poll_now(a)) == name(W | R | EPOLLRDHUP)); // RDHUP brings IN
	CHECK(::send(b, &c, 1, MSG_OOB | MSG_DONTWAIT | MSG_NOSIGNAL) == -1); // no PRI any more
	CHECK(errno == EPIPE);
	REQUIRE(::shutdown(b, SHUT_RDWR) == 0);
	CHECK(name(poll_now(a)) == name(W | R | EPOLLRDHUP | EPOLLHUP));
	CHECK(::send(a, buf, 1, MSG_DONTWAIT | MSG_NOSIGNAL) == -1); // OUT cannot be cleared now
	CHECK(errno == EPIPE);
	::close(b); // with the seed byte unread: a reset
	CHECK(name(poll_now(a)) == name(W | R | EPOLLRDHUP | EPOLLHUP | EPOLLERR));
	::close(a);
}
#endif
