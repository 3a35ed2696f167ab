// SPDX-License-Identifier: GPL-2.0-only
//
// vpoll-bench: what an EFD_VPOLL event costs next to a plain eventfd, a pipe,
// an AF_UNIX socketpair, the wrapper's emulated (socketpair) backend, the
// vpoll module's /dev/vpoll (module/vpoll.c: by write and by ioctl) and Debian's
// libvpoll in its socketpair emulation.
// Runs inside the patched kernel (bench/run-bench boots it); prints progress
// lines starting with '#' and, at the end, the raw samples as one JSON
// document between the lines "=== BEGIN RESULTS ===" / "=== END RESULTS ===".
// bench/report.py turns them into medians, ratios, verdicts, a table and a plot.
//
// Method: every benchmark runs its contenders interleaved (rep r runs every
// case once, in an order rotated by r), so that a slow phase of the TCG host
// hits all contenders alike and the ratio of rep r's pair is meaningful.
// Each rep is a timed loop calibrated to a fixed duration.

#include <eventfd-vpoll/eventfd_vpoll.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#ifdef HAVE_LIBVPOLL
extern "C" {
#include <vpoll.h> // Debian's libvpoll (libvpoll-dev): a C header without extern "C"
}
#endif

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cinttypes>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

// Debian's libvpoll chooses its backend once, in a constructor that runs when
// the library is loaded, before main(): eventfd(0, EFD_VPOLL | EFD_CLOEXEC),
// else open("/dev/vpoll"), else its socketpair emulation.  The bench measures
// that emulation (the other two are the native and module rows), so until
// main() starts, the definitions below refuse what the guest kernel has: the
// dynamic linker binds libvpoll's calls to the executable's definitions
// (module/tests/libvpoll_test.c does the same).  libvpoll imports open and
// __open_2 (objdump -T); from main() on, everything passes through.
namespace {
bool in_main;
int refused_efd_vpoll, refused_dev_vpoll;

int open_unless_dev_vpoll(const char *path, int flags, mode_t mode)
{
	if (!in_main && !std::strcmp(path, "/dev/vpoll")) {
		refused_dev_vpoll++;
		errno = ENOENT;
		return -1;
	}
	return static_cast<int>(syscall(SYS_openat, AT_FDCWD, path, flags, mode));
}
} // namespace

extern "C" int eventfd(unsigned int count, int flags) noexcept
{
	if (!in_main && (flags & EFD_VPOLL)) {
		refused_efd_vpoll++;
		errno = EINVAL;
		return -1;
	}
	return static_cast<int>(syscall(SYS_eventfd2, count, flags));
}

// By their symbol names: with _FILE_OFFSET_BITS=64 (meson's default) the
// header's open() is open64, and __open_2 is declared only when fortifying.
extern "C" int open_interposed(const char *path, int flags, ...) __asm__("open");
extern "C" int open_interposed(const char *path, int flags, ...)
{
	mode_t mode = 0;
	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) {
		va_list ap;
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	return open_unless_dev_vpoll(path, flags, mode);
}

extern "C" int open_2_interposed(const char *path, int flags) __asm__("__open_2");
extern "C" int open_2_interposed(const char *path, int flags)
{
	return open_unless_dev_vpoll(path, flags, 0);
}

