// SPDX-License-Identifier: MIT
//
// <eventfd-vpoll/eventfd_vpoll.hpp> - C++17, header-only owner of an fd whose
// poll events are set from user space.
//
// Backends
//   native    an EFD_VPOLL eventfd (needs a kernel carrying the EFD_VPOLL
//             patch); every event and every transition is supported.
//   emulated  an AF_UNIX SOCK_STREAM socketpair: the caller gets one end, the
//             object drives it through the other.  Only what a real unix
//             socket can show is possible; see the table below.
//   automatic native when the kernel accepts EFD_VPOLL, emulated otherwise.
//             The kernel is probed once per process (thread-safe).
//
// Emulated backend, as measured by wrapper/tests (Linux 6.12 and 6.18):
//
//   event          raise                           clear
//   IN|RDNORM      peer writes a byte              drain it (only as a pair)
//   PRI            peer sends a MSG_OOB byte;      consume the OOB byte
//                  implies IN|RDNORM               (IN stays unless cleared too)
//   OUT|WRNORM|    (set on a fresh end)            fill the send buffer
//     WRBAND       drain the buffer                (only as a triple; not after HUP)
//   RDHUP          peer shutdown(SHUT_WR);         never (one way)
//                  implies IN|RDNORM
//   HUP            peer shutdown(SHUT_RDWR);       never (one way)
//                  implies RDHUP|IN|RDNORM
//   ERR            peer closed with unread data    never: the state is frozen
//                  (reset); implies HUP|RDHUP|     afterwards
//                  IN|RDNORM|OUT|WRNORM|WRBAND
//   RDBAND, MSG,   impossible                      -
//     NVAL
//   After RDHUP (or HUP) PRI cannot be raised any more; after HUP OUT cannot
//   be cleared any more.
//
// A request whose resulting set the backend cannot show exactly fails with
// ENOTSUP and changes nothing, so every call that succeeds leaves the fd in
// exactly the state the native backend would show.  Use the groups
// vpoll::readable (IN|RDNORM) and vpoll::writable (OUT|WRNORM|WRBAND), which
// work on both backends.  can_reach() tells beforehand whether mod(target)
// would succeed; supported() gives the static picture.
//
// The emulated state lives in the creating process: a forked child, or a
// process that received the fd over SCM_RIGHTS, can wait on fd() but cannot
// drive it (add/del/mod from another process fail with ENOTSUP).  The caller
// must not read, write, recv, send or getsockopt(SO_ERROR) on an emulated
// fd(): that changes what it shows (SO_ERROR or a recv clears ERR).  A change
// touching several events is several socket operations, so a concurrent
// poller can see an intermediate set; on the native backend every change is
// atomic.
//
// Thread safety
//   add, del, mod, events, can_reach, fd, native, supported: safe to call
//   from several threads at once on one object (native: each is one system
//   call; emulated: serialised by a mutex inside the object).
//   Construction, move, assignment, release, reset and destruction need
//   exclusive access, as for any object.
//   native_available(): safe from any thread; probes once.
//
// Errors: each operation has a throwing overload (std::system_error carrying
// the errno) and a noexcept overload taking std::error_code&, in the style of
// std::filesystem.  Built without exceptions (-fno-exceptions: __cpp_exceptions
// undefined, or EVENTFD_VPOLL_EXCEPTIONS defined to 0 beforehand), the throwing
// overloads are left out and the std::error_code& ones remain.
//
// Everything is in namespace vpoll::v4, an inline namespace: user code writes
// vpoll::, and a later ABI-breaking change moves to vpoll::v5.  No identifier
// here is a macro of <curses.h> or <X11/Xlib.h> (ERR, OK, TRUE, None, Status,
// ...), so either may be included first.

#ifndef EVENTFD_VPOLL_EVENTFD_VPOLL_HPP
#define EVENTFD_VPOLL_EVENTFD_VPOLL_HPP

// The sibling file, never another package's <vpoll.h> (a quoted include looks
// in this header's directory first).
#include "vpoll.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <system_error>
#include <utility>

#ifndef EVENTFD_VPOLL_EXCEPTIONS
#if defined(__cpp_exceptions)
#define EVENTFD_VPOLL_EXCEPTIONS 1
#else
#define EVENTFD_VPOLL_EXCEPTIONS 0
#endif
#endif

