// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/vpoll: the EFD_VPOLL protocol for kernels without it.
 *
 * Each open of /dev/vpoll is one private object that holds a set of poll
 * events, as an EFD_VPOLL eventfd does:
 *
 * - write(2) takes exactly eight bytes, a command in bits 32-63 (1 add,
 *   2 delete, 3 replace: EFD_VPOLL_ADDEVENTS, _DELEVENTS, _MODEVENTS) and
 *   events in bits 0-31; read(2) returns the pending set as eight bytes and
 *   never blocks nor consumes;
 * - ioctl(fd, _IO('^', 1|2|3), events), the interface of Debian's libvpoll,
 *   does the same (add, delete, set) and returns the new set;
 * - only the twelve event bits of include/uapi/linux/eventpoll.h are
 *   accepted (EFD_VPOLL_EVENTMASK); anything else is -EINVAL and leaves the
 *   set as it was;
 * - an add or a replace wakes the waiters with the events it asserts as the
 *   key, a delete wakes nobody.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bits.h>
#include <linux/build_bug.h>
#include <linux/fs.h>
#include <linux/ioctl.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uio.h>
#include <linux/wait.h>
#include <uapi/linux/eventfd.h>

/* dkms.conf's PACKAGE_VERSION: v4 of the EFD_VPOLL protocol. */
#define VPOLL_VERSION	"4.0"

/* The commands of a write, in bits 32-63; the same numbers as the ioctls. */
#define VPOLL_ADD	1
#define VPOLL_DEL	2
#define VPOLL_MOD	3

#define VPOLL_EVENTS	(EPOLLIN | EPOLLPRI | EPOLLOUT | EPOLLERR | EPOLLHUP | \
			 EPOLLNVAL | EPOLLRDNORM | EPOLLRDBAND | EPOLLWRNORM | \
			 EPOLLWRBAND | EPOLLMSG | EPOLLRDHUP)

/* libvpoll's ioctls: the events in the argument, the new set returned. */
#define VPOLL_IOC_ADD	_IO('^', VPOLL_ADD)
#define VPOLL_IOC_DEL	_IO('^', VPOLL_DEL)
#define VPOLL_IOC_SET	_IO('^', VPOLL_MOD)

/* Kernels older than kzalloc_obj() (6.12 among them). */
#ifndef kzalloc_obj
#define kzalloc_obj(obj, gfp)	kzalloc(sizeof(obj), gfp)
#endif

struct vpoll {
	wait_queue_head_t wqh;
	__poll_t events;	/* written under wqh.lock, read locklessly */
};

static void vpoll_check_abi(void)
{
	BUILD_BUG_ON((__force u32)VPOLL_EVENTS != 0x27ff);
#ifdef EFD_VPOLL_EVENTMASK
	/* A kernel with the series: its header and this module agree. */
	BUILD_BUG_ON((__force u32)VPOLL_EVENTS != EFD_VPOLL_EVENTMASK);
	BUILD_BUG_ON(EFD_VPOLL_ADDEVENTS != (u64)VPOLL_ADD << 32);
	BUILD_BUG_ON(EFD_VPOLL_DELEVENTS != (u64)VPOLL_DEL << 32);
	BUILD_BUG_ON(EFD_VPOLL_MODEVENTS != (u64)VPOLL_MOD << 32);
#endif
}

static int vpoll_open(struct inode *inode, struct file *file)
{
	struct vpoll *v;

	v = kzalloc_obj(*v, GFP_KERNEL_ACCOUNT);
	if (!v)
		return -ENOMEM;
	init_waitqueue_head(&v->wqh);
	file->private_data = v;
	/* A write never waits: RWF_NOWAIT and io_uring's inline attempt work. */
	file->f_mode |= FMODE_NOWAIT;
	return stream_open(inode, file);
}

/*
 * Poll, select, aio and io_uring waiters hold a reference to the file and
 * epoll drops its items before the last reference goes: nobody waits here.
 */
static int vpoll_release(struct inode *inode, struct file *file)
{
	kfree(file->private_data);
	return 0;
}

static __poll_t vpoll_poll(struct file *file, poll_table *wait)
{
	struct vpoll *v = file->private_data;

	poll_wait(file, &v->wqh, wait);

	/*
	 * The set changes under wqh.lock, which poll_wait() takes to queue:
	 * either this read sees the new set, or the writer sees the waiter
	 * queued and wakes it.
	 */
	return READ_ONCE(v->events);
}