namespace {

[[noreturn]] void die(const char *fmt, ...)
{
	int e = errno;
	va_list ap;
	va_start(ap, fmt);
	std::fprintf(stderr, "vpoll-bench: ");
	std::vfprintf(stderr, fmt, ap);
	va_end(ap);
	std::fprintf(stderr, " (errno %d: %s)\n", e, std::strerror(e));
	std::exit(1);
}

void note(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	std::printf("# ");
	std::vprintf(fmt, ap);
	std::printf("\n");
	va_end(ap);
	std::fflush(stdout);
}

double mono_ns()
{
	timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

// Blocks are timed with the TSC (under TCG the guest reads the host's TSC),
// converted to ns with a rate measured against CLOCK_MONOTONIC over a long
// interval: it does not depend on the guest's clocksource, which is jiffies,
// in 4 ms steps, whenever the kernel finds no HPET or PM timer (no ACPI).
double ns_per_tick = 1;

double now_ns()
{
	return static_cast<double>(__rdtsc()) * ns_per_tick;
}

void calibrate_tsc(double seconds)
{
	double m0 = mono_ns();
	double t0 = static_cast<double>(__rdtsc());
	usleep(static_cast<useconds_t>(seconds * 1e6));
	double m1 = mono_ns();
	double t1 = static_cast<double>(__rdtsc());
	ns_per_tick = (m1 - m0) / (t1 - t0);
}

void pin_self(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0)
		die("sched_setaffinity(%d)", cpu);
}

// Options.
struct options {
	bool quick = false;     // a smoke test: few reps, small counts
	long mem_count = 100000;
	double block_ms = 1;    // duration of one timed block of a micro benchmark
	int blocks = 31;        // blocks per rep (a rep's figure is their median)
	int reps = 61;          // reps of the micro benchmarks
	std::string only;       // comma list of groups, empty = all
} opt;

bool wanted(const char *group)
{
	if (opt.only.empty())
		return true;
	std::string s = "," + opt.only + ",";
	return s.find(std::string(",") + group + ",") != std::string::npos;
}

// ------------------------------------------------------------------ JSON

struct json {
	std::string s;
	void raw(const std::string &t) { s += t; }
	void key(const char *k) { s += '"'; s += k; s += "\":"; }
	void str(const std::string &v) { s += '"'; s += v; s += '"'; }
	void num(double v)
	{
		char b[64];
		std::snprintf(b, sizeof(b), "%.6g", v);
		s += b;
	}
	void arr(const std::vector<double> &v)
	{
		s += '[';
		for (std::size_t i = 0; i < v.size(); i++) {
			if (i)
				s += ',';
			num(v[i]);
		}
		s += ']';
	}
	void comma() { if (!s.empty() && s.back() != '{' && s.back() != '[') s += ','; }
};

// ------------------------------------------------------------------ mechanisms

// One virtual "readiness" channel: set() makes wait_fd() readable, clear()
// makes it unreadable again.
struct channel {
	virtual ~channel() = default;
	virtual int wait_fd() const = 0;
	virtual void set() = 0;
	virtual void clear() = 0;
};

struct vpoll_channel : channel {
	int fd;
	vpoll_channel()
	{
		fd = eventfd(0, EFD_VPOLL | EFD_CLOEXEC | EFD_NONBLOCK);
		if (fd < 0)
			die("eventfd(EFD_VPOLL): is this the patched kernel?");
	}
	~vpoll_channel() override { close(fd); }
	int wait_fd() const override { return fd; }
	void set() override
	{
		std::uint64_t c = EFD_VPOLL_ADDEVENTS | EPOLLIN;
		if (write(fd, &c, 8) != 8)
			die("vpoll ADD");
	}
	void clear() override
	{
		std::uint64_t c = EFD_VPOLL_DELEVENTS | EPOLLIN;
		if (write(fd, &c, 8) != 8)
			die("vpoll DEL");
	}
};

struct eventfd_channel : channel {
	int fd;
	eventfd_channel()
	{
		fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (fd < 0)
			die("eventfd");
	}
	~eventfd_channel() override { close(fd); }
	int wait_fd() const override { return fd; }
	void set() override
	{
		std::uint64_t one = 1;
		if (write(fd, &one, 8) != 8)
			die("eventfd write");
	}
	void clear() override
	{
		std::uint64_t v;
		if (read(fd, &v, 8) != 8)
			die("eventfd read");
	}
};

struct pipe_channel : channel {
	int p[2];
	pipe_channel()
	{
		if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
			die("pipe2");
	}
	~pipe_channel() override { close(p[0]); close(p[1]); }
	int wait_fd() const override { return p[0]; }
	void set() override
	{
		char c = 'x';
		if (write(p[1], &c, 1) != 1)
			die("pipe write");
	}
	void clear() override
	{
		char c;
		if (read(p[0], &c, 1) != 1)
			die("pipe read");
	}
};

struct socket_channel : channel {
	int s[2];
	socket_channel()
	{
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, s) < 0)
			die("socketpair");
	}
	~socket_channel() override { close(s[0]); close(s[1]); }
	int wait_fd() const override { return s[0]; }
	void set() override
	{
		char c = 'x';
		if (send(s[1], &c, 1, MSG_DONTWAIT | MSG_NOSIGNAL) != 1)
			die("send");
	}
	void clear() override
	{
		char c;
		if (recv(s[0], &c, 1, MSG_DONTWAIT) != 1)
			die("recv");
	}
};

// The wrapper's emulated backend.  A fresh one shows vpoll::writable (what a
// fresh socket shows); IN can only be raised and cleared as the group
// vpoll::readable (IN|RDNORM), so "add(in)" is add(readable).
struct emulated_channel : channel {
	vpoll::eventfd_vpoll ev;
	emulated_channel()
	{
		std::error_code ec;
		ev = vpoll::eventfd_vpoll(vpoll::writable, EFD_CLOEXEC | EFD_NONBLOCK,
					  vpoll::backend::emulated, ec);
		if (ec) {
			errno = ec.value();
			die("emulated eventfd_vpoll");
		}
	}
	int wait_fd() const override { return ev.fd(); }
	void set() override
	{
		std::error_code ec;
		ev.add(vpoll::readable, ec);
		if (ec) {
			errno = ec.value();
			die("emulated add");
		}
	}
	void clear() override
	{
		std::error_code ec;
		ev.del(vpoll::readable, ec);
		if (ec) {
			errno = ec.value();
			die("emulated del");
		}
	}
};

// The out-of-tree module (module/vpoll.c): each open of /dev/vpoll is one
// virtual fd, driven by the EFD_VPOLL commands in an 8-byte write, or by
// Debian libvpoll's ioctls (the events as the argument, the new set returned).
constexpr unsigned long vpoll_ioc_add = _IO('^', 1);
constexpr unsigned long vpoll_ioc_del = _IO('^', 2);

