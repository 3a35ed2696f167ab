// SPDX-License-Identifier: MIT
//
// <eventfd-vpoll/eventfd_vpoll.hpp> - C++17, header-only owner of an fd whose
// poll events are set from user space.
//
// Backends
//   native    an EFD_VPOLL eventfd (needs a kernel carrying the EFD_VPOLL
//             patch); every event and every transition is supported.
//   device    a descriptor of /dev/vpoll, from the vpoll module (module/ of
//             this project) on a stock kernel: the same protocol, events and
//             wake-ups as native.  One difference a user of io_uring sees: a
//             stock kernel's io_uring drops a wake-up that carries PRI and no
//             other event its poll request asked for (native kernels of this
//             project carry the io_uring fix); poll, select, epoll and aio
//             are not affected.
//   emulated  an AF_UNIX SOCK_STREAM socketpair: the caller gets one end, the
//             object drives it through the other.  Only what a real unix
//             socket can show is possible; see the table below.
//   automatic the process's choice, made once by vpollfd_backend() of
//             <eventfd-vpoll/vpoll.h> (lock-free): native when the kernel
//             accepts EFD_VPOLL, else device when /dev/vpoll is the vpoll
//             module's, else emulated.  A transient answer (EMFILE, ENFILE,
//             ENOMEM, ENOBUFS, EAGAIN, EINTR) is returned and decides
//             nothing; any other error is "cannot" and moves on (EINVAL,
//             ENOSYS, EPERM from eventfd2; ENOENT, EACCES, EPERM, ENXIO,
//             ENODEV from open, ...).
//
// Emulated backend, as measured by wrapper/tests (Linux 6.12, 6.18, 7.3):
//
//   event          raise                           clear
//   IN|RDNORM      peer writes a byte              drain it (only as a pair)
//   PRI            peer writes a MSG_OOB byte,     consume the OOB byte
//                  then a byte; implies IN|RDNORM  (IN stays unless cleared too)
//   OUT|WRNORM|    drain what our end queued, then fill the send buffer (SO_SNDBUF
//     WRBAND       queue a 1-byte seed             at its minimum: ~2 KiB)
//                                                  (only as a triple; not after HUP)
//   RDHUP          peer shutdown(SHUT_WR);         never (one way)
//                  implies IN|RDNORM
//   HUP            peer shutdown(SHUT_RDWR);       never (one way)
//                  implies RDHUP|IN|RDNORM
//   ERR            peer closed with the seed       never: the state is frozen
//                  unread (reset); implies HUP|    afterwards
//                  RDHUP|IN|RDNORM|OUT|WRNORM|WRBAND
//   RDBAND, MSG,   impossible                      -
//     NVAL
//   After RDHUP (or HUP) PRI cannot be raised any more; after HUP OUT cannot
//   be cleared any more.  PRI needs AF_UNIX MSG_OOB shown as POLLPRI (Linux
//   5.15.y/5.18+, CONFIG_AF_UNIX_OOB): probed once per process; without it
//   supported() and can_reach() leave PRI out.
//
// A request whose resulting set the backend cannot show exactly fails with
// errc::unreachable and changes nothing.  After every change the object checks
// (poll) that the fd shows the target set; if not, it fails with
// errc::mismatch and resynchronises.  So every call that succeeds leaves the fd
// in exactly the state the native backend would show.  Use the groups
// vpoll::readable (IN|RDNORM) and vpoll::writable (OUT|WRNORM|WRBAND), which
// work on both backends.  can_reach() tells beforehand whether mod(target)
// would succeed; supported() gives the static picture.
//
// Wake-ups (edges).  Native and device: add() and mod() wake the waiters whose events
// intersect what the call asserts (even if already pending: a re-assert is a
// new edge for EPOLLET and io_uring multishot), del() wakes nobody.
// Emulated, the same, with these differences (tests/test_backend.cpp, cases
// "[edges]", measure both backends with the same cases):
//   - del() never wakes anybody (as native).
//   - Asserting IN|RDNORM or PRI wakes the waiters on any of IN, RDNORM, PRI,
//     RDBAND (the socket's wake-up key): a PRI-only waiter with PRI pending gets
//     an extra edge when IN is asserted.
//   - Raising PRI with no IN pending, or re-asserting IN or PRI while PRI is
//     pending, is two socket writes: one or two wake-ups.
//   - Once RDHUP (or HUP) is shown the peer can no longer write: a re-assert
//     is a repeated shutdown(), which wakes every waiter whose events
//     intersect the shown set (a key-less wake-up); so does raising ERR.
//   - Once ERR is shown nothing can be re-asserted: add()/mod() of the shown
//     set succeed and wake nobody (native would).
//
// Processes.  The emulated state lives in the creating process: a forked
// child, or a process that received the fd over SCM_RIGHTS, can wait on fd()
// but cannot drive it (add/del/mod fail with errc::not_owner at once, before
// any lock, so a child forked while another thread was inside add() does not
// hang).  A child's copy of the driving end would keep ERR from showing (the
// reset comes with the last close), and Linux has no close-on-fork: a
// pthread_atfork child handler closes every object's driving end in the child,
// and fork() returns in the parent only once the child has done so (while any
// emulated object exists: one pipe and one wait for the child per fork).
// What it cannot cover (_Fork(), vfork(), a raw clone() without CLONE_VM...
// and an exec'd program that inherited the end: it is CLOEXEC) is caught when
// ERR is raised: if the fd does not show ERR within 100 ms of the close (the
// time a child gets to run its handler), the call fails with
// errc::driver_shared and the object stops driving.
//
// The caller must not read, write, recv, send or getsockopt(SO_ERROR) on an
// emulated fd(): that changes what it shows.  A change touching several events
// is several socket operations, so a concurrent poller can see an intermediate
// set; on the native and device backends every change is atomic.
//
// Thread and signal safety
//   add, del, mod, events, can_reach, fd, kind, native, supported: safe to
//   call from several threads at once on one object (native, device: one system
//   call; emulated: changes are serialised by a lock inside the object,
//   events() and can_reach() take none).
//   Async-signal-safe (the std::error_code& overloads; errno may change, as
//   with any call from a handler: save it): on the native and device
//   backends add, del, mod and events (one write(2) or read(2)); on the
//   emulated backend add, del, mod (system calls and a lock-free-atomics lock
//   that never allocates) and events (one poll(2)); a handler that interrupts its own thread inside
//   a change of the same object gets errc::reentered instead of a deadlock.
//   Construction, release(), reset() and destruction are not: they allocate
//   or take the process-wide registry's mutex.  The C functions of
//   <eventfd-vpoll/vpoll.h> are async-signal-safe.
//   Construction, move, assignment, release, reset and destruction need
//   exclusive access, as for any object.
//   native_available(), automatic_backend(): safe from any thread and from a
//   signal handler; the process's choice is made once.  device_available():
//   the same, but asks every time.
//
// Errors: each operation has a throwing overload (std::system_error) and a
// noexcept overload taking std::error_code&, in the style of std::filesystem.
// The kernel's errors come in std::system_category() (errno values); the
// wrapper's own refusals in vpoll::category() (vpoll::errc), so a refusal is
// never confused with a kernel EOPNOTSUPP; each vpoll::errc compares equal to
// a std::errc condition (unreachable and not_owner to not_supported) for code
// that tests conditions.  Built without exceptions (-fno-exceptions:
// __cpp_exceptions undefined, or EVENTFD_VPOLL_EXCEPTIONS defined to 0
// beforehand), the throwing overloads are left out.
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
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <system_error>
#include <type_traits>
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

