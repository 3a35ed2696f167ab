// SPDX-License-Identifier: MIT
//
// Catch2 2.x runner shared by the per-backend test executables.  Catch2 2.13
// has no SKIP, so a backend the kernel cannot provide makes the whole
// executable exit 77, which Meson reports as SKIP.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdio>

// Defined by the backend's test translation unit: a reason to skip, or null.
const char *vpoll_test_skip_reason();

int main(int argc, char **argv)
{
	if (const char *why = vpoll_test_skip_reason()) {
		std::printf("SKIP: %s\n", why);
		return 77;
	}
	return Catch::Session().run(argc, argv);
}