int open_dev_vpoll()
{
	int fd = open("/dev/vpoll", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		die("open(/dev/vpoll)");
	return fd;
}

struct module_channel : channel {
	int fd;
	bool by_ioctl;
	explicit module_channel(bool ioctl_) : fd(open_dev_vpoll()), by_ioctl(ioctl_) {}
	~module_channel() override { close(fd); }
	int wait_fd() const override { return fd; }
	void command(std::uint64_t cmd, unsigned long ioc)
	{
		// The ioctl's argument is an unsigned long: no stray upper bits.
		if (by_ioctl ? ioctl(fd, ioc, static_cast<unsigned long>(EPOLLIN)) < 0
			     : write(fd, &cmd, 8) != 8)
			die("/dev/vpoll %s", by_ioctl ? "ioctl" : "write");
	}
	void set() override { command(EFD_VPOLL_ADDEVENTS | EPOLLIN, vpoll_ioc_add); }
	void clear() override { command(EFD_VPOLL_DELEVENTS | EPOLLIN, vpoll_ioc_del); }
};

#ifdef HAVE_LIBVPOLL
// Debian's libvpoll, kept in its socketpair emulation (the interposers at the
// top): a socketpair per object, its other end in a table of the library;
// ADD IN writes a byte to that end, DEL IN reads it.  Created showing
// EPOLLOUT, as its documentation's example does (without EPOLLOUT,
// vpoll_create writes into the socket until it is not writable).
struct libvpoll_channel : channel {
	int fd;
	libvpoll_channel()
	{
		fd = vpoll_create(EPOLLOUT, FD_CLOEXEC);
		if (fd < 0)
			die("libvpoll vpoll_create");
	}
	~libvpoll_channel() override { vpoll_close(fd); }
	int wait_fd() const override { return fd; }
	void set() override
	{
		if (vpoll_ctl(fd, VPOLL_CTL_ADDEVENTS, EPOLLIN) < 0)
			die("libvpoll ADD");
	}
	void clear() override
	{
		if (vpoll_ctl(fd, VPOLL_CTL_DELEVENTS, EPOLLIN) < 0)
			die("libvpoll DEL");
	}
};
#endif

enum mech { m_vpoll, m_eventfd, m_pipe, m_socketpair, m_emulated, m_module_write, m_module_ioctl,
	    m_libvpoll };
const char *const mech_names[] = {"vpoll", "eventfd", "pipe", "socketpair", "emulated",
				  "module-write", "module-ioctl", "libvpoll-emulated"};

// This run's contenders: the first five always; the module's two when
// /dev/vpoll exists, libvpoll when it was found at build time (main()).
std::vector<int> mechs = {m_vpoll, m_eventfd, m_pipe, m_socketpair, m_emulated};

std::unique_ptr<channel> make_channel(int m)
{
	switch (m) {
	case m_vpoll: return std::make_unique<vpoll_channel>();
	case m_eventfd: return std::make_unique<eventfd_channel>();
	case m_pipe: return std::make_unique<pipe_channel>();
	case m_socketpair: return std::make_unique<socket_channel>();
	case m_module_write: return std::make_unique<module_channel>(false);
	case m_module_ioctl: return std::make_unique<module_channel>(true);
#ifdef HAVE_LIBVPOLL
	case m_libvpoll: return std::make_unique<libvpoll_channel>();
#endif
	default: return std::make_unique<emulated_channel>();
	}
}

// ------------------------------------------------------------------ harness

// A case: run(iters) does iters operations; the harness times it.
struct bench_case {
	std::string label;
	std::function<void(long)> run;
	long iters = 0;
	std::vector<double> ns; // ns per operation, one per rep
};

// Find the iteration count that makes one block last about `ms`.
long calibrate(const std::function<void(long)> &run, double ms)
{
	long iters = 1;
	for (;;) {
		double t = 1e300; // the fastest of three: a preempted try would stop too early
		for (int i = 0; i < 3; i++) {
			double t0 = now_ns();
			run(iters);
			t = std::min(t, now_ns() - t0);
		}
		if (t > ms * 1e6 / 2 || iters > (1L << 30))
			return std::max(1L, static_cast<long>(static_cast<double>(iters) * ms * 1e6 / t));
		iters *= 2;
	}
}

double median(std::vector<double> v);

// Rep r runs `blocks` rounds; a round times one block of every case, in an
// order rotated by r and by the round.  A rep's figure for a case is the
// median of its block times: a block that the loaded host preempted (the
// guest's vCPU thread does not run, but the TSC goes on) is an outlier there,
// and the contenders' figures of one rep come from the same stretch of time.
void run_interleaved(std::vector<bench_case> &cases, int reps, double block_ms, int blocks)
{
	for (auto &c : cases) {
		c.iters = calibrate(c.run, block_ms);
		c.run(c.iters); // warm up
	}
	const std::size_t n = cases.size();
	for (int r = 0; r < reps; r++) {
		std::vector<std::vector<double>> sub(n);
		for (int b = 0; b < blocks; b++)
			for (std::size_t k = 0; k < n; k++) {
				std::size_t i = (k + static_cast<std::size_t>(r + b)) % n;
				bench_case &c = cases[i];
				double t0 = now_ns();
				c.run(c.iters);
				sub[i].push_back((now_ns() - t0) / static_cast<double>(c.iters));
			}
		for (std::size_t i = 0; i < n; i++)
			cases[i].ns.push_back(median(sub[i]));
	}
}

double median(std::vector<double> v)
{
	if (v.empty())
		return 0;
	std::sort(v.begin(), v.end());
	std::size_t n = v.size();
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// ------------------------------------------------------------------ waiting

struct waiter {
	bool use_epoll;
	int fd;
	int ep = -1;
	waiter(int fd_, bool epoll_) : use_epoll(epoll_), fd(fd_)
	{
		if (use_epoll) {
			ep = epoll_create1(EPOLL_CLOEXEC);
			if (ep < 0)
				die("epoll_create1");
			epoll_event e{};
			e.events = EPOLLIN;
			e.data.fd = fd;
			if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) < 0)
				die("epoll_ctl");
		}
	}
	~waiter()
	{
		if (ep >= 0)
			close(ep);
	}
	void wait()
	{
		if (use_epoll) {
			epoll_event e;
			for (;;) {
				int n = epoll_wait(ep, &e, 1, -1);
				if (n == 1)
					return;
				if (n < 0 && errno != EINTR)
					die("epoll_wait");
			}
		}
		pollfd p = {fd, POLLIN, 0};
		for (;;) {
			int n = poll(&p, 1, -1);
			if (n == 1)
				return;
			if (n < 0 && errno != EINTR)
				die("poll");
		}
	}
};

// ------------------------------------------------------------------ 1. set and clear

void bench_setclear(json &out)
{
	note("setclear: set-and-clear, no waiter and one epoll waiter registered");
	std::vector<std::unique_ptr<channel>> chans;
	std::vector<int> eps;
	std::vector<bench_case> cases;
	for (int w = 0; w < 2; w++) {
		for (int m : mechs) {
			chans.push_back(make_channel(m));
			channel *c = chans.back().get();
			if (w) {
				int ep = epoll_create1(EPOLL_CLOEXEC);
				epoll_event e{};
				e.events = EPOLLIN;
				if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, c->wait_fd(), &e) < 0)
					die("epoll for the waiter");
				eps.push_back(ep);
			}
			bench_case bc;
			bc.label = std::string(mech_names[m]) + (w ? "/epoll" : "/none");
			bc.run = [c](long iters) {
				for (long i = 0; i < iters; i++) {
					c->set();
					c->clear();
				}
			};
			cases.push_back(std::move(bc));
		}
	}
	run_interleaved(cases, opt.reps, opt.block_ms, opt.blocks);
	const std::size_t nm = mechs.size();
	out.comma();
	out.key("setclear");
	out.raw("[");
	for (std::size_t i = 0; i < cases.size(); i++) {
		const auto &c = cases[i];
		out.comma();
		out.raw("{");
		out.key("mech"); out.str(mech_names[mechs[i % nm]]);
		out.raw(","); out.key("waiter"); out.str(i < nm ? "none" : "epoll");
		out.raw(","); out.key("iters"); out.num(static_cast<double>(c.iters));
		out.raw(","); out.key("ns"); out.arr(c.ns);
		out.raw("}");
		note("  %-24s median %8.1f ns per set+clear", c.label.c_str(), median(c.ns));
	}
	out.raw("]");
	for (int ep : eps)
		close(ep);
}