// ---------------------------------------------------------------- errors

// The wrapper's own refusals, in vpoll::category().  Kernel errors keep their
// errno in std::system_category().
enum class errc {
	unreachable = 1, // the emulated backend cannot show that set (nothing changed)
	not_owner,       // an emulated object driven from a process other than its creator's
	reentered,       // a signal handler interrupted this thread's own change of the object
	mismatch,        // after the change the fd did not show the target (resynchronised)
	driver_shared,   // ERR did not show: another process holds the driving end
	not_vpoll,       // adopt(): the fd is neither an EFD_VPOLL eventfd nor a /dev/vpoll one
};

namespace detail {

class category_impl final : public std::error_category {
public:
	constexpr category_impl() noexcept = default;
	const char *name() const noexcept override { return "vpoll"; }
	std::string message(int value) const override
	{
		switch (static_cast<errc>(value)) {
		case errc::unreachable: return "the emulated backend cannot show that event set";
		case errc::not_owner: return "the emulated object belongs to another process";
		case errc::reentered: return "called from a signal handler inside this object's own change";
		case errc::mismatch: return "the descriptor does not show the requested set";
		case errc::driver_shared: return "another process holds the driving end: ERR cannot show";
		case errc::not_vpoll: return "neither an EFD_VPOLL eventfd nor a /dev/vpoll descriptor";
		}
		return "unknown vpoll error";
	}
	std::error_condition default_error_condition(int value) const noexcept override
	{
		switch (static_cast<errc>(value)) {
		case errc::unreachable:
		case errc::not_owner: return std::errc::not_supported;
		case errc::reentered: return std::errc::resource_deadlock_would_occur;
		case errc::mismatch: return std::errc::io_error;
		case errc::driver_shared: return std::errc::device_or_resource_busy;
		case errc::not_vpoll: return std::errc::invalid_argument;
		}
		return std::error_condition(value, *this);
	}
};

// Constant-initialised: usable from a signal handler, one address in the program.
inline const category_impl category_instance;

} // namespace detail