/* Applies a validated command and wakes; returns the new set. */
static __poll_t vpoll_change(struct vpoll *v, unsigned int cmd,
			     __poll_t events)
{
	__poll_t key = cmd == VPOLL_DEL ? 0 : events;
	__poll_t now;

	spin_lock_irq(&v->wqh.lock);
	if (cmd == VPOLL_ADD)
		now = v->events | events;
	else if (cmd == VPOLL_DEL)
		now = v->events & ~events;
	else
		now = events;
	WRITE_ONCE(v->events, now);
	/*
	 * The key is what the command asserts (a replace asserts its whole
	 * set): epoll filters on it, and re-asserting a pending event is a new
	 * edge for EPOLLET. in_eventfd as in eventfd_write(): aio and io_uring
	 * then signal their own eventfds from a worker, not from here.
	 */
	if (key && waitqueue_active(&v->wqh)) {
#ifdef CONFIG_EVENTFD
		current->in_eventfd = 1;
#endif
		wake_up_locked_poll(&v->wqh, key);
#ifdef CONFIG_EVENTFD
		current->in_eventfd = 0;
#endif
	}
	spin_unlock_irq(&v->wqh.lock);

	return now;
}

static bool vpoll_valid(u64 events)
{
	return !(events & ~(u64)(__force u32)VPOLL_EVENTS);
}

static ssize_t vpoll_read(struct kiocb *iocb, struct iov_iter *to)
{
	struct vpoll *v = iocb->ki_filp->private_data;
	u64 events;

	if (iov_iter_count(to) < sizeof(events))
		return -EINVAL;
	events = (__force u32)READ_ONCE(v->events);
	if (copy_to_iter(&events, sizeof(events), to) != sizeof(events))
		return -EFAULT;

	return sizeof(events);
}

static ssize_t vpoll_write(struct kiocb *iocb, struct iov_iter *from)
{
	struct vpoll *v = iocb->ki_filp->private_data;
	u64 request, cmd, events;

	if (iov_iter_count(from) != sizeof(request))
		return -EINVAL;
	if (!copy_from_iter_full(&request, sizeof(request), from))
		return -EFAULT;
	cmd = upper_32_bits(request);
	events = lower_32_bits(request);
	if (cmd < VPOLL_ADD || cmd > VPOLL_MOD || !vpoll_valid(events))
		return -EINVAL;

	vpoll_change(v, cmd, (__force __poll_t)(u32)events);

	return sizeof(request);
}

/* The argument is a value, not a pointer: 32-bit callers use this as is. */
static long vpoll_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct vpoll *v = file->private_data;
	unsigned int op;

	switch (cmd) {
	case VPOLL_IOC_ADD:
	case VPOLL_IOC_DEL:
	case VPOLL_IOC_SET:
		op = _IOC_NR(cmd);
		break;
	default:
		return -ENOTTY;
	}
	if (!vpoll_valid(arg))
		return -EINVAL;

	return (__force u32)vpoll_change(v, op, (__force __poll_t)(u32)arg);
}

#ifdef CONFIG_PROC_FS
static void vpoll_show_fdinfo(struct seq_file *m, struct file *file)
{
	struct vpoll *v = file->private_data;

	seq_printf(m, "vpoll-events: %16x\n",
		   (__force u32)READ_ONCE(v->events));
	seq_puts(m, "vpoll-device: " KBUILD_MODNAME " " VPOLL_VERSION "\n");
}
#endif

static const struct file_operations vpoll_fops = {
	.owner		= THIS_MODULE,
	.open		= vpoll_open,
	.release	= vpoll_release,
	.poll		= vpoll_poll,
	.read_iter	= vpoll_read,
	.write_iter	= vpoll_write,
	.unlocked_ioctl	= vpoll_ioctl,
	.compat_ioctl	= vpoll_ioctl,
#ifdef CONFIG_PROC_FS
	.show_fdinfo	= vpoll_show_fdinfo,
#endif
};

/* Mode 0666, like /dev/fuse: each open is private to its opener. */
static struct miscdevice vpoll_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "vpoll",
	.fops	= &vpoll_fops,
	.mode	= 0666,
};

static int __init vpoll_init(void)
{
	vpoll_check_abi();
	return misc_register(&vpoll_misc);
}

static void __exit vpoll_exit(void)
{
	misc_deregister(&vpoll_misc);
}

module_init(vpoll_init);
module_exit(vpoll_exit);

MODULE_DESCRIPTION("/dev/vpoll: file descriptors whose poll events user space sets (EFD_VPOLL)");
MODULE_LICENSE("GPL");
MODULE_VERSION(VPOLL_VERSION);