// ------------------------------------------------------------------ 2. hand-off

// Thread A (the main thread) sets channel a; B, waiting on a, clears it and
// sets b; A, waiting on b, clears it.  Time per hand-off = round trip / 2.
// B lives as long as the case, blocked between A's blocks.
struct pingpong {
	std::unique_ptr<channel> a, b;
	bool use_epoll;
	std::atomic<bool> stop{false}, ready{false};
	std::unique_ptr<waiter> wa;
	std::thread tb;

	pingpong(int mech, bool epoll_, int cpu_b)
		: a(make_channel(mech)), b(make_channel(mech)), use_epoll(epoll_)
	{
		wa = std::make_unique<waiter>(b->wait_fd(), use_epoll);
		tb = std::thread([this, cpu_b] {
			pin_self(cpu_b);
			waiter w(a->wait_fd(), use_epoll);
			ready.store(true);
			for (;;) {
				w.wait();
				if (stop.load())
					break;
				a->clear();
				b->set();
			}
		});
		while (!ready.load())
			sched_yield();
	}
	void run(long iters)
	{
		for (long i = 0; i < iters; i++) {
			a->set();
			wa->wait();
			b->clear();
		}
	}
	~pingpong()
	{
		stop.store(true);
		a->set();
		tb.join();
	}
};

void bench_handoff(json &out, bool cross)
{
	note("handoff: two threads ping-pong readiness (%s CPU)", cross ? "different" : "same");
	std::vector<std::unique_ptr<pingpong>> pps;
	std::vector<bench_case> cases;
	for (int w = 0; w < (cross ? 1 : 2); w++)
		for (int m : mechs) {
			pps.push_back(std::make_unique<pingpong>(m, w == 0, cross ? 1 : 0));
			pingpong *pp = pps.back().get();
			bench_case bc;
			bc.label = std::string(mech_names[m]) + (w == 0 ? "/epoll" : "/poll");
			bc.run = [pp](long iters) { pp->run(iters); };
			cases.push_back(std::move(bc));
		}
	// Hand-offs are the noisiest figure (each one is a wake-up and a context
	// switch): twice the reps, half again the blocks.
	run_interleaved(cases, cross ? std::max(5, opt.reps / 2) : opt.reps * 2, opt.block_ms * 2,
			opt.blocks * 3 / 2);
	out.comma();
	out.key(cross ? "handoff_cross" : "handoff");
	out.raw("[");
	for (std::size_t i = 0; i < cases.size(); i++) {
		auto &c = cases[i];
		for (auto &v : c.ns)
			v /= 2; // round trip -> one hand-off
		out.comma();
		out.raw("{");
		out.key("mech"); out.str(mech_names[mechs[i % mechs.size()]]);
		out.raw(","); out.key("wait"); out.str(pps[i]->use_epoll ? "epoll" : "poll");
		out.raw(","); out.key("iters"); out.num(static_cast<double>(c.iters));
		out.raw(","); out.key("ns"); out.arr(c.ns);
		out.raw("}");
		note("  %-24s median %8.1f ns per hand-off", c.label.c_str(), median(c.ns));
	}
	out.raw("]");
}

// ------------------------------------------------------------------ 3. memory

void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t r = write(fd, text, std::strlen(text));
	(void)r;
	close(fd);
}

std::map<std::string, long> read_meminfo()
{
	std::map<std::string, long> m;
	FILE *f = std::fopen("/proc/meminfo", "re");
	if (!f)
		die("/proc/meminfo");
	char name[64];
	long kb;
	while (std::fscanf(f, "%63[^:]: %ld%*[^\n]\n", name, &kb) == 2)
		m[name] = kb * 1024;
	std::fclose(f);
	return m;
}

// Bytes in each slab cache (num_slabs * pagesperslab * page size).
std::map<std::string, long> read_slabinfo()
{
	std::map<std::string, long> m;
	FILE *f = std::fopen("/proc/slabinfo", "re");
	if (!f)
		die("/proc/slabinfo");
	char line[512];
	const long page = sysconf(_SC_PAGESIZE);
	while (std::fgets(line, sizeof(line), f)) {
		char name[128];
		long active, num, objsize, perslab, pages, aslabs, nslabs, shared, a, b, c;
		if (std::sscanf(line, "%127s %ld %ld %ld %ld %ld : tunables %ld %ld %ld : slabdata %ld %ld %ld",
				name, &active, &num, &objsize, &perslab, &pages, &a, &b, &c, &aslabs,
				&nslabs, &shared) == 12)
			m[name] = nslabs * pages * page;
	}
	std::fclose(f);
	return m;
}

long count_fds()
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		die("/proc/self/fd");
	long n = 0;
	while (dirent *e = readdir(d))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; // the directory's own fd
}

// Let frees deferred by RCU finish, drop caches, fold the per-CPU counters.
void settle()
{
	sync();
	for (int i = 0; i < 3; i++) {
		write_file("/proc/sys/vm/drop_caches", "3");
		usleep(300000);
	}
	write_file("/proc/sys/vm/stat_refresh", "1");
}