inline const std::error_category &category() noexcept { return detail::category_instance; }
inline std::error_code make_error_code(errc e) noexcept
{
	return std::error_code(static_cast<int>(e), category());
}

} // namespace v4
} // namespace vpoll

namespace std {
template <>
struct is_error_code_enum<vpoll::v4::errc> : true_type {};
} // namespace std

namespace vpoll {
inline namespace v4 {

// device and none come last: the values of the others are those of version
// 4.0.  They are not the C layer's VPOLLFD_BACKEND_* numbers.  none is no
// backend: kind() of an empty object.
enum class backend { automatic, native, emulated, device, none };

// What a backend can do.  settable/clearable: the events it can raise/clear
// at all; independent: whether any subset can be reached from any state
// (native) or only what the table above allows (emulated; ask can_reach()).
struct capabilities {
	event_set settable;
	event_set clearable;
	bool independent;
};

// The native and the device backend.
inline constexpr capabilities native_capabilities{event_set::all(), event_set::all(), true};
// With AF_UNIX MSG_OOB; an object's supported() leaves PRI out where the kernel lacks it.
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

// Probe state: -1 unknown, 0 no, 1 yes.
inline std::atomic<int> oob_state{-1}; // AF_UNIX MSG_OOB shown as POLLPRI

// Whether AF_UNIX stream sockets deliver MSG_OOB and poll shows it as POLLPRI.
// Asked once; a transient failure (EMFILE, ...) is returned and not cached.
inline bool oob_available(std::error_code &ec) noexcept
{
	int state = oob_state.load(std::memory_order_acquire);
	if (state >= 0) {
		ec.clear();
		return state == 1;
	}
	int sv[2];
	if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		ec = errno_code();
		return false;
	}
	char c = '!';
	state = 0;
	if (::send(sv[1], &c, 1, MSG_OOB | MSG_DONTWAIT | MSG_NOSIGNAL) == 1) {
		struct pollfd p = {sv[0], POLLPRI, 0};
		state = ::poll(&p, 1, 0) == 1 && (p.revents & POLLPRI);
	} else if (errno != EOPNOTSUPP && errno != EINVAL) {
		ec = errno_code();
		::close(sv[0]);
		::close(sv[1]);
		return false;
	}
	::close(sv[0]);
	::close(sv[1]);
	oob_state.store(state, std::memory_order_release);
	ec.clear();
	return state == 1;
}

// Which kernel object fd is: backend::native for an EFD_VPOLL eventfd (its
// anon inode is "[eventfd-vpoll]", the v4 series on mainline and 6.12, or
// "[eventfd]" with "eventfd-vpoll: 1" in its fdinfo, 6.12 builds of the series
// before it took the name), backend::device for a /dev/vpoll descriptor (a
// character device whose fdinfo has the module's "vpoll-device:" line), else
// backend::none; backend::none too for a descriptor not open for reading and
// writing.  Needs /proc.
inline backend kernel_object_kind(int fd, std::error_code &ec) noexcept
{
	char path[64], link[64] = {};
	std::snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ssize_t n = ::readlink(path, link, sizeof(link) - 1);
	if (n < 0) {
		ec = errno_code(errno == ENOENT && ::fcntl(fd, F_GETFD) < 0 ? EBADF : errno);
		return backend::none;
	}
	ec.clear();
	const int fl = ::fcntl(fd, F_GETFL);
	if (fl < 0 || (fl & O_ACCMODE) != O_RDWR)
		return backend::none;
	if (std::strcmp(link, "anon_inode:[eventfd-vpoll]") == 0)
		return backend::native;
	const bool eventfd = std::strcmp(link, "anon_inode:[eventfd]") == 0;
	struct stat st;
	if (!eventfd && (::fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode)))
		return backend::none;
	std::snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	int info = ::open(path, O_RDONLY | O_CLOEXEC);
	if (info < 0) {
		ec = errno_code();
		return backend::none;
	}
	char text[512];
	n = ::read(info, text, sizeof(text) - 1);
	int saved = errno;
	::close(info);
	if (n < 0) {
		ec = errno_code(saved);
		return backend::none;
	}
	text[n] = 0;
	if (eventfd)
		return std::strstr(text, "\neventfd-vpoll:\t1\n") != nullptr ||
		       std::strstr(text, "\neventfd-vpoll: 1\n") != nullptr
			? backend::native : backend::none;
	return std::strstr(text, "\nvpoll-device: ") != nullptr ? backend::device : backend::none;
}

