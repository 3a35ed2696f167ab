// SPDX-License-Identifier: MIT
//
// What every test source of one backend's executable shares: the backend
// under test (VPOLL_TEST_EMULATED is 1 for the emulated executable,
// VPOLL_TEST_DEVICE 1 for the /dev/vpoll one, both 0 for the native one) and
// small helpers.
#ifndef VPOLL_TEST_BACKEND_UNDER_TEST_HPP
#define VPOLL_TEST_BACKEND_UNDER_TEST_HPP

#include <eventfd-vpoll/eventfd_vpoll.hpp>

#ifndef VPOLL_TEST_DEVICE
#define VPOLL_TEST_DEVICE 0
#endif

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

namespace vpoll_test {

constexpr bool emulated = VPOLL_TEST_EMULATED != 0;
constexpr bool device = VPOLL_TEST_DEVICE != 0;
constexpr vpoll::backend under_test = emulated ? vpoll::backend::emulated
				      : device ? vpoll::backend::device : vpoll::backend::native;
constexpr const char *backend_name = emulated ? "emulated" : device ? "device" : "native";

// What backend::automatic gives here, asked without the process's choice:
// native if the kernel accepts EFD_VPOLL, else the device, else emulated.
inline vpoll::backend expected_automatic()
{
	if (vpollfd_backend_supported(VPOLLFD_BACKEND_NATIVE) == 1)
		return vpoll::backend::native;
	if (vpollfd_backend_supported(VPOLLFD_BACKEND_DEVICE) == 1)
		return vpoll::backend::device;
	return vpoll::backend::emulated;
}

// As in a process that never asked (in a forked child): forget the choice.
inline void forget_backend_choice()
{
	__atomic_store_n(&vpollfd_backend_choice_, 0, __ATOMIC_RELEASE);
}
inline int backend_choice()
{
	return __atomic_load_n(&vpollfd_backend_choice_, __ATOMIC_ACQUIRE);
}

inline vpoll::eventfd_vpoll make_object(vpoll::event_set initial, int flags = EFD_CLOEXEC)
{
	return vpoll::eventfd_vpoll(initial, flags, under_test);
}

// Wait for a child at most `seconds`; -1 if it is still running then (it is
// killed), else its wait status.
inline int wait_bounded(pid_t pid, int seconds)
{
	const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
	int status = 0;
	for (;;) {
		pid_t r = ::waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return status;
		if (r < 0)
			return -2;
		if (std::chrono::steady_clock::now() > end) {
			::kill(pid, SIGKILL);
			::waitpid(pid, &status, 0);
			return -1;
		}
		std::this_thread::sleep_for(std::chrono::milliseconds(5));
	}
}

inline bool exited_zero(int status) { return status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0; }

} // namespace vpoll_test

// The address of the process's choice as test_processes.cpp and a C99
// translation unit (choice_c.c) see it.
const int *vpoll_test_choice_address_processes();
extern "C" const int *vpoll_test_choice_address_c(void);

#endif