namespace vpoll {
inline namespace v4 {

// One poll event; the values are the EPOLL* ones.
enum class event : std::uint32_t {
	in = EPOLLIN,
	pri = EPOLLPRI,
	out = EPOLLOUT,
	err = EPOLLERR,
	hup = EPOLLHUP,
	nval = POLLNVAL, // glibc's <sys/epoll.h> has no EPOLLNVAL; the value is 0x20 in both
	rdnorm = EPOLLRDNORM,
	rdband = EPOLLRDBAND,
	wrnorm = EPOLLWRNORM,
	wrband = EPOLLWRBAND,
	msg = EPOLLMSG,
	rdhup = EPOLLRDHUP,
};

// Every bit an EFD_VPOLL eventfd may carry.
inline constexpr std::uint32_t event_mask = static_cast<std::uint32_t>(EFD_VPOLL_EVENTMASK);

// A set of events.  It can only hold bits of event_mask: there is no way to
// put a kernel-internal bit (EPOLLET, EPOLLONESHOT, ...) into one.
class event_set {
public:
	constexpr event_set() noexcept = default;
	constexpr event_set(event e) noexcept : bits_(static_cast<std::uint32_t>(e)) {}

	static constexpr event_set all() noexcept { return event_set(event_mask); }

	// From EPOLL* (or POLL*) bits: nullopt if any bit is outside event_mask.
	static constexpr std::optional<event_set> from_epoll(std::uint32_t bits) noexcept
	{
		if (bits & ~event_mask)
			return std::nullopt;
		return event_set(bits);
	}
	// From EPOLL* bits, dropping those outside event_mask.
	static constexpr event_set from_epoll_masked(std::uint32_t bits) noexcept
	{
		return event_set(bits & event_mask);
	}

	constexpr std::uint32_t to_epoll() const noexcept { return bits_; }
	// For struct pollfd: the POLL* values are the EPOLL* ones on Linux.
	constexpr short to_poll() const noexcept { return static_cast<short>(bits_); }

	constexpr bool empty() const noexcept { return bits_ == 0; }
	constexpr bool contains(event_set s) const noexcept { return (bits_ & s.bits_) == s.bits_; }
	constexpr bool intersects(event_set s) const noexcept { return (bits_ & s.bits_) != 0; }

	friend constexpr event_set operator|(event_set a, event_set b) noexcept { return event_set(a.bits_ | b.bits_); }
	friend constexpr event_set operator&(event_set a, event_set b) noexcept { return event_set(a.bits_ & b.bits_); }
	friend constexpr event_set operator^(event_set a, event_set b) noexcept { return event_set(a.bits_ ^ b.bits_); }
	// Complement within event_mask.
	constexpr event_set operator~() const noexcept { return event_set(~bits_ & event_mask); }
	constexpr event_set &operator|=(event_set s) noexcept { bits_ |= s.bits_; return *this; }
	constexpr event_set &operator&=(event_set s) noexcept { bits_ &= s.bits_; return *this; }
	constexpr event_set &operator^=(event_set s) noexcept { bits_ ^= s.bits_; return *this; }
	friend constexpr bool operator==(event_set a, event_set b) noexcept { return a.bits_ == b.bits_; }
	friend constexpr bool operator!=(event_set a, event_set b) noexcept { return a.bits_ != b.bits_; }

private:
	constexpr explicit event_set(std::uint32_t bits) noexcept : bits_(bits) {}
	std::uint32_t bits_ = 0;
};

constexpr event_set operator|(event a, event b) noexcept { return event_set(a) | event_set(b); }
constexpr event_set operator&(event a, event b) noexcept { return event_set(a) & event_set(b); }
constexpr event_set operator~(event a) noexcept { return ~event_set(a); }

// The groups a unix socket always shows together; fine for both backends.
inline constexpr event_set readable = event::in | event::rdnorm;
inline constexpr event_set writable = event::out | event::wrnorm | event::wrband;

static_assert(event_set::all().to_epoll() == EFD_VPOLL_EVENTMASK);
static_assert(static_cast<std::uint32_t>(event::nval) == 0x20);
static_assert((event::in | event::pri | event::out | event::err | event::hup | event::nval |
	       event::rdnorm | event::rdband | event::wrnorm | event::wrband | event::msg |
	       event::rdhup) == event_set::all());

// "IN|PRI", "0" for the empty set.
inline std::string to_string(event_set s)
{
	static constexpr std::pair<event, const char *> names[] = {
		{event::in, "IN"}, {event::pri, "PRI"}, {event::out, "OUT"},
		{event::err, "ERR"}, {event::hup, "HUP"}, {event::nval, "NVAL"},
		{event::rdnorm, "RDNORM"}, {event::rdband, "RDBAND"}, {event::wrnorm, "WRNORM"},
		{event::wrband, "WRBAND"}, {event::msg, "MSG"}, {event::rdhup, "RDHUP"},
	};
	std::string out;
	for (const auto &[e, name] : names) {
		if (s.contains(e)) {
			if (!out.empty())
				out += '|';
			out += name;
		}
	}
	return out.empty() ? "0" : out;
}

enum class backend { automatic, native, emulated };

// What a backend can do.  settable/clearable: the events it can raise/clear
// at all; independent: whether any subset can be reached from any state
// (native) or only what the table above allows (emulated; ask can_reach()).
struct capabilities {
	event_set settable;
	event_set clearable;
	bool independent;
};

inline constexpr capabilities native_capabilities{event_set::all(), event_set::all(), true};
inline constexpr capabilities emulated_capabilities{
	readable | event::pri | writable | event::rdhup | event::hup | event::err,
	readable | event::pri | writable, false};

namespace detail {

inline std::error_code errno_code(int e = errno) noexcept
{
	return std::error_code(e, std::system_category());
}

#if EVENTFD_VPOLL_EXCEPTIONS
inline void throw_if(const std::error_code &ec, const char *what)
{
	if (ec)
		throw std::system_error(ec, what);
}
#endif

// Probe state: -1 unknown, 0 no EFD_VPOLL, 1 EFD_VPOLL available.
inline std::atomic<int> probe_state{-1};
inline std::atomic<unsigned> probe_runs{0}; // how many times the kernel was asked
inline std::mutex probe_mutex;

// The emulated backend: state_ is what the caller's end shows.
class emulation {
public:
	// Lower case: <curses.h> defines ERR (and OK, TRUE, FALSE) as macros.
	static constexpr std::uint32_t in_bits = EPOLLIN | EPOLLRDNORM;
	static constexpr std::uint32_t out_bits = EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND;
	static constexpr std::uint32_t pri_bit = EPOLLPRI, rdhup_bit = EPOLLRDHUP,
				       hup_bit = EPOLLHUP, err_bit = EPOLLERR;

	emulation(int driver, std::uint32_t state) noexcept
		: driver_(driver), owner_(::getpid()), state_(state) {}
	emulation(const emulation &) = delete;
	emulation &operator=(const emulation &) = delete;
	~emulation()
	{
		if (driver_ >= 0)
			::close(driver_);
	}

	// Whether the caller's end can go from showing `from` to showing exactly `to`.
	static constexpr bool reachable(std::uint32_t from, std::uint32_t to) noexcept
	{
		constexpr std::uint32_t representable =
			in_bits | pri_bit | out_bits | rdhup_bit | hup_bit | err_bit;
		constexpr std::uint32_t under_err = hup_bit | rdhup_bit | in_bits | out_bits;
		if (to & ~representable)
			return false;
		if ((to & in_bits) != 0 && (to & in_bits) != in_bits)
			return false;
		if ((to & out_bits) != 0 && (to & out_bits) != out_bits)
			return false;
		if ((to & (pri_bit | rdhup_bit)) && !(to & in_bits))
			return false;
		if ((to & hup_bit) && !(to & rdhup_bit))
			return false;
		if ((to & err_bit) && (to & under_err) != under_err)
			return false;
		if (from & err_bit)
			return to == from;
		if ((from & rdhup_bit) && !(to & rdhup_bit))
			return false;
		if ((from & hup_bit) && !(to & hup_bit))
			return false;
		if ((to & pri_bit) && !(from & pri_bit) && (from & rdhup_bit))
			return false; // the peer can no longer send
		if (!(to & out_bits) && (from & out_bits) && (from & hup_bit))
			return false; // our end can no longer write
		return true;
	}

	bool can_reach(event_set target) const noexcept
	{
		std::lock_guard<std::mutex> lock(mutex_);
		return reachable(state_, target.to_epoll());
	}

	// op: VPOLL_ADDEVENTS / VPOLL_DELEVENTS / VPOLL_MODEVENTS.
	std::error_code change(int user_fd, int op, event_set events) noexcept
	{
		std::lock_guard<std::mutex> lock(mutex_);
		if (::fcntl(user_fd, F_GETFD) < 0)
			return errno_code();
		if (::getpid() != owner_)
			return errno_code(ENOTSUP);
		std::uint32_t e = events.to_epoll(), target;
		switch (op) {
		case VPOLL_ADDEVENTS: target = state_ | e; break;
		case VPOLL_DELEVENTS: target = state_ & ~e; break;
		case VPOLL_MODEVENTS: target = e; break;
		default: return errno_code(EINVAL);
		}
		if (!reachable(state_, target))
			return errno_code(ENOTSUP);
		std::error_code ec = apply(user_fd, target);
		if (ec) {
			// Some socket operations may have happened: resync.
			std::error_code ignored;
			state_ = observe(user_fd, ignored);
		}
		return ec;
	}

	// What the caller's end shows now (poll with a zero timeout).
	static std::uint32_t observe(int user_fd, std::error_code &ec) noexcept
	{
		struct pollfd p = {user_fd, static_cast<short>(event_mask), 0};
		int n;
		do
			n = ::poll(&p, 1, 0);
		while (n < 0 && errno == EINTR);
		if (n < 0) {
			ec = errno_code();
			return 0;
		}
		if (p.revents & POLLNVAL) {
			ec = errno_code(EBADF);
			return 0;
		}
		ec.clear();
		return static_cast<std::uint32_t>(p.revents) & event_mask;
	}

	std::uint32_t events(int user_fd, std::error_code &ec) const noexcept
	{
		std::lock_guard<std::mutex> lock(mutex_);
		return observe(user_fd, ec);
	}

	// Set up a fresh pair (sv[0] the caller's end) to show `initial`.
	std::error_code init(int user_fd, std::uint32_t initial) noexcept
	{
		// A small send buffer makes clearing OUT cheap (about 60 KiB).
		int size = 32768;
		if (::setsockopt(user_fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size)) < 0)
			return errno_code();
		// Keep a byte queued at the driver end: closing it then resets the
		// pair, which is what raises ERR.
		char seed = 's';
		if (::send(user_fd, &seed, 1, MSG_DONTWAIT | MSG_NOSIGNAL) != 1)
			return errno_code();
		if (!reachable(state_, initial))
			return errno_code(ENOTSUP);
		std::error_code ec = apply(user_fd, initial);
		return ec;
	}

private:
	static constexpr std::size_t chunk = 4096;

	std::error_code apply(int user_fd, std::uint32_t target) noexcept
	{
		const std::uint32_t from = state_;
		char buf[chunk] = {};
		if ((target & pri_bit) && !(from & pri_bit)) {
			char c = '!';
			if (::send(driver_, &c, 1, MSG_OOB | MSG_DONTWAIT | MSG_NOSIGNAL) != 1)
				return errno_code();
		}
		if (!(target & pri_bit) && (from & pri_bit)) {
			if (::recv(user_fd, buf, 1, MSG_OOB | MSG_DONTWAIT) < 0)
				return errno_code();
		}
		if ((target & in_bits) && !(target & (pri_bit | rdhup_bit)) && !has_data_) {
			char c = 'i';
			if (::send(driver_, &c, 1, MSG_DONTWAIT | MSG_NOSIGNAL) != 1)
				return errno_code();
			has_data_ = true;
		}
		if (!(target & in_bits) && (from & in_bits)) {
			// Drain until EAGAIN: this also drops an OOB byte already
			// consumed, which otherwise keeps IN up.
			for (;;) {
				ssize_t n = ::recv(user_fd, buf, sizeof(buf), MSG_DONTWAIT);
				if (n > 0)
					continue;
				if (n < 0 && errno == EINTR)
					continue;
				if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
					break;
				return n == 0 ? errno_code(EIO) : errno_code();
			}
			has_data_ = false;
		}
		if (!(target & out_bits) && (from & out_bits)) {
			for (;;) {
				ssize_t n = ::send(user_fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_NOSIGNAL);
				if (n > 0 || (n < 0 && errno == EINTR))
					continue;
				if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
					break;
				return errno_code();
			}
		}
		if ((target & out_bits) && !(from & out_bits)) {
			// Drain all but the last byte: the driver end keeps data
			// queued (see init()), and the last small skb keeps our end
			// writable.
			int queued = 0;
			if (::ioctl(driver_, FIONREAD, &queued) < 0)
				return errno_code();
			while (queued > 1) {
				std::size_t want = static_cast<std::size_t>(queued - 1);
				ssize_t n = ::recv(driver_, buf, want < sizeof(buf) ? want : sizeof(buf),
						   MSG_DONTWAIT);
				if (n < 0 && errno == EINTR)
					continue;
				if (n <= 0)
					return n == 0 ? errno_code(EIO) : errno_code();
				queued -= static_cast<int>(n);
			}
		}
		if ((target & hup_bit) && !(from & hup_bit)) {
			if (::shutdown(driver_, SHUT_RDWR) < 0)
				return errno_code();
		} else if ((target & rdhup_bit) && !(from & rdhup_bit)) {
			if (::shutdown(driver_, SHUT_WR) < 0)
				return errno_code();
		}
		if ((target & err_bit) && !(from & err_bit)) {
			::close(driver_);
			driver_ = -1;
		}
		state_ = target;
		return {};
	}

	mutable std::mutex mutex_;
	int driver_;
	pid_t owner_;
	std::uint32_t state_;
	bool has_data_ = false;
};

} // namespace detail

// Whether this kernel accepts EFD_VPOLL.  The kernel is asked once per
// process; concurrent first calls wait for that one probe.  EINVAL (or
// ENOSYS) means no; a probe that cannot answer (EMFILE, ENFILE, ENOMEM, ...)
// is reported in ec and not cached.
inline bool native_available(std::error_code &ec) noexcept
{
	int state = detail::probe_state.load(std::memory_order_acquire);
	if (state < 0) {
		std::lock_guard<std::mutex> lock(detail::probe_mutex);
		state = detail::probe_state.load(std::memory_order_relaxed);
		if (state < 0) {
			detail::probe_runs.fetch_add(1, std::memory_order_relaxed);
			state = vpollfd_supported();
			if (state < 0) {
				ec = detail::errno_code();
				return false;
			}
			detail::probe_state.store(state, std::memory_order_release);
		}
	}
	ec.clear();
	return state == 1;
}

#if EVENTFD_VPOLL_EXCEPTIONS
inline bool native_available()
{
	std::error_code ec;
	bool yes = native_available(ec);
	detail::throw_if(ec, "vpoll::native_available");
	return yes;
}
#endif

// Move-only owner of an fd whose poll events are set from user space.
class eventfd_vpoll {
public:
	// An empty object: fd() is -1, every operation fails with EBADF.
	eventfd_vpoll() noexcept = default;

