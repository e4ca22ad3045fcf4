/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * A program and its proxy: the shared memory (a memfd sealed against
 * shrinking, passed once over the proxy's unix socket), the request and
 * completion rings in it, and the waits.
 *
 * A wait spins for a short while (RPCI_SPIN_US, 50 us by default: a
 * round trip to a remote device is a few microseconds), then sleeps on an
 * eventfd that the proxy signals when it posts a completion or an MSI for
 * us: a program waiting for a long kernel uses no CPU. The proxy's end
 * shows as EOF on the socket, or as a heartbeat that stops (a proxy that
 * hangs): either turns every call into -ENOTCONN within dead_ms.
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "client_private.h"
#include "client_transport.h"

#define SLEEP_CHECK_MS 100 /* a sleeping wait looks at the proxy's life this often */
#define HELLO_WAIT_MS 5000

static __thread char g_errmsg[256];
static int g_debug = -1;

int
cl_fail(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(g_errmsg, sizeof(g_errmsg), fmt, ap);
	va_end(ap);
	cl_debug("%s", g_errmsg);
	return err;
}

const char *
rpci_last_error(void)
{
	return g_errmsg;
}

void
cl_debug(const char *fmt, ...)
{
	va_list ap;

	if (g_debug < 0) {
		const char *v = getenv("RPCI_LOG");

		g_debug = v != NULL && strcmp(v, "debug") == 0;
	}
	if (!g_debug) {
		return;
	}
	va_start(ap, fmt);
	fprintf(stderr, "librpci: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
}

uint64_t
cl_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void
cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield");
#endif
}

/* ------------------------------------------------------ shared memory */

int
cl_shm_create(struct rpci_client *c, uint64_t size)
{
	int fd, ret;
	void *p;

	fd = memfd_create("rpci", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0) {
		return cl_fail(-errno, "cannot make shared memory: %s", strerror(errno));
	}
	if (ftruncate(fd, (off_t)size) < 0) {
		ret = cl_fail(-errno, "cannot size shared memory to %" PRIu64 " bytes: %s", size,
			      strerror(errno));
		goto close_fd;
	}
	/* Sealed: the proxy's mapping of it can never fault. */
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		ret = cl_fail(-errno, "cannot seal shared memory: %s", strerror(errno));
		goto close_fd;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		ret = cl_fail(-errno, "cannot map shared memory: %s", strerror(errno));
		goto close_fd;
	}
	c->memfd = fd;
	c->shm = p;
	c->shm_size = size;
	c->cp = (struct rpci_ipc_ctrl_page *)c->shm;
	c->cp->magic = RPCI_IPC_MAGIC;
	c->cp->version = RPCI_IPC_VERSION;
	return 0;

close_fd:
	close(fd);
	return ret;
}

/* ------------------------------------------------------------ socket */

static int
recv_ack(int sock, struct rpci_ipc_hello_ack *ack, int fds[2])
{
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} u;
	uint8_t raw[sizeof(*ack) + 16];
	struct iovec iov = { .iov_base = raw, .iov_len = sizeof(raw) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	struct pollfd pfd = { .fd = sock, .events = POLLIN };
	struct cmsghdr *cm;
	int got[4], nb = 0, i;
	ssize_t n;

	if (poll(&pfd, 1, HELLO_WAIT_MS) <= 0) {
		return cl_fail(-ETIMEDOUT, "the proxy did not answer HELLO");
	}
	n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	if (n < 0 && errno == ECONNRESET) {
		/* closed with our HELLO unread (refused at once): the error, then its answer */
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	}
	for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
			int k = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));

			for (i = 0; i < k && nb < 4; i++) {
				memcpy(&got[nb++], CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			}
		}
	}
	if (n <= 0 || rpci_ipc_hello_ack_check(raw, (size_t)n, ack) < 0 ||
	    (ack->status == 0 && nb != 2)) {
		for (i = 0; i < nb; i++) {
			close(got[i]);
		}
		return cl_fail(-EPROTO, "the proxy's answer to HELLO is not one of version %u",
			       RPCI_IPC_VERSION);
	}
	if (ack->status != 0) {
		for (i = 0; i < nb; i++) {
			close(got[i]);
		}
		return cl_fail(ack->status < 0 ? ack->status : -EPROTO, "the proxy refused us: %s",
			       ack->reason);
	}
	fds[0] = got[0];
	fds[1] = got[1];
	return 0;
}

