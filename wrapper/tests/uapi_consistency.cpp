// SPDX-License-Identifier: MIT
//
// Compile-only check: the constants vpoll.h defines for itself equal those of
// the repository's uapi/linux/eventfd.h (the header the kernel series
// installs).  Running it only returns 0.
//
// The uapi header is read first and its values captured; its macros are then
// removed so that <sys/eventfd.h> (included by vpoll.h) can define glibc's.
#include <linux/eventfd.h>

namespace uapi {
constexpr unsigned long long vpoll = EFD_VPOLL;
constexpr unsigned long long add = EFD_VPOLL_ADDEVENTS;
constexpr unsigned long long del = EFD_VPOLL_DELEVENTS;
constexpr unsigned long long mod = EFD_VPOLL_MODEVENTS;
constexpr unsigned long long mask = EFD_VPOLL_EVENTMASK;
constexpr unsigned long long semaphore = EFD_SEMAPHORE;
} // namespace uapi

#undef EFD_SEMAPHORE
#undef EFD_CLOEXEC
#undef EFD_NONBLOCK
#undef EFD_VPOLL
#undef EFD_VPOLL_ADDEVENTS
#undef EFD_VPOLL_DELEVENTS
#undef EFD_VPOLL_MODEVENTS
#undef EFD_VPOLL_EVENTMASK

#include <eventfd-vpoll/vpoll.h> // not eventfd_vpoll.hpp: its <fcntl.h> clashes with <linux/fcntl.h>

static_assert(uapi::vpoll == EFD_VPOLL, "EFD_VPOLL differs from uapi/");
static_assert(uapi::add == EFD_VPOLL_ADDEVENTS, "EFD_VPOLL_ADDEVENTS differs from uapi/");
static_assert(uapi::del == EFD_VPOLL_DELEVENTS, "EFD_VPOLL_DELEVENTS differs from uapi/");
static_assert(uapi::mod == EFD_VPOLL_MODEVENTS, "EFD_VPOLL_MODEVENTS differs from uapi/");
static_assert(uapi::mask == EFD_VPOLL_EVENTMASK, "EFD_VPOLL_EVENTMASK differs from uapi/");
static_assert(uapi::semaphore == EFD_SEMAPHORE, "EFD_SEMAPHORE differs from glibc");
// The vpollfd_ctl() ops are the command numbers of the write(2) ABI.
static_assert((static_cast<unsigned long long>(VPOLL_ADDEVENTS) << 32) == uapi::add);
static_assert((static_cast<unsigned long long>(VPOLL_DELEVENTS) << 32) == uapi::del);
static_assert((static_cast<unsigned long long>(VPOLL_MODEVENTS) << 32) == uapi::mod);

int main() { return 0; }