	// flags: 0 or EFD_CLOEXEC | EFD_NONBLOCK (the caller's end for the
	// emulated backend).  Throws std::system_error: EINVAL for other flags
	// (or, forced native, a kernel without EFD_VPOLL), ENOTSUP if the
	// emulated backend cannot show `initial`.
#if EVENTFD_VPOLL_EXCEPTIONS
	explicit eventfd_vpoll(event_set initial, int flags = EFD_CLOEXEC,
			       backend which = backend::automatic)
	{
		std::error_code ec;
		open(initial, flags, which, ec);
		detail::throw_if(ec, "eventfd_vpoll");
	}
#endif

	// Non-throwing: on failure ec is set and the object is empty.
	eventfd_vpoll(event_set initial, int flags, backend which, std::error_code &ec) noexcept
	{
		open(initial, flags, which, ec);
	}

	// Take ownership of an existing EFD_VPOLL eventfd (e.g. from release()
	// or vpollfd_create()).
	static eventfd_vpoll adopt_native(int fd) noexcept
	{
		eventfd_vpoll v;
		v.fd_ = fd;
		return v;
	}

	eventfd_vpoll(const eventfd_vpoll &) = delete;
	eventfd_vpoll &operator=(const eventfd_vpoll &) = delete;
	eventfd_vpoll(eventfd_vpoll &&other) noexcept
		: fd_(std::exchange(other.fd_, -1)), emu_(std::move(other.emu_)) {}
	eventfd_vpoll &operator=(eventfd_vpoll &&other) noexcept
	{
		if (this != &other) {
			reset();
			fd_ = std::exchange(other.fd_, -1);
			emu_ = std::move(other.emu_);
		}
		return *this;
	}
	~eventfd_vpoll() { reset(); }