int
cl_connect_socket(struct rpci_client *c, const char *path, const char *name)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct sockaddr_un addr;
	struct rpci_ipc_hello hello;
	struct iovec iov = { .iov_base = &hello, .iov_len = sizeof(hello) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *cm;
	int fds[2] = { -1, -1 }, ret;

	memset(&addr, 0, sizeof(addr));
	addr.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(addr.sun_path)) {
		return cl_fail(-ENAMETOOLONG, "proxy socket path too long: %s", path);
	}
	memcpy(addr.sun_path, path, strlen(path) + 1);
	c->sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (c->sock < 0) {
		return cl_fail(-errno, "socket: %s", strerror(errno));
	}
	if (connect(c->sock, (const struct sockaddr *)&addr, sizeof(addr)) < 0) {
		ret = -errno;
		return cl_fail(ret, "cannot reach the rpci proxy at %s: %s%s", path,
			       strerror(-ret), ret == -ENOENT || ret == -ECONNREFUSED ?
			       " (is rpci-proxy running? RPCI_PROXY names its socket)" :
			       ret == -EACCES ?
			       " (its socket's mode and group say who may use it)" :
			       "");
	}
	memset(&hello, 0, sizeof(hello));
	hello.magic = RPCI_IPC_MAGIC;
	hello.version = RPCI_IPC_VERSION;
	hello.type = RPCI_IPC_HELLO;
	hello.shm_size = c->shm_size;
	snprintf(hello.name, sizeof(hello.name), "%s", name);
	memset(&u, 0, sizeof(u));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &c->memfd, sizeof(int));
	if (sendmsg(c->sock, &mh, MSG_NOSIGNAL) != (ssize_t)sizeof(hello)) {
		ret = -errno;
		/*
		 * A proxy that refuses us at once (it serves as many programs as
		 * it may) can close before our HELLO came: its answer says why.
		 */
		memset(&c->ack, 0, sizeof(c->ack));
		if ((ret == -EPIPE || ret == -ECONNRESET) &&
		    recv_ack(c->sock, &c->ack, fds) < 0 && c->ack.magic == RPCI_IPC_MAGIC &&
		    c->ack.status < 0) {
			return c->ack.status;
		}
		return cl_fail(ret, "cannot send HELLO to the proxy: %s", strerror(-ret));
	}
	ret = recv_ack(c->sock, &c->ack, fds);
	if (ret < 0) {
		return ret;
	}
	c->wake_fd = fds[0];
	c->doorbell_fd = fds[1];
	/* The proxy has its own mapping: ours stays, the descriptor goes. */
	close(c->memfd);
	c->memfd = -1;
	c->beat_seen = __atomic_load_n(&c->cp->heartbeat, __ATOMIC_RELAXED);
	c->beat_ns = cl_now_ns();
	return 0;
}

void
cl_conn_close(struct rpci_client *c)
{
	if (c->t != NULL && c->handle >= 0) {
		c->t->bye(c->targ, c->handle);
		c->handle = -1;
	}
	if (c->sock >= 0) {
		close(c->sock);
	}
	if (c->wake_fd >= 0) {
		close(c->wake_fd);
	}
	if (c->doorbell_fd >= 0) {
		close(c->doorbell_fd);
	}
	if (c->memfd >= 0) {
		close(c->memfd);
	}
	if (c->shm != NULL) {
		munmap(c->shm, c->shm_size);
	}
	c->sock = c->wake_fd = c->doorbell_fd = c->memfd = -1;
	c->shm = NULL;
}

/* ------------------------------------------------------------- life */

int
cl_dead_error(struct rpci_client *c)
{
	return cl_fail(-ENOTCONN, "%s", c->dead_reason);
}

