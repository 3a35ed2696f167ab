// SPDX-License-Identifier: MIT
//
// Both headers as a user's C++ build sees them, every public name used once.
// Built several times from this one source (wrapper/meson.build):
//
//   wrapper-header-strict         -Wall -Wextra -Wpedantic -Wold-style-cast
//                                 -Wconversion -Wsign-conversion -Werror
//   wrapper-header-curses-first   the same after <curses.h> (ERR, OK, TRUE,
//                                 FALSE, timeout(), getch(), ... are macros)
//   wrapper-header-x11-first      the same after <X11/Xlib.h> (None, Bool,
//                                 Status, True, False, ...)
//   wrapper-header-no-exceptions  the same with -fno-exceptions: only the
//                                 std::error_code& overloads exist
//
// Running it exercises the emulated backend (and the native one where the
// kernel has EFD_VPOLL) and returns 0; the point is that it compiles and links.

#if VPOLL_TEST_PRELUDE == 1
#include <curses.h>
#elif VPOLL_TEST_PRELUDE == 2
#include <X11/Xlib.h>
#endif

#include <eventfd-vpoll/eventfd_vpoll.hpp>
#include <eventfd-vpoll/vpoll.h> // again: the guard

#include <poll.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <optional>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>

#if VPOLL_TEST_PRELUDE == 1
static_assert(ERR == -1 && OK == 0 && TRUE == 1 && FALSE == 0, "curses' macros are in force");
#elif VPOLL_TEST_PRELUDE == 2
static_assert(True == 1 && False == 0 && None == 0L, "X11's macros are in force");
#endif

#if VPOLL_TEST_NO_EXCEPTIONS
#ifdef __cpp_exceptions
#error "built with exceptions: the test would not show what it claims"
#endif
static_assert(!EVENTFD_VPOLL_EXCEPTIONS);
static_assert(!std::is_constructible_v<vpoll::eventfd_vpoll, vpoll::event_set>,
	      "the throwing constructor is left out");
#else
static_assert(EVENTFD_VPOLL_EXCEPTIONS);
static_assert(std::is_constructible_v<vpoll::eventfd_vpoll, vpoll::event_set>);
#endif

// The inline namespace: vpoll:: names are vpoll::v4:: names.
static_assert(std::is_same_v<vpoll::eventfd_vpoll, vpoll::v4::eventfd_vpoll>);
static_assert(std::is_same_v<vpoll::event_set, vpoll::v4::event_set>);

static_assert(EVENTFD_VPOLL_VERSION ==
	      EVENTFD_VPOLL_VERSION_MAJOR * 10000 + EVENTFD_VPOLL_VERSION_MINOR * 100 +
		      EVENTFD_VPOLL_VERSION_PATCH);