	// Raise, clear, or replace pending events.
#if EVENTFD_VPOLL_EXCEPTIONS
	void add(event_set e) { ctl(VPOLL_ADDEVENTS, e, "eventfd_vpoll::add"); }
	void del(event_set e) { ctl(VPOLL_DELEVENTS, e, "eventfd_vpoll::del"); }
	void mod(event_set e) { ctl(VPOLL_MODEVENTS, e, "eventfd_vpoll::mod"); }
#endif
	void add(event_set e, std::error_code &ec) noexcept { ec = ctl(VPOLL_ADDEVENTS, e); }
	void del(event_set e, std::error_code &ec) noexcept { ec = ctl(VPOLL_DELEVENTS, e); }
	void mod(event_set e, std::error_code &ec) noexcept { ec = ctl(VPOLL_MODEVENTS, e); }

	// The pending set, as poll would report it now.
#if EVENTFD_VPOLL_EXCEPTIONS
	event_set events() const
	{
		std::error_code ec;
		event_set s = events(ec);
		detail::throw_if(ec, "eventfd_vpoll::events");
		return s;
	}
#endif
	event_set events(std::error_code &ec) const noexcept
	{
		if (emu_)
			return event_set::from_epoll_masked(emu_->events(fd_, ec));
		unsigned int bits = 0;
		if (vpollfd_events(fd_, &bits) < 0) {
			ec = detail::errno_code();
			return {};
		}
		ec.clear();
		return event_set::from_epoll_masked(bits);
	}

