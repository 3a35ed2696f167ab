/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vpoll_stress: what its files share. main.c dispatches to the modes
 * (stress.c, pingpong.c, badinput.c, hygiene.c); common.c has the options,
 * the TAP output and the clock; waiters.c has the waiter of every poll family.
 * The system calls themselves are ../vpoll_helpers.h's.
 */
#ifndef VPOLL_STRESS_H
#define VPOLL_STRESS_H

#include <stdint.h>
#include "vpoll_helpers.h"

#define ADD	EFD_VPOLL_ADDEVENTS
#define DEL	EFD_VPOLL_DELEVENTS
#define MOD	EFD_VPOLL_MODEVENTS
#define MASK	((uint32_t)EFD_VPOLL_EVENTMASK)

/* common.c */

#define MAXWRITERS	16	/* stress: writers in both processes together */

/* --device: the objects are opens of the vpoll module's device (module/vpoll.c). */
#define VPOLL_DEVICE	"/dev/vpoll"
extern int use_device;

struct options {
	int seconds;		/* stress */
	int wpp;		/* stress: writers per process */
	uint64_t seed;		/* stress, badinput */
	long long count;	/* pingpong */
	int max_seconds;	/* pingpong */
	int only;		/* pingpong: one family, or -1 */
	int timeout_ms;		/* pingpong */
	long long fuzz;		/* badinput */
	long long fds;		/* hygiene */
	int batch;		/* hygiene */
};

void usage(void) __attribute__((noreturn));
int parse_global(int argc, char **argv);
void parse_options(int argc, char **argv, int first, struct options *o);

extern int tap_n, tap_failed;
void tap_result(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void tap_skip(const char *what, const char *why);
void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

double now(void);
void sleep_ms(int ms);
uint64_t rnd_next(uint64_t *s);
const char *vpoll_missing(void);
int vpoll_new(uint32_t events);

/* waiters.c: one waiter of any family on up to MAXW fds */

enum family {
	F_POLL, F_PPOLL, F_SELECT, F_PSELECT, F_EPOLL_LT, F_EPOLL_ET, F_EPOLL_ONESHOT,
	F_EPOLL_EXCL, F_URING, F_URING_MULTI, F_AIO, NFAMILIES
};

extern const char *const family_name[NFAMILIES];
int family_by_name(const char *name);

#define MAXW	VPOLL_MAX_FDS	/* fds one waitset watches */

struct waitset {
	enum family fam;
	int n, fds[MAXW];
	uint32_t ev;
	int epfd;
	struct vpoll_ring ring;
	aio_context_t actx;
	struct iocb cbs[MAXW];
	int rearm[MAXW];	/* single-shot families: arm again at the next wait */
};

int ws_open(struct waitset *w, enum family fam, const int *fds, int n, uint32_t ev);
void ws_close(struct waitset *w);
int ws_wait(struct waitset *w, int timeout_ms, uint32_t *rev);

/* the modes: each returns the exit status */

int cmd_stress(const struct options *o);
int cmd_pingpong(const struct options *o);
int cmd_badinput(const struct options *o);
int cmd_hygiene(const struct options *o);

#endif /* VPOLL_STRESS_H */