namespace {

int failures = 0;

void expect(bool ok, const char *what)
{
	if (!ok) {
		std::fprintf(stderr, "FAILED: %s\n", what);
		++failures;
	}
}

// Every name of <eventfd-vpoll/vpoll.h>.
void use_c_layer()
{
	static_assert(EFD_VPOLL_ADDEVENTS == (static_cast<unsigned long long>(VPOLL_ADDEVENTS) << 32));
	static_assert(EFD_VPOLL_DELEVENTS == (static_cast<unsigned long long>(VPOLL_DELEVENTS) << 32));
	static_assert(EFD_VPOLL_MODEVENTS == (static_cast<unsigned long long>(VPOLL_MODEVENTS) << 32));
	static_assert((EFD_VPOLL_EVENTMASK & EPOLLIN) != 0);

	errno = 1234;
	const int supported = vpollfd_supported();
	expect(supported == 0 || supported == 1, "vpollfd_supported() answers 0 or 1 here");
	expect(errno == 1234, "vpollfd_supported() keeps errno when it answers");

	const int backend = vpollfd_backend();
	expect(backend == VPOLLFD_BACKEND_NONE || backend == VPOLLFD_BACKEND_NATIVE ||
	       backend == VPOLLFD_BACKEND_DEVICE, "vpollfd_backend()");
	expect((backend == VPOLLFD_BACKEND_NATIVE) == (supported == 1),
	       "vpollfd_backend() is native exactly when supported");
	const int device = vpollfd_backend_supported(VPOLLFD_BACKEND_DEVICE);
	expect(device == 0 || device == 1, "vpollfd_backend_supported()");
	const int explicit_fd = vpollfd_create_backend(VPOLLFD_BACKEND_DEVICE, EPOLLIN, EFD_CLOEXEC);
	expect((explicit_fd >= 0) == (device == 1), "vpollfd_create_backend() on " VPOLLFD_DEVICE_PATH);
	if (explicit_fd >= 0)
		::close(explicit_fd);

	const int fd = vpollfd_create(EPOLLOUT, EFD_CLOEXEC);
	expect((fd >= 0) == (backend != VPOLLFD_BACKEND_NONE), "vpollfd_create() works exactly with a backend");
	unsigned int events = 0;
	if (fd >= 0) {
		expect(vpollfd_ctl(fd, VPOLL_ADDEVENTS, EPOLLIN) == 0, "VPOLL_ADDEVENTS");
		expect(vpollfd_ctl(fd, VPOLL_DELEVENTS, EPOLLOUT) == 0, "VPOLL_DELEVENTS");
		expect(vpollfd_events(fd, &events) == 0 && events == EPOLLIN, "vpollfd_events()");
		expect(vpollfd_ctl(fd, VPOLL_MODEVENTS, 0) == 0, "VPOLL_MODEVENTS");
		::close(fd);
	} else {
		expect(vpollfd_ctl(-1, VPOLL_MODEVENTS, 0) == -1 && errno == EBADF, "ctl EBADF");
		expect(vpollfd_events(-1, &events) == -1 && errno == EBADF, "events EBADF");
	}
}

// Every public name of <eventfd-vpoll/eventfd_vpoll.hpp>, through the
// std::error_code& overloads.
void use_cxx_layer()
{
	using vpoll::event;
	using vpoll::event_set;

	constexpr event_set every = event::in | event::pri | event::out | event::err | event::hup |
				    event::nval | event::rdnorm | event::rdband | event::wrnorm |
				    event::wrband | event::msg | event::rdhup;
	static_assert(every == event_set::all() && every.to_epoll() == vpoll::event_mask);
	static_assert((~event::in & event::in).empty() && (event::in & event::in) == event::in);
	static_assert(vpoll::readable.contains(event::in) && vpoll::writable.intersects(event::out));
	static_assert(!event_set::from_epoll(EPOLLET).has_value());
	static_assert(event_set::from_epoll_masked(EPOLLET | EPOLLIN) == event::in);
	static_assert(event_set(event::err).to_poll() == POLLERR);
	event_set s;
	s |= event::in;
	s &= vpoll::readable;
	s ^= event::rdnorm;
	expect(s == vpoll::readable && s != event_set(), "event_set operators");
	expect(vpoll::to_string(event::err | event::in) == "IN|ERR", "to_string");

	const vpoll::capabilities caps[] = {vpoll::native_capabilities,
					    vpoll::emulated_capabilities};
	expect(caps[0].independent && !caps[1].independent, "capabilities");

	const std::error_code refusal = vpoll::make_error_code(vpoll::errc::unreachable);
	expect(refusal.category() == vpoll::category() && refusal == std::errc::not_supported &&
	       refusal != std::error_code(EOPNOTSUPP, std::system_category()),
	       "vpoll::errc, vpoll::category()");
	const vpoll::errc codes[] = {vpoll::errc::unreachable, vpoll::errc::not_owner,
				     vpoll::errc::reentered, vpoll::errc::mismatch,
				     vpoll::errc::driver_shared, vpoll::errc::not_vpoll};
	for (vpoll::errc c : codes) {
		const std::error_code e = c;
		expect(!e.message().empty() && e.default_error_condition().category() ==
		       std::generic_category(), "vpoll::errc messages and conditions");
	}

	std::error_code ec;
	const bool native = vpoll::native_available(ec);
	expect(!ec, "native_available(ec)");
	expect(native == (vpollfd_supported() == 1), "native_available() agrees with the C probe");
	const bool device = vpoll::device_available(ec);
	expect(!ec, "device_available(ec)");
	const vpoll::backend automatic = vpoll::automatic_backend(ec);
	expect(!ec && automatic != vpoll::backend::automatic && automatic != vpoll::backend::none,
	       "automatic_backend(ec)");

	for (vpoll::backend which : {vpoll::backend::automatic, vpoll::backend::native,
				     vpoll::backend::emulated, vpoll::backend::device}) {
		vpoll::eventfd_vpoll v(vpoll::writable, EFD_CLOEXEC, which, ec);
		if (which == vpoll::backend::native && !native) {
			expect(ec == std::errc::invalid_argument && !v && v.fd() == -1,
			       "forced native without EFD_VPOLL: EINVAL, empty");
			continue;
		}
		if (which == vpoll::backend::device && !device) {
			expect(ec && !v && v.kind() == vpoll::backend::none,
			       "forced device without /dev/vpoll: an error, empty");
			continue;
		}
		expect(v.kind() == (which == vpoll::backend::automatic ? automatic : which), "kind()");
		expect(!ec && static_cast<bool>(v), "construction (error_code&)");
		v.add(event::pri | vpoll::readable, ec);
		expect(!ec, "add(ec)");
		v.del(event::pri, ec);
		expect(!ec, "del(ec)");
		v.mod(vpoll::readable, ec);
		expect(!ec, "mod(ec)");
		expect(v.events(ec) == vpoll::readable && !ec, "events(ec)");
		expect(v.can_reach(vpoll::writable), "can_reach()");
		expect(v.supported().independent == (v.kind() != vpoll::backend::emulated), "supported()");

		const vpoll::backend v_kind = v.kind();
		const bool kernel_object = v_kind != vpoll::backend::emulated;
		vpoll::eventfd_vpoll moved(std::move(v));
		v = std::move(moved);
		const int fd = v.release();
		expect(fd >= 0 && v.fd() == -1, "release()");
		vpoll::eventfd_vpoll adopted = vpoll::eventfd_vpoll::adopt(fd, ec);
		if (kernel_object) {
			expect(!ec && adopted.fd() == fd && adopted.kind() == v_kind, "adopt()");
			const int again = adopted.release();
			adopted = vpoll::eventfd_vpoll::adopt_native(again, ec);
			if (v_kind == vpoll::backend::native) {
				expect(!ec && adopted.fd() == fd, "adopt_native()");
			} else {
				expect(ec == vpoll::errc::not_vpoll && !adopted,
				       "adopt_native() refuses a device");
				::close(again);
			}
		} else {
			expect(ec == vpoll::errc::not_vpoll && !adopted, "adopt() refuses a socket");
			adopted = vpoll::eventfd_vpoll(vpoll::writable, EFD_CLOEXEC, which, ec);
			::close(fd);
		}
		adopted.reset();
		expect(!adopted, "reset()");
	}

#if EVENTFD_VPOLL_EXCEPTIONS
	// The throwing overloads.
	expect(vpoll::native_available() == native, "native_available()");
	expect(vpoll::device_available() == device, "device_available()");
	expect(vpoll::automatic_backend() == automatic, "automatic_backend()");
	vpoll::eventfd_vpoll v(vpoll::writable);
	v.add(vpoll::readable);
	v.del(vpoll::readable);
	v.mod(vpoll::writable);
	expect(v.events() == vpoll::writable, "events()");
	try {
		v.add(event::msg);
		expect(automatic != vpoll::backend::emulated, "emulated: add(MSG) throws");
	} catch (const std::system_error &e) {
		expect(automatic == vpoll::backend::emulated && e.code() == std::errc::not_supported,
		       "ENOTSUP as std::system_error");
	}
#endif
}

} // namespace

int main()
{
	use_c_layer();
	use_cxx_layer();
	std::printf("header_use: %d failure(s)\n", failures);
	return failures ? 1 : 0;
}
