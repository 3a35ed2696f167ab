// SPDX-License-Identifier: MIT
//
// Wake-ups: how many edges an EPOLLET waiter sees for each call, the same
// cases on both backends.  Native: add() and mod() wake the waiters whose
// events intersect what the call asserts, already pending or not; del() wakes
// nobody.  Emulated: the same except the differences the header documents,
// which the table below spells out case by case.
#include <catch2/catch.hpp>

#include "backend_under_test.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>

#include <cstdio>
#include <string>

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
	std::thread waiter([&] { got = ::epoll_wait(ep, &out, 1, 10000); });
	std::this_thread::sleep_for(std::chrono::milliseconds(50));
	v.add(R);
	waiter.join();
	::close(ep);
	CHECK(got == 1);
}
