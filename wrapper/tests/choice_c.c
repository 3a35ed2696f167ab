/* SPDX-License-Identifier: MIT */
/* A C99 translation unit of the test executables: the address of the
 * process's backend choice as C code sees it (test_backend.cpp compares it
 * with the C++ translation units'). */
#include <eventfd-vpoll/vpoll.h>

const int *vpoll_test_choice_address_c(void);

const int *vpoll_test_choice_address_c(void)
{
	return &vpollfd_backend_choice_;
}