struct objects {
	virtual ~objects() = default;
	virtual void create(long n) = 0;
	virtual void destroy() = 0;
};

// The objects of one kind of virtual fd (a mechanism; the module's one kind
// is m_module_write: how it is driven does not change what an open makes).
struct fd_objects : objects {
	int kind;
	std::vector<int> fds;
	std::vector<vpoll::eventfd_vpoll> emu;
	std::vector<int> lib; // libvpoll's, closed with vpoll_close
	explicit fd_objects(int k) : kind(k) {}
	void create(long n) override
	{
		fds.reserve(static_cast<std::size_t>(n) * 2);
		if (kind == m_emulated)
			emu.reserve(static_cast<std::size_t>(n));
		if (kind == m_libvpoll)
			lib.reserve(static_cast<std::size_t>(n));
		for (long i = 0; i < n; i++) {
			int p[2];
			switch (kind) {
			case m_vpoll:
				p[0] = eventfd(0, EFD_VPOLL | EFD_CLOEXEC | EFD_NONBLOCK);
				if (p[0] < 0)
					die("eventfd(EFD_VPOLL) #%ld", i);
				fds.push_back(p[0]);
				break;
			case m_eventfd:
				p[0] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
				if (p[0] < 0)
					die("eventfd #%ld", i);
				fds.push_back(p[0]);
				break;
			case m_pipe:
				if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
					die("pipe2 #%ld", i);
				fds.push_back(p[0]);
				fds.push_back(p[1]);
				break;
			case m_socketpair:
				if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, p) < 0)
					die("socketpair #%ld", i);
				fds.push_back(p[0]);
				fds.push_back(p[1]);
				break;
			case m_module_write:
				fds.push_back(open_dev_vpoll());
				break;
#ifdef HAVE_LIBVPOLL
			case m_libvpoll:
				p[0] = vpoll_create(EPOLLOUT, FD_CLOEXEC);
				if (p[0] < 0)
					die("libvpoll vpoll_create #%ld", i);
				lib.push_back(p[0]);
				break;
#endif
			default: {
				std::error_code ec;
				emu.emplace_back(vpoll::writable, EFD_CLOEXEC | EFD_NONBLOCK,
						 vpoll::backend::emulated, ec);
				if (ec) {
					errno = ec.value();
					die("emulated #%ld", i);
				}
			}
			}
		}
	}
	void destroy() override
	{
		for (int fd : fds)
			close(fd);
		fds.clear();
		fds.shrink_to_fit();
		emu.clear();
		emu.shrink_to_fit();
#ifdef HAVE_LIBVPOLL
		// Newest first: libvpoll's table finds them sooner.
		for (auto it = lib.rbegin(); it != lib.rend(); ++it)
			vpoll_close(*it);
#endif
		lib.clear();
		lib.shrink_to_fit();
	}
};

const char *kind_name(int k)
{
	return k == m_module_write ? "module" : mech_names[k];
}

long total(const std::map<std::string, long> &caches)
{
	long t = 0;
	for (auto &kv : caches)
		t += kv.second;
	return t;
}

// Slab: of /proc/meminfo, and the sum of every cache of /proc/slabinfo
// (kmalloc-cg-* included: the module's objects are charged to the memory
// cgroup, GFP_KERNEL_ACCOUNT, and come from those caches; eventfd's do not).
void bench_memory(json &out)
{
	const long n = opt.mem_count;
	std::vector<int> kinds;
	for (int m : mechs)
		if (m != m_module_ioctl)
			kinds.push_back(m);
	const int nk = static_cast<int>(kinds.size());
	const int reps = opt.quick ? 1 : 3;
	note("memory: %ld objects of each kind, %d reps", n, reps);
	// Grow the fd table to its final size first (it never shrinks), and warm
	// every cache once.
	for (int k : kinds) {
		fd_objects o(k);
		o.create(k == m_socketpair ? n : n / 10);
		o.destroy();
	}
	struct sample {
		double slab, slabinfo, unrecl, avail, fds;
		std::map<std::string, long> caches;
	};
	std::vector<std::vector<sample>> res(static_cast<std::size_t>(nk));
	for (int r = 0; r < reps; r++) {
		for (int j = 0; j < nk; j++) {
			const int ki = (j + r) % nk;
			const int k = kinds[static_cast<std::size_t>(ki)];
			fd_objects o(k);
			settle();
			auto m0 = read_meminfo();
			auto s0 = read_slabinfo();
			long f0 = count_fds();
			o.create(n);
			write_file("/proc/sys/vm/stat_refresh", "1");
			auto m1 = read_meminfo();
			auto s1 = read_slabinfo();
			long f1 = count_fds();
			o.destroy();
			sample s;
			const double dn = static_cast<double>(n);
			s.slab = static_cast<double>(m1["Slab"] - m0["Slab"]) / dn;
			s.slabinfo = static_cast<double>(total(s1) - total(s0)) / dn;
			s.unrecl = static_cast<double>(m1["SUnreclaim"] - m0["SUnreclaim"]) / dn;
			s.avail = static_cast<double>(m0["MemAvailable"] - m1["MemAvailable"]) / dn;
			s.fds = static_cast<double>(f1 - f0) / dn;
			for (auto &[name, bytes] : s1) {
				long d = bytes - s0[name];
				if (std::labs(d) >= n * 4)
					s.caches[name] = d;
			}
			note("  %-17s slab %7.1f B (every cache of slabinfo %7.1f, unreclaimable %7.1f), "
			     "MemAvailable -%7.1f B, %.2f fds per object",
			     kind_name(k), s.slab, s.slabinfo, s.unrecl, s.avail, s.fds);
			res[static_cast<std::size_t>(ki)].push_back(std::move(s));
		}
	}
	out.comma();
	out.key("memory");
	out.raw("{");
	out.key("count"); out.num(static_cast<double>(n));
	out.raw(","); out.key("cases"); out.raw("[");
	for (int ki = 0; ki < nk; ki++) {
		auto &v = res[static_cast<std::size_t>(ki)];
		std::vector<double> slab, slabinfo, unrecl, avail, fds;
		for (auto &s : v) {
			slab.push_back(s.slab);
			slabinfo.push_back(s.slabinfo);
			unrecl.push_back(s.unrecl);
			avail.push_back(s.avail);
			fds.push_back(s.fds);
		}
		out.comma();
		out.raw("{");
		out.key("kind"); out.str(kind_name(kinds[static_cast<std::size_t>(ki)]));
		out.raw(","); out.key("slab_bytes"); out.arr(slab);
		out.raw(","); out.key("slabinfo_bytes"); out.arr(slabinfo);
		out.raw(","); out.key("sunreclaim_bytes"); out.arr(unrecl);
		out.raw(","); out.key("memavailable_bytes"); out.arr(avail);
		out.raw(","); out.key("fds"); out.arr(fds);
		out.raw(","); out.key("caches"); out.raw("{");
		for (auto &[name, d] : v.front().caches) {
			out.comma();
			out.key(name.c_str());
			out.num(static_cast<double>(d) / static_cast<double>(n));
		}
		out.raw("}}");
	}
	out.raw("]}");
}