// A lock that is async-signal-safe: lock-free atomics and futex(2), no
// allocation.  The owner is recorded by the same compare-and-swap that takes
// the lock, so a signal handler interrupting its own thread's critical section
// is told so (false) instead of waiting for itself.
class change_lock {
public:
	static_assert(std::atomic<pthread_t>::is_always_lock_free);
	static_assert(std::atomic<std::uint32_t>::is_always_lock_free);

	bool lock() noexcept
	{
		const pthread_t me = ::pthread_self();
		pthread_t seen{};
		if (owner_.compare_exchange_strong(seen, me))
			return true;
		if (::pthread_equal(seen, me))
			return false;
		waiters_.fetch_add(1);
		for (;;) {
			const std::uint32_t ticket = seq_.load();
			seen = pthread_t{};
			if (owner_.compare_exchange_strong(seen, me))
				break;
			::syscall(SYS_futex, reinterpret_cast<std::uint32_t *>(&seq_), FUTEX_WAIT_PRIVATE,
				  ticket, nullptr, nullptr, 0);
		}
		waiters_.fetch_sub(1);
		return true;
	}

	void unlock() noexcept
	{
		owner_.store(pthread_t{});
		if (waiters_.load() != 0) {
			seq_.fetch_add(1);
			::syscall(SYS_futex, reinterpret_cast<std::uint32_t *>(&seq_), FUTEX_WAKE_PRIVATE,
				  1, nullptr, nullptr, 0);
		}
	}

private:
	std::atomic<pthread_t> owner_{};
	std::atomic<std::uint32_t> waiters_{0};
	std::atomic<std::uint32_t> seq_{0};
};

class emulation;

// Every emulated object of the process, so that a fork's child can close their
// driving ends (pthread_atfork).  One list for the whole program: inline
// variables, not per-translation-unit statics.
inline std::mutex registry_mutex;
inline emulation *registry_head = nullptr;
inline int registry_fork_pipe[2] = {-1, -1};
inline void registry_child_closes() noexcept;
// fork()'s handlers.  The parent's returns once the child has closed its
// copies (the pipe's end of file), so that no window is left in which the
// parent raises ERR while the child still holds a driving end.
inline void registry_lock() noexcept
{
	const int saved = errno;
	registry_mutex.lock();
	if (registry_head && ::pipe2(registry_fork_pipe, O_CLOEXEC) < 0)
		registry_fork_pipe[0] = registry_fork_pipe[1] = -1;
	errno = saved;
}
inline void registry_unlock() noexcept
{
	const int saved = errno;
	if (registry_fork_pipe[0] >= 0) {
		::close(registry_fork_pipe[1]);
		struct pollfd p = {registry_fork_pipe[0], POLLIN, 0};
		while (::poll(&p, 1, 1000) < 0 && errno == EINTR) {
		}
		::close(registry_fork_pipe[0]);
		registry_fork_pipe[0] = registry_fork_pipe[1] = -1;
	}
	registry_mutex.unlock();
	errno = saved;
}
inline void registry_child() noexcept
{
	const int saved = errno;
	registry_child_closes();
	if (registry_fork_pipe[0] >= 0) {
		::close(registry_fork_pipe[0]);
		::close(registry_fork_pipe[1]);
		registry_fork_pipe[0] = registry_fork_pipe[1] = -1;
	}
	registry_mutex.unlock();
	errno = saved;
}
inline int registry_install() noexcept
{
	static const int result = ::pthread_atfork(registry_lock, registry_unlock, registry_child);
	return result;
}

// The emulated backend: state_ is what the caller's end shows.
class emulation {
public:
	// Lower case: <curses.h> defines ERR (and OK, TRUE, FALSE) as macros.
	static constexpr std::uint32_t in_bits = EPOLLIN | EPOLLRDNORM;
	static constexpr std::uint32_t out_bits = EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND;
	static constexpr std::uint32_t pri_bit = EPOLLPRI, rdhup_bit = EPOLLRDHUP,
				       hup_bit = EPOLLHUP, err_bit = EPOLLERR;

	emulation(int driver, std::uint32_t state, bool oob) noexcept
		: driver_(driver), owner_(::getpid()), state_(state), oob_(oob)
	{
		std::lock_guard<std::mutex> guard(registry_mutex);
		next_ = registry_head;
		if (next_)
			next_->prev_ = this;
		registry_head = this;
	}
	emulation(const emulation &) = delete;
	emulation &operator=(const emulation &) = delete;
	~emulation()
	{
		{
			std::lock_guard<std::mutex> guard(registry_mutex);
			(prev_ ? prev_->next_ : registry_head) = next_;
			if (next_)
				next_->prev_ = prev_;
		}
		if (driver_ >= 0)
			::close(driver_);
	}