static void
proxy_gone(struct rpci_client *c, const char *why)
{
	struct rpci_device *dev;

	if (c->dead) {
		return;
	}
	c->dead = true;
	snprintf(c->dead_reason, sizeof(c->dead_reason), "%s", why);
	for (dev = c->devices; dev != NULL; dev = dev->next) {
		dev->lost = true;
	}
	cl_debug("%s", why);
}

/* Whether the proxy still lives (remote: its socket and its heartbeat). */
static bool
proxy_alive(struct rpci_client *c, uint64_t now)
{
	uint64_t beat;

	if (c->dead) {
		return false;
	}
	if (c->t != NULL) {
		return true;
	}
	/* (its closing flag is looked at by cl_poll(), before this) */
	beat = __atomic_load_n(&c->cp->heartbeat, __ATOMIC_RELAXED);
	if (beat != c->beat_seen) {
		c->beat_seen = beat;
		c->beat_ns = now;
	} else if (now - c->beat_ns > (uint64_t)c->ack.dead_ms * 1000000ull) {
		proxy_gone(c, "the rpci proxy stopped answering (no heartbeat)");
		return false;
	}
	return true;
}

/* ------------------------------------------------------------- rings */

static void
op_complete(struct rpci_client *c, const struct rpci_ipc_cpl *e)
{
	uint32_t idx = (uint32_t)(e->cookie & 0xffffffffu);
	uint32_t gen = (uint32_t)(e->cookie >> 32);
	struct cl_op *o;

	if (idx >= CL_OPS_MAX) {
		return;
	}
	o = &c->ops[idx];
	if (!o->busy || o->gen != gen || o->done) {
		return; /* an op given up on (time-out): its answer is late */
	}
	o->status = e->status;
	o->len = e->len;
	o->value = e->value;
	o->done = true;
}

int
cl_poll(struct rpci_client *c)
{
	struct rpci_ipc_cpl *slots = rpci_ipc_cpl_slots(c->shm);
	struct rpci_device *dev;
	uint32_t prod, n, resets;
	int work = 0;

	if (c->dead) {
		return 0;
	}
	/* Embedded or not: a proxy that stops, or cut us off, says so here. */
	if (__atomic_load_n(&c->cp->proxy_closing, __ATOMIC_ACQUIRE)) {
		proxy_gone(c, "the rpci proxy stopped serving this program (it stopped, or cut "
			   "the program off: see its log)");
		return 0;
	}
	prod = rpci_ipc_load(&c->cp->cpl.prod);
	n = prod - c->cpl_cons;
	if (n > RPCI_IPC_CPL_SLOTS) {
		proxy_gone(c, "the rpci proxy broke the protocol (completion ring)");
		return 0;
	}
	while (c->cpl_cons != prod) {
		struct rpci_ipc_cpl e = slots[c->cpl_cons & (RPCI_IPC_CPL_SLOTS - 1)];

		op_complete(c, &e);
		c->cpl_cons++;
		work++;
	}
	if (work > 0) {
		rpci_ipc_store(&c->cp->cpl.cons, c->cpl_cons);
	}
	for (dev = c->devices; dev != NULL; dev = dev->next) {
		const struct rpci_ipc_dev_status *st = &c->cp->dev[dev->slot];
		uint32_t state = __atomic_load_n(&st->state, __ATOMIC_ACQUIRE);

		if (dev->lost || __atomic_load_n(&st->epoch, __ATOMIC_RELAXED) != dev->epoch) {
			continue;
		}
		if (state != RPCI_IPC_DEV_OPEN) {
			dev->lost = true;
			work++;
			continue;
		}
		resets = __atomic_load_n(&st->resets, __ATOMIC_ACQUIRE);
		if (resets != dev->resets_seen) {
			/* A function-level reset: whatever waits stops; the driver brings it up. */
			cl_debug("the device on '%s' was reset (function-level reset)",
				 dev->info.server);
			dev->stats.resets += resets - dev->resets_seen;
			dev->resets_seen = resets;
			dev->flr = true;
			dev->lost = true;
			work++;
			continue;
		}
		if (__atomic_load_n(&st->msi, __ATOMIC_ACQUIRE) != dev->msi_seen) {
			cl_cq_poll(dev);
			work++;
		}
	}
	return work;
}