// ------------------------------------------------------------------ 4. scale

// Cases: vpoll with 1, 1,000, 100,000 fds in the set, a random fd per round
// (the target); the same with plain eventfds (write 1, epoll_wait, read: the
// floor); the 100,000-fd vpoll set toggling always the same fd ("hot": is it
// the size of the set, or the cold memory of a random fd?); and a user-space
// pointer chase through 4 KiB and 64 MiB (ns per dependent load: what a cold
// cache line and TLB entry cost under TCG).
void bench_scale(json &out)
{
	const long big = opt.quick ? 10000 : 100000;
	const std::vector<long> sizes = {1, 1000, big};
	note("scale: one epoll set of N fds, one random fd toggled per round");
	struct set {
		bool vpoll;
		bool hot;
		long n;
		int ep;
		int fd0;
		std::vector<int> fds;
		std::vector<std::uint32_t> order;
	};
	std::vector<std::shared_ptr<set>> sets;
	std::mt19937 rng(12345);
	for (int kind = 0; kind < 2; kind++)
		for (long n : sizes) {
			auto s = std::make_shared<set>();
			s->vpoll = kind == 0;
			s->hot = false;
			s->n = n;
			s->ep = epoll_create1(EPOLL_CLOEXEC);
			if (s->ep < 0)
				die("epoll_create1");
			for (long i = 0; i < n; i++) {
				int fd = eventfd(0, (s->vpoll ? EFD_VPOLL : 0) | EFD_CLOEXEC | EFD_NONBLOCK);
				if (fd < 0)
					die("eventfd #%ld", i);
				epoll_event e{};
				e.events = EPOLLIN;
				e.data.u32 = static_cast<std::uint32_t>(i);
				if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &e) < 0)
					die("epoll_ctl #%ld", i);
				s->fds.push_back(fd);
				if (fd != s->fds[0] + static_cast<int>(i))
					die("the fds of a scale set are not consecutive");
			}
			s->fd0 = s->fds[0];
			std::uniform_int_distribution<std::uint32_t> pick(0, static_cast<std::uint32_t>(n - 1));
			s->order.resize(1 << 16);
			for (auto &o : s->order)
				o = pick(rng);
			sets.push_back(s);
		}
	{
		// The big vpoll set again, toggling one fd (its middle one) every round.
		auto s = std::make_shared<set>(*sets[2]);
		s->hot = true;
		std::fill(s->order.begin(), s->order.end(), static_cast<std::uint32_t>(big / 2));
		sets.push_back(s);
	}
	std::vector<bench_case> cases;
	for (auto &sp : sets) {
		set *s = sp.get();
		bench_case bc;
		bc.label = std::string(s->vpoll ? "vpoll" : "eventfd") + "/" + std::to_string(s->n) +
			   (s->hot ? "/hot" : "/random");
		bc.run = [s](long iters) {
			for (long i = 0; i < iters; i++) {
				std::uint32_t k = s->order[static_cast<std::size_t>(i) & 0xffff];
				// fds are consecutive (checked below): no random user-space load
				int fd = s->fd0 + static_cast<int>(k);
				std::uint64_t c = s->vpoll ? EFD_VPOLL_ADDEVENTS | EPOLLIN : 1;
				if (write(fd, &c, 8) != 8)
					die("ADD");
				epoll_event e[4];
				int r = epoll_wait(s->ep, e, 4, -1);
				if (r != 1 || e[0].data.u32 != k)
					die("epoll_wait returned %d (fd #%u)", r, k);
				if (s->vpoll) {
					c = EFD_VPOLL_DELEVENTS | EPOLLIN;
					if (write(fd, &c, 8) != 8)
						die("DEL");
				} else if (read(fd, &c, 8) != 8) {
					die("read");
				}
			}
		};
		cases.push_back(std::move(bc));
	}
	run_interleaved(cases, opt.reps, opt.block_ms, opt.blocks);
	// Pointer chases: a random cyclic permutation of 64-byte lines.  Run on
	// their own afterwards: the 64 MiB one evicts everything.
	std::vector<bench_case> chase_cases;
	std::vector<std::shared_ptr<std::vector<std::uint64_t>>> chases;
	for (std::size_t bytes : {std::size_t(4096), std::size_t(64) << 20}) {
		std::size_t lines = bytes / 64;
		auto v = std::make_shared<std::vector<std::uint64_t>>(bytes / 8);
		std::vector<std::size_t> perm(lines);
		for (std::size_t i = 0; i < lines; i++)
			perm[i] = i;
		std::shuffle(perm.begin() + 1, perm.end(), rng);
		for (std::size_t i = 0; i < lines; i++)
			(*v)[perm[i] * 8] = perm[(i + 1) % lines] * 8;
		chases.push_back(v);
		std::uint64_t *base = v->data();
		bench_case bc;
		bc.label = "chase/" + std::to_string(bytes);
		bc.run = [base](long iters) {
			std::uint64_t at = 0;
			for (long i = 0; i < iters; i++)
				at = base[at];
			asm volatile("" : : "r"(at));
		};
		chase_cases.push_back(std::move(bc));
	}
	run_interleaved(chase_cases, std::max(5, opt.reps / 4), opt.block_ms, opt.blocks);
	for (auto &c : chase_cases)
		cases.push_back(std::move(c));
	out.comma();
	out.key("scale");
	out.raw("[");
	for (std::size_t i = 0; i < cases.size(); i++) {
		out.comma();
		out.raw("{");
		if (i < sets.size()) {
			out.key("mech"); out.str(sets[i]->vpoll ? "vpoll" : "eventfd");
			out.raw(","); out.key("nfds"); out.num(static_cast<double>(sets[i]->n));
			out.raw(","); out.key("pattern"); out.str(sets[i]->hot ? "hot" : "random");
		} else {
			out.key("mech"); out.str("chase");
			out.raw(","); out.key("bytes"); out.num(i == sets.size() ? 4096 : 64 << 20);
		}
		out.raw(","); out.key("iters"); out.num(static_cast<double>(cases[i].iters));
		out.raw(","); out.key("ns"); out.arr(cases[i].ns);
		out.raw("}");
		note("  %-22s median %8.1f ns per %s", cases[i].label.c_str(), median(cases[i].ns),
		     i < sets.size() ? "round" : "load");
	}
	out.raw("]");
	for (auto &s : sets) {
		if (s->hot)
			continue; // shares the fds of the random big set
		for (int fd : s->fds)
			close(fd);
		close(s->ep);
	}
}