	// Whether the caller's end can go from showing `from` to showing exactly
	// `to`; oob: whether the kernel has AF_UNIX MSG_OOB (PRI).
	static constexpr bool reachable(std::uint32_t from, std::uint32_t to, bool oob = true) noexcept
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
		if ((to & pri_bit) && !(from & pri_bit) && !oob)
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

	bool oob() const noexcept { return oob_; }
	bool owned_here() const noexcept { return ::getpid() == owner_; }

	// No lock: state_ is atomic.
	bool can_reach(event_set target) const noexcept
	{
		return owned_here() && driver_ >= 0 &&
		       reachable(state_.load(std::memory_order_acquire), target.to_epoll(), oob_);
	}

	// op: VPOLL_ADDEVENTS / VPOLL_DELEVENTS / VPOLL_MODEVENTS.
	std::error_code change(int user_fd, int op, event_set events) noexcept
	{
		// Before any lock: in a forked child the lock may be held by a
		// thread that does not exist there.
		if (!owned_here())
			return errc::not_owner;
		if (::fcntl(user_fd, F_GETFD) < 0)
			return errno_code();
		const std::uint32_t e = events.to_epoll();
		if (op < VPOLL_ADDEVENTS || op > VPOLL_MODEVENTS)
			return errno_code(EINVAL);
		if (!lock_.lock())
			return errc::reentered;
		std::error_code ec = change_locked(user_fd, op, e);
		lock_.unlock();
		return ec;
	}

	// What the caller's end shows now (poll with a zero timeout).  No lock,
	// no object state: also fine in a child or a signal handler.
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

	// Set up a fresh pair (the caller's end user_fd) to show `initial`.
	std::error_code init(int user_fd, std::uint32_t initial) noexcept
	{
		// The smallest send buffer (the kernel raises 1 to SOCK_MIN_SNDBUF,
		// 4608 B): clearing OUT then queues one ~2 KiB skb.
		int size = 1;
		if (::setsockopt(user_fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size)) < 0)
			return errno_code();
		// Keep a byte queued at the driver end: closing it then resets the
		// pair, which is what raises ERR.
		char seed = 's';
		if (::send(user_fd, &seed, 1, MSG_DONTWAIT | MSG_NOSIGNAL) != 1)
			return errno_code();
		if (!reachable(state_, initial, oob_))
			return errc::unreachable;
		std::error_code ec = apply(user_fd, initial, 0);
		if (ec)
			return ec;
		if (observe(user_fd, ec) != initial && !ec)
			ec = errc::mismatch;
		return ec;
	}

	// For release(): leave user_fd as a socket whose peer closed cleanly
	// (HUP|RDHUP|IN|RDNORM|OUT|WRNORM|WRBAND, read gives end of file), or
	// frozen at ERR if ERR was shown.  Not the owner: only drop this
	// process's copy of the driving end.
	void detach(int user_fd) noexcept
	{
		if (driver_ < 0)
			return;
		if (owned_here() && lock_.lock()) {
			char buf[chunk];
			if (state_.load() & pri_bit)
				::recv(user_fd, buf, 1, MSG_OOB | MSG_DONTWAIT);
			drain(user_fd);
			::shutdown(driver_, SHUT_RDWR);
			drain(driver_);
			lock_.unlock();
		}
		::close(driver_);
		driver_ = -1;
	}

