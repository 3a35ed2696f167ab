// SPDX-License-Identifier: MIT
//
// Wake-ups: how many edges an EPOLLET waiter sees for each call, the same
// cases on both backends.  Native: add() and mod() wake the waiters whose
// events intersect what the call asserts, already pending or not; del() wakes
// nobody.  Emulated: the same except the differences the header documents,
// which the table below spells out case by case.
#include <catch2/catch.hpp>

#include "backend_under_test.hpp"

#include <linux/io_uring.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

using vpoll::event;
using vpoll::event_set;
using vpoll_test::emulated;
using vpoll_test::make_object;

namespace {

constexpr event_set R = vpoll::readable, W = vpoll::writable;
constexpr event_set PRI = event::pri, RDHUP = event::rdhup, HUP = event::hup, ERR = event::err;

enum class op { add, del, mod };

struct edge_case {
	const char *what;
	event_set initial;
	op how;
	event_set arg;
	std::uint32_t waiter; // EPOLLET is added
	int native_edges, emulated_edges;
};

// The rows where the two columns differ are the documented differences.
const edge_case cases[] = {
	{"raise IN", W, op::add, R, EPOLLIN, 1, 1},
	{"re-assert IN (add)", R | W, op::add, R, EPOLLIN, 1, 1},
	{"re-assert IN (mod, same set)", R | W, op::mod, R | W, EPOLLIN, 1, 1},
	{"re-assert OUT (mod, same set)", R | W, op::mod, R | W, EPOLLOUT, 1, 1},
	{"re-assert OUT (add)", W, op::add, W, EPOLLOUT, 1, 1},
	{"mod keeps OUT, drops IN: OUT edge", R | W, op::mod, W, EPOLLOUT, 1, 1},
	{"mod drops IN: no IN edge", R | W, op::mod, W, EPOLLIN, 0, 0},
	{"raise PRI", R | W, op::add, PRI, EPOLLPRI, 1, 1},
	{"re-assert PRI", PRI | R | W, op::add, PRI, EPOLLPRI, 1, 1},
	{"re-assert IN under PRI, IN waiter", PRI | R | W, op::add, R, EPOLLIN, 1, 1},
	{"re-assert IN under PRI, PRI waiter", PRI | R | W, op::add, R, EPOLLPRI, 0, 1},
	{"raise PRI, IN waiter", R | W, op::add, PRI, EPOLLIN, 0, 1},
	{"re-assert RDHUP", RDHUP | R | W, op::add, RDHUP, EPOLLRDHUP, 1, 1},
	{"re-assert IN under RDHUP", RDHUP | R | W, op::add, R, EPOLLIN, 1, 1},
	{"re-assert IN under RDHUP, OUT waiter", RDHUP | R | W, op::add, R, EPOLLOUT, 0, 1},
	{"re-assert HUP (an IN waiter also waits for HUP)", HUP | RDHUP | R | W, op::add, HUP, EPOLLIN, 1, 1},
	{"raise ERR", W, op::add, ERR | HUP | RDHUP | R, EPOLLIN, 1, 1},
	{"re-assert ERR", ERR | HUP | RDHUP | R | W, op::add, ERR, EPOLLIN, 1, 0},
	{"del PRI, IN stays", PRI | R | W, op::del, PRI, EPOLLIN, 0, 0},
	{"del PRI, PRI waiter", PRI | R | W, op::del, PRI, EPOLLPRI, 0, 0},
	{"del IN", R | W, op::del, R, EPOLLIN | EPOLLOUT, 0, 0},
	{"del OUT", R | W, op::del, W, EPOLLIN | EPOLLOUT, 0, 0},
	{"del PRI and IN", PRI | R | W, op::del, PRI | R, EPOLLIN | EPOLLPRI | EPOLLOUT, 0, 0},
	{"del nothing pending", W, op::del, R, EPOLLIN | EPOLLOUT, 0, 0},
	{"del under RDHUP", RDHUP | R | W, op::del, W, EPOLLIN | EPOLLRDHUP, 0, 0},
};

// Edges an EPOLLET waiter on `waiter` collects for one call.
int edges_for(const edge_case &c)
{
	auto v = make_object(c.initial);
	int ep = ::epoll_create1(EPOLL_CLOEXEC);
	REQUIRE(ep >= 0);
	struct epoll_event ev = {};
	ev.events = c.waiter | EPOLLET;
	REQUIRE(::epoll_ctl(ep, EPOLL_CTL_ADD, v.fd(), &ev) == 0);
	struct epoll_event out[4];
	::epoll_wait(ep, out, 4, 0); // the registration's own edge
	REQUIRE(::epoll_wait(ep, out, 4, 0) == 0);
	switch (c.how) {
	case op::add: v.add(c.arg); break;
	case op::del: v.del(c.arg); break;
	case op::mod: v.mod(c.arg); break;
	}
	int n = ::epoll_wait(ep, out, 4, 0);
	::close(ep);
	return n;
}

} // namespace