// ------------------------------------------------------------------ 5. fan-out

// N waiter threads, each with its own epoll set holding the vpoll fd
// (EPOLLIN|EPOLLET, plus EPOLLEXCLUSIVE or not).  A round: ADD IN, wait until
// the expected number of waiters (N, or 1 for exclusive) has returned from
// epoll_wait, DEL IN.  Every thread runs on CPU 0 as in the hand-off test.
struct fanout {
	int fd, quit, done;
	bool exclusive;
	int nwaiters;
	std::atomic<long> woken{0}, target{-1};
	std::atomic<int> ready{0};
	std::atomic<bool> stop{false};
	std::vector<std::thread> threads;

	fanout(int n, bool excl) : exclusive(excl), nwaiters(n)
	{
		fd = eventfd(0, EFD_VPOLL | EFD_CLOEXEC | EFD_NONBLOCK);
		quit = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		done = eventfd(0, EFD_CLOEXEC);
		if (fd < 0 || quit < 0 || done < 0)
			die("fanout fds");
		for (int i = 0; i < n; i++)
			threads.emplace_back([this] { body(); });
		while (ready.load() < n)
			sched_yield();
	}
	void body()
	{
		pin_self(0);
		int ep = epoll_create1(EPOLL_CLOEXEC);
		epoll_event e{};
		e.events = EPOLLIN | EPOLLET | (exclusive ? static_cast<std::uint32_t>(EPOLLEXCLUSIVE) : 0u);
		e.data.u32 = 1;
		if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) < 0)
			die("fanout epoll_ctl");
		e.events = EPOLLIN;
		e.data.u32 = 2;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, quit, &e) < 0)
			die("fanout epoll_ctl quit");
		ready.fetch_add(1);
		for (;;) {
			epoll_event got;
			int r = epoll_wait(ep, &got, 1, -1);
			if (r < 0 && errno == EINTR)
				continue;
			if (r != 1)
				die("fanout epoll_wait");
			if (stop.load())
				break;
			long n = woken.fetch_add(1) + 1;
			if (n == target.load()) {
				std::uint64_t one = 1;
				if (write(done, &one, 8) != 8)
					die("done write");
			}
		}
		close(ep);
	}
	void rounds(long iters)
	{
		const long expect = exclusive ? 1 : nwaiters;
		for (long i = 0; i < iters; i++) {
			target.store(woken.load() + expect);
			std::uint64_t c = EFD_VPOLL_ADDEVENTS | EPOLLIN;
			if (write(fd, &c, 8) != 8)
				die("ADD");
			std::uint64_t v;
			if (read(done, &v, 8) != 8)
				die("done read");
			c = EFD_VPOLL_DELEVENTS | EPOLLIN;
			if (write(fd, &c, 8) != 8)
				die("DEL");
		}
	}
	~fanout()
	{
		stop.store(true);
		std::uint64_t one = 1;
		if (write(quit, &one, 8) != 8)
			die("quit");
		for (auto &t : threads)
			t.join();
		close(fd);
		close(quit);
		close(done);
	}
};

void bench_fanout(json &out)
{
	const std::vector<int> ns = {1, 2, 4, 8, 16, 32, 64};
	note("fanout: N epoll waiters on one vpoll fd, plain vs EPOLLEXCLUSIVE");
	std::vector<std::unique_ptr<fanout>> fos;
	std::vector<bench_case> cases;
	for (int excl = 0; excl < 2; excl++)
		for (int n : ns) {
			fos.push_back(std::make_unique<fanout>(n, excl != 0));
			fanout *f = fos.back().get();
			bench_case bc;
			bc.label = std::to_string(n) + (excl ? "/exclusive" : "/plain");
			bc.run = [f](long iters) { f->rounds(iters); };
			cases.push_back(std::move(bc));
		}
	run_interleaved(cases, std::max(5, opt.reps / 4), opt.block_ms * 8, std::max(5, opt.blocks / 2));
	out.comma();
	out.key("fanout");
	out.raw("[");
	for (std::size_t i = 0; i < cases.size(); i++) {
		out.comma();
		out.raw("{");
		out.key("waiters"); out.num(fos[i]->nwaiters);
		out.raw(","); out.key("mode"); out.str(fos[i]->exclusive ? "exclusive" : "plain");
		out.raw(","); out.key("iters"); out.num(static_cast<double>(cases[i].iters));
		out.raw(","); out.key("ns"); out.arr(cases[i].ns);
		out.raw("}");
		note("  %-14s median %9.1f ns per round", cases[i].label.c_str(), median(cases[i].ns));
	}
	out.raw("]");
}

} // namespace