/* Sleep until the proxy signals us, our socket has news, or SLEEP_CHECK_MS. */
static void
proxy_sleep(struct rpci_client *c)
{
	struct pollfd pfd[2] = {
		{ .fd = c->wake_fd, .events = POLLIN },
		{ .fd = c->sock, .events = POLLIN | POLLRDHUP },
	};
	struct rpci_device *dev;
	uint64_t drain;
	bool work = false;

	__atomic_store_n(&c->cp->app_sleeping, 1, __ATOMIC_SEQ_CST);
	/* What was posted just before the flag went up is not slept over. */
	if (rpci_ipc_load(&c->cp->cpl.prod) != c->cpl_cons) {
		work = true;
	}
	for (dev = c->devices; dev != NULL && !work; dev = dev->next) {
		const struct rpci_ipc_dev_status *st = &c->cp->dev[dev->slot];

		work = __atomic_load_n(&st->msi, __ATOMIC_SEQ_CST) != dev->msi_seen ||
		       __atomic_load_n(&st->state, __ATOMIC_SEQ_CST) != RPCI_IPC_DEV_OPEN;
	}
	if (!work && poll(pfd, 2, SLEEP_CHECK_MS) > 0) {
		if (pfd[0].revents & POLLIN) {
			if (read(c->wake_fd, &drain, sizeof(drain)) < 0) {
				drain = 0;
			}
		}
		if (pfd[1].revents & (POLLIN | POLLHUP | POLLRDHUP | POLLERR)) {
			/* The proxy says nothing on the socket: this is its end. */
			proxy_gone(c, "the rpci proxy went away");
		}
	}
	__atomic_store_n(&c->cp->app_sleeping, 0, __ATOMIC_SEQ_CST);
}

int
cl_turn(struct rpci_client *c, struct cl_spin *sp)
{
	uint64_t now;
	int work = 0;

	if (c->t != NULL && c->t->progress != NULL) {
		work += c->t->progress(c->targ);
	}
	work += cl_poll(c);
	if (c->dead) {
		return cl_dead_error(c);
	}
	if (c->t != NULL) {
		/* embedded: the core's back-off, which work resets */
		if (c->t->idle != NULL) {
			c->t->idle(c->targ, work);
		}
		return 0;
	}
	if (work > 0) {
		sp->idle_since = 0;
		return 0;
	}
	now = cl_now_ns();
	if (!proxy_alive(c, now)) {
		return cl_dead_error(c);
	}
	if (sp->idle_since == 0) {
		sp->idle_since = now;
	}
	if (now - sp->idle_since < c->spin_ns) {
		/* a proxy on this core gets it now and then (two cores, three pollers) */
		if ((++sp->spins & 15) == 0) {
			sched_yield();
		} else {
			cpu_relax();
		}
		return 0;
	}
	proxy_sleep(c);
	return c->dead ? cl_dead_error(c) : 0;
}