TEST_CASE("edges: each call against an EPOLLET waiter", "[edges]")
{
	std::printf("\nedges, %s backend (EPOLLET waiter)\n", vpoll_test::backend_name);
	for (const edge_case &c : cases) {
		INFO(c.what);
		const int n = edges_for(c);
		std::printf("  %-40s native %d emulated %d measured %d\n", c.what, c.native_edges,
			    c.emulated_edges, n);
		CHECK(n == (emulated ? c.emulated_edges : c.native_edges));
	}
}

TEST_CASE("edges: a bounded-batch edge-triggered loop never stalls", "[edges]")
{
	// The consumer takes one item per wake-up; the producer adds one item
	// and asserts IN each time, IN staying pending.  Every item needs its
	// own edge.
	auto v = make_object(W);
	int ep = ::epoll_create1(EPOLL_CLOEXEC);
	REQUIRE(ep >= 0);
	struct epoll_event ev = {};
	ev.events = EPOLLIN | EPOLLET;
	REQUIRE(::epoll_ctl(ep, EPOLL_CTL_ADD, v.fd(), &ev) == 0);
	int woken = 0;
	for (int i = 0; i < 100; ++i) {
		v.add(R);
		struct epoll_event out;
		woken += ::epoll_wait(ep, &out, 1, 0);
	}
	::close(ep);
	CHECK(woken == 100);
}

TEST_CASE("edges: a waiter blocked in epoll_wait wakes on a re-assert", "[edges]")
{
	auto v = make_object(R | W);
	int ep = ::epoll_create1(EPOLL_CLOEXEC);
	REQUIRE(ep >= 0);
	struct epoll_event ev = {};
	ev.events = EPOLLIN | EPOLLET;
	REQUIRE(::epoll_ctl(ep, EPOLL_CTL_ADD, v.fd(), &ev) == 0);
	struct epoll_event out;
	REQUIRE(::epoll_wait(ep, &out, 1, 0) == 1); // the registration's edge
	std::atomic<int> got{-1};
	std::atomic<long> tid{0};
	// epoll_pwait through syscall(): the number /proc/self/task/TID/syscall then shows.
	std::thread waiter([&] {
		tid = ::syscall(SYS_gettid);
		got = static_cast<int>(::syscall(SYS_epoll_pwait, ep, &out, 1, 10000, nullptr, 8));
	});
	// Raise only once the waiter sleeps in epoll_pwait, so that the edge wakes it rather than
	// being queued for a later call (10 s at most).
	bool asleep = false;
	for (int i = 0; i < 10000 && !asleep; ++i) {
		long t = tid;
		if (t) {
			std::string path = "/proc/self/task/" + std::to_string(t) + "/syscall";
			if (FILE *f = std::fopen(path.c_str(), "r")) {
				long nr = -1;
				asleep = std::fscanf(f, "%ld", &nr) == 1 && nr == SYS_epoll_pwait;
				std::fclose(f);
			}
		}
		if (!asleep)
			std::this_thread::sleep_for(std::chrono::milliseconds(1));
	}
	CHECK(asleep);
	v.add(R);
	waiter.join();
	::close(ep);
	CHECK(got == 1);
}

// ---------------------------------------------------------------- io_uring

namespace {

// Just enough of io_uring for multishot poll requests (no liburing).
class uring {
public:
	bool setup()
	{
		struct io_uring_params p = {};
		fd_ = static_cast<int>(::syscall(__NR_io_uring_setup, 8, &p));
		if (fd_ < 0)
			return false;
		sq_len_ = p.sq_off.array + p.sq_entries * sizeof(unsigned);
		cq_len_ = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
		sqes_len_ = p.sq_entries * sizeof(struct io_uring_sqe);
		sq_ = ::mmap(nullptr, sq_len_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd_,
			     IORING_OFF_SQ_RING);
		cq_ = ::mmap(nullptr, cq_len_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd_,
			     IORING_OFF_CQ_RING);
		sqes_ = static_cast<struct io_uring_sqe *>(
			::mmap(nullptr, sqes_len_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd_,
			       IORING_OFF_SQES));
		REQUIRE(sq_ != MAP_FAILED);
		REQUIRE(cq_ != MAP_FAILED);
		REQUIRE(sqes_ != MAP_FAILED);
		sq_off_ = p.sq_off;
		cq_off_ = p.cq_off;
		return true;
	}
	~uring()
	{
		if (fd_ < 0)
			return;
		::munmap(sqes_, sqes_len_);
		::munmap(cq_, cq_len_);
		::munmap(sq_, sq_len_);
		::close(fd_);
	}

