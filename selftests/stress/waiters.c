// SPDX-License-Identifier: GPL-2.0
/*
 * vpoll_stress: one waiter, any family. A waitset watches up to MAXW fds through
 * one family; single-shot requests (epoll ONESHOT, io_uring single-shot, aio) are
 * armed again at the next wait, after the caller's own writes.
 */

#define _GNU_SOURCE
#include "vpoll_stress.h"

const char *const family_name[NFAMILIES] = {
	"poll", "ppoll", "select", "pselect", "epoll", "epoll-et", "epoll-oneshot",
	"epoll-exclusive", "io_uring", "io_uring-multishot", "aio",
};

/* The family called NAME, or -1. */
int family_by_name(const char *name)
{
	int f;

	for (f = 0; f < NFAMILIES; f++)
		if (!strcmp(name, family_name[f]))
			return f;
	return -1;
}

/* 0 or -errno; ws_close() undoes a failed ws_open() too. */
int ws_open(struct waitset *w, enum family fam, const int *fds, int n, uint32_t ev)
{
	int i, ret = 0;

	memset(w, 0, sizeof(*w));
	w->fam = fam;
	w->n = n;
	w->ev = ev;
	w->epfd = -1;
	w->ring.fd = -1;
	memcpy(w->fds, fds, n * sizeof(int));
	switch (fam) {
	case F_EPOLL_LT: case F_EPOLL_ET: case F_EPOLL_ONESHOT: case F_EPOLL_EXCL:
		if (fam == F_EPOLL_ET)
			ev |= EPOLLET;
		else if (fam == F_EPOLL_ONESHOT)
			ev |= EPOLLONESHOT;
		else if (fam == F_EPOLL_EXCL)
			ev |= EPOLLEXCLUSIVE;
		w->epfd = vpoll_epoll_create(fds, n, ev);
		if (w->epfd < 0) {
			ret = w->epfd;
			w->epfd = -1;
		}
		return ret;
	case F_URING: case F_URING_MULTI:
		ret = vpoll_ring_init(&w->ring, 16);
		for (i = 0; !ret && i < n; i++)
			ret = vpoll_ring_poll_add(&w->ring, fds[i], ev, fam == F_URING_MULTI, i);
		return ret;
	case F_AIO:
		ret = vpoll_aio_setup(2 * MAXW, &w->actx);
		for (i = 0; !ret && i < n; i++)
			ret = vpoll_aio_poll(w->actx, &w->cbs[i], fds[i], ev, i);
		return ret;
	default:
		return 0;
	}
}

void ws_close(struct waitset *w)
{
	if (w->epfd >= 0)
		close(w->epfd);
	w->epfd = -1;
	vpoll_ring_exit(&w->ring);
	if (w->actx)
		vpoll_aio_destroy(w->actx);
	w->actx = 0;
}

/* io_uring: one CQE within timeout_ms, then those already there. */
static int ws_wait_ring(struct waitset *w, int timeout_ms, uint32_t *rev)
{
	struct io_uring_cqe cqe;
	int i, r = 0;

	for (i = 0; i < w->n; i++) {
		if (w->rearm[i]) {
			r = vpoll_ring_poll_add(&w->ring, w->fds[i], w->ev,
						w->fam == F_URING_MULTI, i);
			if (r)
				return r;
		}
		w->rearm[i] = 0;
	}
	memset(rev, 0, w->n * sizeof(*rev));
	r = vpoll_ring_wait(&w->ring, &cqe, timeout_ms);
	if (r)
		return r == -ETIME ? 0 : r;
	do {
		if (cqe.user_data >= (uint64_t)w->n)
			continue;
		if (cqe.res < 0)
			return cqe.res;
		if (!rev[cqe.user_data])
			r++;
		rev[cqe.user_data] |= vpoll_from_poll(cqe.res);
		if (!(cqe.flags & IORING_CQE_F_MORE))
			w->rearm[cqe.user_data] = 1;
	} while (vpoll_ring_pop(&w->ring, &cqe));
	return r;
}

/* aio: the completions within timeout_ms; each request is used up. */
static int ws_wait_aio(struct waitset *w, int timeout_ms, uint32_t *rev)
{
	struct io_event e[MAXW];
	int i, r;

	for (i = 0; i < w->n; i++) {
		if (w->rearm[i]) {
			r = vpoll_aio_poll(w->actx, &w->cbs[i], w->fds[i], w->ev, i);
			if (r)
				return r;
		}
		w->rearm[i] = 0;
	}
	memset(rev, 0, w->n * sizeof(*rev));
	r = vpoll_aio_getevents(w->actx, 1, w->n, e, timeout_ms);
	for (i = 0; i < r; i++) {
		if (e[i].data >= (uint64_t)w->n)
			continue;
		if ((int64_t)e[i].res < 0)
			return (int)e[i].res;
		rev[e[i].data] |= vpoll_from_poll(e[i].res);
		w->rearm[e[i].data] = 1;
	}
	return r;
}

/* One wait of ws_wait(); -EINTR when interrupted. */
static int ws_wait_once(struct waitset *w, int timeout_ms, uint32_t *rev)
{
	struct epoll_event m;
	int i, r;

	switch (w->fam) {
	case F_POLL: case F_PPOLL:
		return vpoll_poll(w->fds, w->n, w->ev, w->fam == F_PPOLL, timeout_ms, rev);
	case F_SELECT: case F_PSELECT:
		return vpoll_select(w->fds, w->n, w->ev, w->fam == F_PSELECT, timeout_ms, rev);
	case F_EPOLL_LT: case F_EPOLL_ET: case F_EPOLL_ONESHOT: case F_EPOLL_EXCL:
		for (i = 0; i < w->n; i++) {
			m = (struct epoll_event){ .events = w->ev | EPOLLONESHOT, .data.u32 = i };
			if (w->rearm[i] && epoll_ctl(w->epfd, EPOLL_CTL_MOD, w->fds[i], &m))
				return -errno;
			w->rearm[i] = 0;
		}
		r = vpoll_epoll_wait(w->epfd, w->n, timeout_ms, rev);
		for (i = 0; w->fam == F_EPOLL_ONESHOT && r > 0 && i < w->n; i++)
			w->rearm[i] = !!rev[i];
		return r;
	case F_URING: case F_URING_MULTI:
		return ws_wait_ring(w, timeout_ms, rev);
	case F_AIO:
		return ws_wait_aio(w, timeout_ms, rev);
	default:
		return -EINVAL;
	}
}

/*
 * Waits up to timeout_ms; fills rev[i] (for select: EPOLLIN readable, EPOLLOUT
 * writable, EPOLLPRI exceptional). Returns more than 0 when some fd reported, 0 on
 * timeout, -errno on error. EINTR comes without any signal handler: a completion for
 * an io_uring request this thread submitted is task work (TIF_NOTIFY_SIGNAL), which
 * interrupts whatever blocking call the thread is in; so it waits again.
 */
int ws_wait(struct waitset *w, int timeout_ms, uint32_t *rev)
{
	int r;

	do
		r = ws_wait_once(w, timeout_ms, rev);
	while (r == -EINTR);
	return r;
}