private:
	friend void registry_child_closes() noexcept;
	static constexpr std::size_t chunk = 4096;
	static constexpr std::chrono::milliseconds err_grace{100};

	std::error_code change_locked(int user_fd, int op, std::uint32_t e) noexcept
	{
		const std::uint32_t from = state_.load(std::memory_order_relaxed);
		std::uint32_t target = 0, asserted = 0;
		switch (op) {
		case VPOLL_ADDEVENTS: target = from | e; asserted = e; break;
		case VPOLL_DELEVENTS: target = from & ~e; break;
		default: target = e; asserted = e; break;
		}
		if (!reachable(from, target, oob_))
			return errc::unreachable;
		if (driver_ < 0 && !(from & err_bit))
			return errc::driver_shared;
		std::error_code ec = apply(user_fd, target, asserted);
		std::error_code seen;
		const std::uint32_t now = observe(user_fd, seen);
		if (!ec && !seen && now != target)
			ec = errc::mismatch;
		if (ec)
			state_.store(seen ? from : now, std::memory_order_release);
		return ec;
	}

	// recv until EAGAIN (or end of file); false on another error.
	static bool drain(int fd) noexcept
	{
		char buf[chunk];
		for (;;) {
			ssize_t n = ::recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (n > 0 || (n < 0 && errno == EINTR))
				continue;
			return n == 0 || errno == EAGAIN || errno == EWOULDBLOCK;
		}
	}

	std::error_code send_byte(int flags) noexcept
	{
		char c = (flags & MSG_OOB) ? '!' : 'i';
		if (::send(driver_, &c, 1, flags | MSG_DONTWAIT | MSG_NOSIGNAL) != 1)
			return errno_code();
		return {};
	}

	// Make the caller's end show `target`; `asserted`: the events the call
	// asserts (ADD, MOD), which are woken even if already shown.
	std::error_code apply(int user_fd, std::uint32_t target, std::uint32_t asserted) noexcept
	{
		const std::uint32_t from = state_.load(std::memory_order_relaxed);
		const std::uint32_t again = asserted & from & target;
		char buf[chunk] = {};
		std::error_code ec;
		if (from & err_bit)
			return {}; // frozen (target == from): nothing to re-assert with

		// Clears: none of them wakes the caller's end.
		if ((from & pri_bit) && !(target & pri_bit)) {
			if (::recv(user_fd, buf, 1, MSG_OOB | MSG_DONTWAIT) < 0)
				return errno_code();
		}
		if ((from & in_bits) && !(target & in_bits)) {
			// Until EAGAIN: this also drops an OOB byte already
			// consumed, which otherwise keeps IN up.
			if (!drain(user_fd))
				return errno_code();
			has_data_ = false;
		}
		if ((from & out_bits) && !(target & out_bits)) {
			// 1-byte skbs until the end is no longer writable (its
			// queued truesize above a quarter of SO_SNDBUF): two or
			// three with the minimum SO_SNDBUF.
			for (int i = 0;; ++i) {
				struct pollfd p = {user_fd, POLLOUT, 0};
				if (::poll(&p, 1, 0) < 0) {
					if (errno == EINTR)
						continue;
					return errno_code();
				}
				if (!(p.revents & POLLOUT))
					break;
				if (i == 4096)
					return errc::mismatch;
				if (::send(user_fd, buf, 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 &&
				    errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
					return errno_code();
			}
		}

		// OUT raised: free all our end queued but its last 1-byte skb
		// (the frees wake OUT; the byte stays for ERR).  Re-asserted
		// where no shutdown wakes everybody: free everything, then queue
		// a 1-byte seed again.
		if ((target & out_bits) && !(from & out_bits)) {
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
		} else if ((again & out_bits) && !(target & rdhup_bit)) {
			if (!drain(driver_))
				return errno_code();
			char seed = 's';
			if (::send(user_fd, &seed, 1, MSG_DONTWAIT | MSG_NOSIGNAL) != 1)
				return errno_code();
		}

		const bool new_rdhup = (target & rdhup_bit) && !(from & rdhup_bit);
		const bool new_hup = (target & hup_bit) && !(from & hup_bit);
		if (from & rdhup_bit) {
			// The peer can no longer write: a re-assert, or HUP, is
			// a (repeated) shutdown, a key-less wake-up.
			if (again || new_hup) {
				if (::shutdown(driver_, (target & hup_bit) ? SHUT_RDWR : SHUT_WR) < 0)
					return errno_code();
			}
		} else {
			const bool keep_pri = (from & pri_bit) && (target & pri_bit);
			if ((again & (in_bits | pri_bit)) && !new_rdhup) {
				// A fresh byte (and OOB byte) for a new edge; what
				// was queued goes, so the queue stays at two bytes.
				if (keep_pri && ::recv(user_fd, buf, 1, MSG_OOB | MSG_DONTWAIT) < 0)
					return errno_code();
				if (!drain(user_fd))
					return errno_code();
				has_data_ = false;
			}
			// The OOB byte first, so that the first wake-up already
			// shows PRI with IN; then a data byte, which keeps IN up
			// without a wake-up once PRI is consumed.
			if ((target & pri_bit) &&
			    (!(from & pri_bit) || ((again & (in_bits | pri_bit)) && !new_rdhup))) {
				if ((ec = send_byte(MSG_OOB)))
					return ec;
			}
			if ((target & in_bits) && !(target & rdhup_bit) && !has_data_) {
				if ((ec = send_byte(0)))
					return ec;
				has_data_ = true;
			}
			if (new_hup || new_rdhup) {
				if (::shutdown(driver_, new_hup ? SHUT_RDWR : SHUT_WR) < 0)
					return errno_code();
			}
		}

		if ((target & err_bit) && !(from & err_bit)) {
			::close(driver_);
			driver_ = -1;
			// The reset comes with the last close: a child that has not
			// yet run its atfork handler (or exits, or execs) may still
			// hold a copy for a moment.  poll reports POLLERR unasked.
			struct pollfd p = {user_fd, 0, 0};
			const auto deadline = std::chrono::steady_clock::now() + err_grace;
			int n;
			do
				n = ::poll(&p, 1, static_cast<int>(err_grace.count()));
			while (n < 0 && errno == EINTR && std::chrono::steady_clock::now() < deadline);
			if (!(p.revents & POLLERR)) {
				state_.store(from, std::memory_order_relaxed);
				return errc::driver_shared;
			}
		}
		state_.store(target, std::memory_order_release);
		return {};
	}

	change_lock lock_;
	std::atomic<int> driver_; // atomic: can_reach() reads it without the lock
	pid_t owner_;
	std::atomic<std::uint32_t> state_;
	bool oob_;
	bool has_data_ = false;
	emulation *prev_ = nullptr, *next_ = nullptr;
};

// In a fork's child (single-threaded, registry locked by the prepare handler):
// close each object's driving end, without touching the objects' locks.
inline void registry_child_closes() noexcept
{
	for (emulation *e = registry_head; e; e = e->next_) {
		if (e->driver_ >= 0) {
			::close(e->driver_);
			e->driver_ = -1;
		}
	}
}

} // namespace detail