	void poll_multishot(int fd, unsigned events)
	{
		auto tail = at<std::atomic<unsigned>>(sq_, sq_off_.tail);
		const unsigned mask = *at<unsigned>(sq_, sq_off_.ring_mask);
		const unsigned t = tail->load(std::memory_order_relaxed), i = t & mask;
		struct io_uring_sqe *sqe = &sqes_[i];
		std::memset(sqe, 0, sizeof(*sqe));
		sqe->opcode = IORING_OP_POLL_ADD;
		sqe->fd = fd;
		sqe->poll32_events = events;
		sqe->len = IORING_POLL_ADD_MULTI;
		at<unsigned>(sq_, sq_off_.array)[i] = i;
		tail->store(t + 1, std::memory_order_release);
		REQUIRE(::syscall(__NR_io_uring_enter, fd_, 1, 0, 0, nullptr, 0) == 1);
	}

	// Run pending task work, then count and consume the completions.
	int reap()
	{
		::syscall(__NR_io_uring_enter, fd_, 0, 0, IORING_ENTER_GETEVENTS, nullptr, 0);
		auto head = at<std::atomic<unsigned>>(cq_, cq_off_.head);
		auto tail = at<std::atomic<unsigned>>(cq_, cq_off_.tail);
		const unsigned h = head->load(std::memory_order_relaxed);
		const unsigned t = tail->load(std::memory_order_acquire);
		head->store(t, std::memory_order_release);
		return static_cast<int>(t - h);
	}

private:
	template <class T> static T *at(void *base, unsigned off)
	{
		return reinterpret_cast<T *>(static_cast<char *>(base) + off);
	}
	int fd_ = -1;
	void *sq_ = nullptr, *cq_ = nullptr;
	struct io_uring_sqe *sqes_ = nullptr;
	std::size_t sq_len_ = 0, cq_len_ = 0, sqes_len_ = 0;
	struct io_sqring_offsets sq_off_ = {};
	struct io_cqring_offsets cq_off_ = {};
};

} // namespace

TEST_CASE("edges: an io_uring multishot poll completes once per re-assert", "[edges][io_uring]")
{
	// The cases where both backends give the same count; PRI is asked
	// together with IN (a PRI-only poll request never completes on a stock
	// kernel).
	const edge_case ring_cases[] = {
		{"re-assert IN (add)", R | W, op::add, R, EPOLLIN, 1, 1},
		{"re-assert IN (mod, same set)", R | W, op::mod, R | W, EPOLLIN, 1, 1},
		{"re-assert OUT (add)", W, op::add, W, EPOLLOUT, 1, 1},
		{"re-assert RDHUP", RDHUP | R | W, op::add, RDHUP, EPOLLRDHUP, 1, 1},
		{"del PRI, IN stays", PRI | R | W, op::del, PRI, EPOLLIN | EPOLLPRI, 0, 0},
		{"del IN", R | W, op::del, R, EPOLLIN | EPOLLOUT, 0, 0},
		{"del OUT", R | W, op::del, W, EPOLLIN | EPOLLOUT, 0, 0},
	};
	for (const edge_case &c : ring_cases) {
		INFO(c.what);
		uring ring;
		if (!ring.setup()) {
			WARN("SKIP: io_uring_setup failed (errno " << errno << "): no io_uring here");
			return;
		}
		auto v = make_object(c.initial);
		ring.poll_multishot(v.fd(), c.waiter);
		CHECK(ring.reap() == 1); // pending at arming time
		switch (c.how) {
		case op::add: v.add(c.arg); break;
		case op::del: v.del(c.arg); break;
		case op::mod: v.mod(c.arg); break;
		}
		const int n = ring.reap();
		std::printf("  io_uring %-30s expected %d measured %d\n", c.what,
			    emulated ? c.emulated_edges : c.native_edges, n);
		CHECK(n == (emulated ? c.emulated_edges : c.native_edges));
	}
}