int main(int argc, char **argv)
{
	in_main = true; // the interposers at the top now pass everything through
	for (int i = 1; i < argc; i++) {
		std::string a = argv[i];
		if (a == "--quick") {
			opt.quick = true;
			opt.reps = 5;
			opt.blocks = 5;
			opt.mem_count = 10000;
		} else if (a == "--reps" && i + 1 < argc) {
			opt.reps = std::atoi(argv[++i]);
		} else if (a == "--block-ms" && i + 1 < argc) {
			opt.block_ms = std::atof(argv[++i]);
		} else if (a == "--blocks" && i + 1 < argc) {
			opt.blocks = std::atoi(argv[++i]);
		} else if (a == "--count" && i + 1 < argc) {
			opt.mem_count = std::atol(argv[++i]);
		} else if (a == "--only" && i + 1 < argc) {
			opt.only = argv[++i];
		} else {
			std::fprintf(stderr,
				     "usage: vpoll-bench [--quick] [--reps N] [--blocks N] [--block-ms MS] [--count N]\n"
				     "                   [--only setclear,handoff,handoff_cross,memory,scale,fanout]\n");
			return 2;
		}
	}
	setvbuf(stdout, nullptr, _IOLBF, 0);
	std::string libvpoll_fd; // what libvpoll's fd is, or empty: no libvpoll row

	// Probe: the native backend must be there (the patched kernel).
	int probe = eventfd(0, EFD_VPOLL);
	if (probe < 0) {
		std::fprintf(stderr, "vpoll-bench: this kernel has no EFD_VPOLL: run it with scripts/vm-run\n");
		return 77;
	}
	close(probe);

	// The module's rows need /dev/vpoll (bench/run-bench --module KO loads it).
	if (access("/dev/vpoll", R_OK | W_OK) == 0) {
		mechs.push_back(m_module_write);
		mechs.push_back(m_module_ioctl);
	} else {
		note("module rows skipped: /dev/vpoll: %s (the vpoll module is not loaded: "
		     "bench/run-bench --module VPOLL.KO)", std::strerror(errno));
	}
#ifdef HAVE_LIBVPOLL
	// libvpoll must have taken its emulation: its fd is one end of a socketpair.
	{
		int fd = vpoll_create(EPOLLOUT, FD_CLOEXEC);
		char path[64], link[64] = "";
		std::snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		if (fd < 0 || readlink(path, link, sizeof(link) - 1) < 0)
			die("libvpoll: vpoll_create or %s", path);
		vpoll_close(fd);
		if (std::strncmp(link, "socket:", 7) != 0)
			die("libvpoll did not take its emulation: its fd is %s", link);
		note("libvpoll: eventfd(EFD_VPOLL) refused %d time(s) and open(/dev/vpoll) %d time(s) "
		     "before main(); its fd is %s: the socketpair emulation",
		     refused_efd_vpoll, refused_dev_vpoll, link);
		mechs.push_back(m_libvpoll);
		libvpoll_fd = link;
	}
#else
	note("libvpoll row skipped: libvpoll-dev was not found when vpoll-bench was built");
#endif

	// 100,000 socketpairs are 200,000 fds.
	write_file("/proc/sys/fs/nr_open", "2097152");
	write_file("/proc/sys/fs/file-max", "4194304");
	rlimit rl = {1 << 20, 1 << 20};
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		die("setrlimit(RLIMIT_NOFILE, 1048576): run as root");
	pin_self(0);

	calibrate_tsc(opt.quick ? 0.3 : 2.0);

	utsname u;
	uname(&u);
	json out;
	out.raw("{");
	out.key("kernel"); out.str(std::string(u.sysname) + " " + u.release + " " + u.machine);
	out.raw(","); out.key("cpus"); out.num(static_cast<double>(sysconf(_SC_NPROCESSORS_ONLN)));
	out.raw(","); out.key("reps"); out.num(opt.reps);
	out.raw(","); out.key("blocks"); out.num(opt.blocks);
	out.raw(","); out.key("block_ms"); out.num(opt.block_ms);
	out.raw(","); out.key("tsc_ghz"); out.num(1 / ns_per_tick);
	out.raw(","); out.key("quick"); out.raw(opt.quick ? "true" : "false");
	out.raw(","); out.key("module");
	out.raw(std::find(mechs.begin(), mechs.end(), m_module_write) != mechs.end() ? "true" : "false");
	out.raw(","); out.key("libvpoll_fd"); out.str(libvpoll_fd);
	note("vpoll-bench on %s %s, %ld CPUs, %d reps of %d blocks of %.2f ms", u.sysname, u.release,
	     sysconf(_SC_NPROCESSORS_ONLN), opt.reps, opt.blocks, opt.block_ms);

	double t0 = now_ns();
	// The memory test first, while the VM is quiet.
	if (wanted("memory"))
		bench_memory(out);
	if (wanted("setclear"))
		bench_setclear(out);
	if (wanted("handoff"))
		bench_handoff(out, false);
	if (wanted("handoff_cross") && sysconf(_SC_NPROCESSORS_ONLN) > 1)
		bench_handoff(out, true);
	if (wanted("scale"))
		bench_scale(out);
	if (wanted("fanout"))
		bench_fanout(out);
	out.raw(",");
	out.key("seconds");
	out.num((now_ns() - t0) / 1e9);
	out.raw("}");
	std::printf("=== BEGIN RESULTS ===\n%s\n=== END RESULTS ===\n", out.s.c_str());
	return 0;
}