// The process's choice for backend::automatic: backend::native, ::device or
// ::emulated (vpollfd_backend() of <eventfd-vpoll/vpoll.h>: made once,
// lock-free).  A probe that cannot answer (EMFILE, ENFILE, ENOMEM, ...) is
// reported in ec (the result is then backend::none) and decides nothing.
inline backend automatic_backend(std::error_code &ec) noexcept
{
	const int saved = errno;
	const int b = vpollfd_backend();
	if (b < 0) {
		ec = detail::errno_code();
		errno = saved;
		return backend::none;
	}
	ec.clear();
	if (b == VPOLLFD_BACKEND_NATIVE)
		return backend::native;
	return b == VPOLLFD_BACKEND_DEVICE ? backend::device : backend::emulated;
}

// Whether this kernel accepts EFD_VPOLL: the process's choice if it is made
// (native is tried first), else eventfd2 is asked (vpollfd_supported(),
// /dev/vpoll is not touched).  A probe that cannot answer is reported in ec
// and not kept.
inline bool native_available(std::error_code &ec) noexcept
{
	const int choice = __atomic_load_n(&vpollfd_backend_choice_, __ATOMIC_ACQUIRE);
	ec.clear();
	if (choice > 0)
		return choice - 1 == VPOLLFD_BACKEND_NATIVE;
	const int saved = errno;
	const int r = vpollfd_supported();
	if (r < 0)
		ec = detail::errno_code();
	errno = saved;
	return r == 1;
}

// Whether /dev/vpoll is the vpoll module's and this process may open it,
// asked now (vpollfd_backend_supported(): the answer is not kept, and it does
// not depend on the kernel having EFD_VPOLL).
inline bool device_available(std::error_code &ec) noexcept
{
	const int saved = errno;
	const int r = vpollfd_backend_supported(VPOLLFD_BACKEND_DEVICE);
	if (r < 0) {
		ec = detail::errno_code();
		errno = saved;
		return false;
	}
	ec.clear();
	return r == 1;
}