int
cl_post(struct rpci_client *c, const struct rpci_ipc_req *r, const void *data, uint32_t len)
{
	struct rpci_ipc_req *slots = rpci_ipc_req_slots(c->shm);
	uint32_t nslots = 1 + (len + RPCI_IPC_REQ_SLOT_SIZE - 1) / RPCI_IPC_REQ_SLOT_SIZE;
	uint64_t deadline = 0;
	struct cl_spin sp = { 0 };
	uint32_t i;
	int ret;

	if (c->dead) {
		return cl_dead_error(c);
	}
	if (len > RPCI_IPC_INLINE_MAX) {
		return cl_fail(-E2BIG, "inline data of %u bytes", len);
	}
	while (RPCI_IPC_REQ_SLOTS - (c->req_prod - rpci_ipc_load(&c->cp->req.cons)) < nslots) {
		if (deadline == 0) {
			deadline = cl_now_ns() + (uint64_t)c->ack.request_timeout_ms * 1000000ull;
		} else if (cl_now_ns() > deadline) {
			return cl_fail(-ETIMEDOUT, "the proxy took no requests in time");
		}
		ret = cl_turn(c, &sp);
		if (ret < 0) {
			return ret;
		}
	}
	slots[c->req_prod & (RPCI_IPC_REQ_SLOTS - 1)] = *r;
	slots[c->req_prod & (RPCI_IPC_REQ_SLOTS - 1)].nslots = (uint8_t)nslots;
	for (i = 1; i < nslots; i++) {
		uint32_t off = (i - 1) * RPCI_IPC_REQ_SLOT_SIZE;

		memcpy(&slots[(c->req_prod + i) & (RPCI_IPC_REQ_SLOTS - 1)],
		       (const uint8_t *)data + off, CL_MIN(len - off, RPCI_IPC_REQ_SLOT_SIZE));
	}
	c->req_prod += nslots;
	rpci_ipc_store(&c->cp->req.prod, c->req_prod);
	/* Ring the proxy's doorbell if it sleeps (it set its flag, then looked). */
	if (c->doorbell_fd >= 0) {
		uint64_t one = 1;

		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (__atomic_load_n(&c->cp->proxy_sleeping, __ATOMIC_SEQ_CST) != 0 &&
		    write(c->doorbell_fd, &one, sizeof(one)) < 0) {
			cl_debug("doorbell: %s", strerror(errno));
		}
	}
	return 0;
}

int
cl_op_alloc(struct rpci_client *c, uint64_t *cookie)
{
	uint32_t i;

	for (i = 0; i < CL_OPS_MAX; i++) {
		struct cl_op *o = &c->ops[i];

		if (!o->busy) {
			o->busy = true;
			o->done = false;
			o->gen = ++c->op_gen;
			*cookie = ((uint64_t)o->gen << 32) | i;
			return (int)i;
		}
	}
	return -1;
}

void
cl_op_free(struct rpci_client *c, int op)
{
	if (op >= 0 && op < CL_OPS_MAX) {
		c->ops[op].busy = false;
	}
}

int
cl_op_wait(struct rpci_client *c, int op, struct rpci_device *dev, uint32_t timeout_ms)
{
	struct cl_op *o = &c->ops[op];
	uint64_t deadline = timeout_ms ? cl_now_ns() + (uint64_t)timeout_ms * 1000000ull : 0;
	struct cl_spin sp = { 0 };
	int ret;

	while (!o->done) {
		if (deadline != 0 && cl_now_ns() > deadline) {
			return cl_fail(-ETIMEDOUT, "the proxy did not answer in time");
		}
		/* A device that is lost gets its requests failed by the proxy. */
		ret = cl_turn(c, &sp);
		if (ret < 0) {
			return ret;
		}
	}
	(void)dev;
	return o->status;
}

int
cl_ctrl(struct rpci_client *c, uint8_t op, uint8_t dev, const void *params, uint32_t len,
	uint32_t reply_len, uint32_t timeout_ms, void **reply)
{
	struct rpci_ipc_req r;
	uint8_t *par = c->scratch, *rep = c->scratch + CL_SCRATCH_LEN / 2;
	uint64_t cookie;
	int o, ret;

	if (len > CL_SCRATCH_LEN / 2 || reply_len > CL_SCRATCH_LEN / 2) {
		return cl_fail(-E2BIG, "control request too large");
	}
	o = cl_op_alloc(c, &cookie);
	if (o < 0) {
		return cl_fail(-EBUSY, "too many requests in flight");
	}
	if (len > 0) {
		memcpy(par, params, len);
	}
	memset(rep, 0, reply_len);
	memset(&r, 0, sizeof(r));
	r.op = op;
	r.dev = dev;
	r.len = len;
	r.buf = len > 0 ? (uint64_t)(par - c->shm) : 0;
	r.cookie = cookie;
	r.arg = (uint64_t)(rep - c->shm);
	r.arg2 = reply_len;
	ret = cl_post(c, &r, NULL, 0);
	if (ret == 0) {
		ret = cl_op_wait(c, o, NULL, timeout_ms);
	}
	/* An op timed out stays busy no longer: a late answer is ignored by gen. */
	cl_op_free(c, o);
	if (reply != NULL) {
		*reply = rep;
	}
	return ret;
}