	// Whether mod(target) would succeed now (always true when native).
	bool can_reach(event_set target) const noexcept
	{
		return emu_ ? emu_->can_reach(target) : fd_ >= 0;
	}

	// For the caller's poll/epoll/io_uring.  Do not read or write it.
	int fd() const noexcept { return fd_; }
	explicit operator bool() const noexcept { return fd_ >= 0; }
	bool native() const noexcept { return fd_ >= 0 && !emu_; }
	capabilities supported() const noexcept
	{
		return emu_ ? emulated_capabilities : native_capabilities;
	}

	// Give up ownership and return the fd (-1 if empty).  For the emulated
	// backend the driving end is closed: the returned fd then shows
	// HUP|RDHUP|IN|RDNORM for good and can no longer be driven.
	int release() noexcept
	{
		emu_.reset();
		return std::exchange(fd_, -1);
	}

	// Close the fd (and the driving end); the object becomes empty.
	void reset() noexcept
	{
		emu_.reset();
		if (fd_ >= 0)
			::close(std::exchange(fd_, -1));
	}

private:
	void open(event_set initial, int flags, backend which, std::error_code &ec) noexcept
	{
		ec.clear();
		if (flags & ~(EFD_CLOEXEC | EFD_NONBLOCK)) {
			ec = detail::errno_code(EINVAL);
			return;
		}
		if (which == backend::automatic) {
			bool yes = native_available(ec);
			if (ec)
				return;
			which = yes ? backend::native : backend::emulated;
		}
		if (which == backend::native) {
			fd_ = vpollfd_create(initial.to_epoll(), flags);
			if (fd_ < 0)
				ec = detail::errno_code();
			return;
		}
		int sv[2];
		int type = SOCK_STREAM | SOCK_CLOEXEC | ((flags & EFD_NONBLOCK) ? SOCK_NONBLOCK : 0);
		if (::socketpair(AF_UNIX, type, 0, sv) < 0) {
			ec = detail::errno_code();
			return;
		}
		if (!(flags & EFD_CLOEXEC) && ::fcntl(sv[0], F_SETFD, 0) < 0) {
			ec = detail::errno_code();
			::close(sv[0]);
			::close(sv[1]);
			return;
		}
		std::unique_ptr<detail::emulation> emu(new (std::nothrow) detail::emulation(
			sv[1], EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND));
		if (!emu) {
			ec = detail::errno_code(ENOMEM);
			::close(sv[0]);
			::close(sv[1]);
			return;
		}
		ec = emu->init(sv[0], initial.to_epoll());
		if (ec) {
			::close(sv[0]);
			return; // emu closes sv[1]
		}
		fd_ = sv[0];
		emu_ = std::move(emu);
	}

	std::error_code ctl(int op, event_set e) noexcept
	{
		if (emu_)
			return emu_->change(fd_, op, e);
		if (vpollfd_ctl(fd_, op, e.to_epoll()) < 0)
			return detail::errno_code();
		return {};
	}
#if EVENTFD_VPOLL_EXCEPTIONS
	void ctl(int op, event_set e, const char *what)
	{
		detail::throw_if(ctl(op, e), what);
	}
#endif

	int fd_ = -1;
	std::unique_ptr<detail::emulation> emu_;
};

} // namespace v4
} // namespace vpoll

#endif // EVENTFD_VPOLL_EVENTFD_VPOLL_HPP
