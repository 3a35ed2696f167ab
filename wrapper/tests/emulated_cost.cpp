// SPDX-License-Identifier: MIT
//
// What a non-writable emulated object costs: kernel memory per object, the way
// bench/ measures it (the growth of Slab: and the drop of MemAvailable: in
// /proc/meminfo over N objects, median of the repetitions), the bytes the
// sockets themselves account (SO_MEMINFO), and the time del(writable) and
// add(writable) take (median of single calls).
//
//   wrapper-emulated-cost [N]      (default 4000 objects, 3 repetitions)
//
// Exits 1 if the socket-accounted bytes of a non-writable object are above
// 4 KiB (deterministic); the slab figure, which other processes' allocations
// disturb, is printed and only warned about above 8 KiB.
#include <eventfd-vpoll/eventfd_vpoll.hpp>

#include <linux/sock_diag.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

long meminfo_kib(const char *field)
{
	FILE *f = std::fopen("/proc/meminfo", "r");
	if (!f)
		return -1;
	char line[256];
	long value = -1;
	const std::size_t len = std::strlen(field);
	while (std::fgets(line, sizeof(line), f))
		if (std::strncmp(line, field, len) == 0 && line[len] == ':')
			value = std::strtol(line + len + 1, nullptr, 10);
	std::fclose(f);
	return value;
}

double median(std::vector<double> v)
{
	std::sort(v.begin(), v.end());
	return v.empty() ? 0 : v[v.size() / 2];
}

// Bytes queued by fd's socket, as the kernel charges them (send side).
long wmem(int fd)
{
	unsigned int mem[SK_MEMINFO_VARS] = {};
	socklen_t len = sizeof(mem);
	if (::getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &len) < 0)
		return -1;
	return mem[SK_MEMINFO_WMEM_ALLOC];
}

} // namespace

int main(int argc, char **argv)
{
	const int n = argc > 1 ? std::atoi(argv[1]) : 4000;
	struct rlimit r;
	if (::getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
		r.rlim_cur = r.rlim_max;
		::setrlimit(RLIMIT_NOFILE, &r);
	}

	// Time: clear OUT and raise it again, one object, single calls.
	std::vector<double> clear_us, raise_us;
	long queued = -1;
	{
		vpoll::eventfd_vpoll v(vpoll::writable, EFD_CLOEXEC, vpoll::backend::emulated);
		for (int i = 0; i < 201; ++i) {
			auto t0 = std::chrono::steady_clock::now();
			v.del(vpoll::writable);
			auto t1 = std::chrono::steady_clock::now();
			v.add(vpoll::writable);
			auto t2 = std::chrono::steady_clock::now();
			clear_us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
			raise_us.push_back(std::chrono::duration<double, std::micro>(t2 - t1).count());
		}
		v.del(vpoll::writable);
		queued = wmem(v.fd());
		std::printf("socket-accounted bytes of a non-writable object: %ld (the caller's "
			    "end's queued skbs, SO_MEMINFO)\n", queued);
	}

	std::vector<double> slab, avail;
	for (int rep = 0; rep < 3; ++rep) {
		// Warm the caches once, then measure.
		{
			std::vector<vpoll::eventfd_vpoll> warm;
			for (int i = 0; i < n; ++i) {
				warm.emplace_back(vpoll::writable, EFD_CLOEXEC, vpoll::backend::emulated);
				warm.back().del(vpoll::writable);
			}
		}
		std::vector<vpoll::eventfd_vpoll> objs;
		objs.reserve(static_cast<std::size_t>(n));
		const long slab0 = meminfo_kib("Slab"), avail0 = meminfo_kib("MemAvailable");
		for (int i = 0; i < n; ++i) {
			objs.emplace_back(vpoll::writable, EFD_CLOEXEC, vpoll::backend::emulated);
			objs.back().del(vpoll::writable);
		}
		const long slab1 = meminfo_kib("Slab"), avail1 = meminfo_kib("MemAvailable");
		slab.push_back((slab1 - slab0) * 1024.0 / n);
		avail.push_back((avail0 - avail1) * 1024.0 / n);
	}
	std::printf("per non-writable emulated object (%d objects, median of 3): slab %.0f B, "
		    "MemAvailable drop %.0f B\n", n, median(slab), median(avail));
	std::printf("del(writable) (clear OUT): median %.1f us; add(writable): median %.1f us\n",
		    median(clear_us), median(raise_us));
	if (median(slab) > 8192)
		std::printf("WARNING: slab per object above 8 KiB (a busy machine, or a regression)\n");
	return queued >= 0 && queued <= 4096 ? 0 : 1;
}