#if EVENTFD_VPOLL_EXCEPTIONS
inline backend automatic_backend()
{
	std::error_code ec;
	backend b = automatic_backend(ec);
	detail::throw_if(ec, "vpoll::automatic_backend");
	return b;
}
inline bool native_available()
{
	std::error_code ec;
	bool yes = native_available(ec);
	detail::throw_if(ec, "vpoll::native_available");
	return yes;
}
inline bool device_available()
{
	std::error_code ec;
	bool yes = device_available(ec);
	detail::throw_if(ec, "vpoll::device_available");
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
	// (or, forced native, a kernel without EFD_VPOLL), ENOENT (forced device,
	// no /dev/vpoll), errc::unreachable if the emulated backend cannot show
	// `initial`, a transient errno (EMFILE, ENFILE, ENOMEM).
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

	// Take ownership of a kernel object: an EFD_VPOLL eventfd or a /dev/vpoll
	// descriptor, open for reading and writing (from release() of a native
	// or device object, vpollfd_create(), or libvpoll's native and
	// /dev/vpoll backends).  Anything else (a counting eventfd, the socket
	// release() gives on the emulated backend) is refused with
	// errc::not_vpoll and stays the caller's; so is everything when /proc is
	// not mounted (the check reads /proc/self/fd and /proc/self/fdinfo).
	static eventfd_vpoll adopt(int fd, std::error_code &ec) noexcept
	{
		eventfd_vpoll v;
		if (detail::kernel_object_kind(fd, ec) == backend::none) {
			if (!ec)
				ec = errc::not_vpoll;
			return v;
		}
		v.fd_ = fd;
		return v;
	}
	// As adopt(), for an EFD_VPOLL eventfd only (its contract in 4.0): a
	// /dev/vpoll descriptor is refused with errc::not_vpoll.
	static eventfd_vpoll adopt_native(int fd, std::error_code &ec) noexcept
	{
		eventfd_vpoll v;
		if (detail::kernel_object_kind(fd, ec) != backend::native) {
			if (!ec)
				ec = errc::not_vpoll;
			return v;
		}
		v.fd_ = fd;
		return v;
	}
#if EVENTFD_VPOLL_EXCEPTIONS
	static eventfd_vpoll adopt(int fd)
	{
		std::error_code ec;
		eventfd_vpoll v = adopt(fd, ec);
		detail::throw_if(ec, "eventfd_vpoll::adopt");
		return v;
	}
	static eventfd_vpoll adopt_native(int fd)
	{
		std::error_code ec;
		eventfd_vpoll v = adopt_native(fd, ec);
		detail::throw_if(ec, "eventfd_vpoll::adopt_native");
		return v;
	}
#endif

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
			return event_set::from_epoll_masked(detail::emulation::observe(fd_, ec));
		unsigned int bits = 0;
		if (vpollfd_events(fd_, &bits) < 0) {
			ec = detail::errno_code();
			return {};
		}
		ec.clear();
		return event_set::from_epoll_masked(bits);
	}

	// Whether mod(target) would succeed now (always true for native and
	// device objects; false in a process that cannot drive the emulated one).
	bool can_reach(event_set target) const noexcept
	{
		return emu_ ? emu_->can_reach(target) : fd_ >= 0;
	}

	// For the caller's poll/epoll/io_uring.  Do not read or write it.
	int fd() const noexcept { return fd_; }
	explicit operator bool() const noexcept { return fd_ >= 0; }
	// The object's backend: native, device or emulated; none when empty.
	// Native and device objects are told apart by one fstat(2) (a /dev/vpoll
	// descriptor is a character device), so that the object's layout stays
	// that of version 4.0.
	backend kind() const noexcept
	{
		if (fd_ < 0)
			return backend::none;
		if (emu_)
			return backend::emulated;
		struct stat st;
		return ::fstat(fd_, &st) == 0 && S_ISCHR(st.st_mode) ? backend::device : backend::native;
	}
	bool native() const noexcept { return kind() == backend::native; }
	capabilities supported() const noexcept
	{
		if (!emu_)
			return native_capabilities;
		capabilities c = emulated_capabilities;
		if (!emu_->oob()) {
			c.settable &= ~event_set(event::pri);
			c.clearable &= ~event_set(event::pri);
		}
		return c;
	}

	// Give up ownership and return the fd (-1 if empty).  Native and device:
	// the EFD_VPOLL eventfd or /dev/vpoll descriptor, unchanged (adopt() takes
	// it back).  Emulated: the driving end is shut down,
	// drained and closed (no reset), and what it queued is consumed, so the
	// returned socket shows HUP|RDHUP|IN|RDNORM|OUT|WRNORM|WRBAND for good and
	// read gives end of file; if ERR was shown it stays frozen at
	// ERR|HUP|RDHUP|IN|RDNORM|OUT|WRNORM|WRBAND.  Either way adopt() refuses
	// it.
	int release() noexcept
	{
		if (emu_)
			emu_->detach(fd_);
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
			which = automatic_backend(ec);
			if (ec)
				return;
		}
		if (which == backend::native || which == backend::device) {
			const int fd = vpollfd_create_backend(
				which == backend::native ? VPOLLFD_BACKEND_NATIVE : VPOLLFD_BACKEND_DEVICE,
				initial.to_epoll(), flags);
			if (fd < 0) {
				ec = detail::errno_code();
				return;
			}
			fd_ = fd;
			return;
		}
		if (which != backend::emulated) {
			ec = detail::errno_code(EINVAL);
			return;
		}
		const bool oob = detail::oob_available(ec);
		if (ec)
			return;
		if (int e = detail::registry_install()) {
			ec = detail::errno_code(e);
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
			sv[1], EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND, oob));
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
