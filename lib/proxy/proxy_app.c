/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * The programs a proxy serves: the unix socket they connect to, HELLO (a
 * memfd of the program's that we map), their request rings, their
 * completions and wake-ups, and their end.
 *
 * A program is untrusted. It can only reach its own memory and its own
 * devices: every request is copied out of shared memory before it is
 * checked (lib/ipc), ring indices out of range or a malformed request cut
 * the program off (counted), a request for a device it does not hold gets
 * an error completion, and a program that floods the ring is served a
 * budget of requests per turn like every other. A program that goes away
 * (exit, kill -9) loses its devices: their sessions close in order, their
 * leases are released, and the servers clear them.
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_memory.h>

#include "proxy_private.h"

#define FD_CHECK_US 1000     /* sockets looked at this often while busy */
#define UNMAP_GRACE_MS 100   /* a gone program's memory stays mapped this long */
#define EXTMEM_PAGE (2u << 20)

/* ------------------------------------------------------------ programs */

struct proxy_app *
proxy_app_new(struct rpci_proxy *p, bool local)
{
	struct proxy_app *app;
	uint32_t i, k;

	if (p->nb_apps >= p->max_apps) {
		errno = EUSERS;
		return NULL;
	}
	for (i = 0; i < PROXY_APPS_MAX && p->apps[i] != NULL; i++) {
	}
	if (i == PROXY_APPS_MAX) {
		errno = EUSERS;
		return NULL;
	}
	app = calloc(1, sizeof(*app));
	if (app == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	for (k = 0; k < RPCI_IPC_DEVICES_MAX; k++) {
		if (proxy_dev_init(&app->dev[k], app, (uint8_t)k) < 0) {
			while (k-- > 0) {
				proxy_dev_fini(&app->dev[k]);
			}
			free(app);
			errno = ENOMEM;
			return NULL;
		}
	}
	app->p = p;
	app->index = i;
	app->id = ++p->next_app_id;
	app->local = local;
	app->sock = -1;
	app->memfd = -1;
	app->wake_fd = -1;
	/* A function of its own on the fabric: the host's bus, the program's slot. */
	app->requester_id = (uint16_t)(((p->host_index + 1u) << 8) | i);
	/* Its memory's fabric addresses: a terabyte each, above the BARs' */
	app->iova_base = (uint64_t)(i + 1) << 40;
	p->apps[i] = app;
	p->nb_apps++;
	return app;
}

void
proxy_app_attach_shm(struct proxy_app *app, uint8_t *shm, uint64_t shm_size)
{
	app->shm = shm;
	app->shm_size = shm_size;
	app->cp = (struct rpci_ipc_ctrl_page *)shm;
	app->req_cons = 0;
	app->cpl_prod = 0;
	app->cpl_owed = 0;
	rpci_ipc_store(&app->cp->req.cons, 0);
	rpci_ipc_store(&app->cp->cpl.prod, 0);
	__atomic_store_n(&app->cp->heartbeat, app->p->heartbeat, __ATOMIC_RELAXED);
}

void
proxy_app_free(struct proxy_app *app)
{
	struct rpci_proxy *p = app->p;
	uint32_t k;

	for (k = 0; k < RPCI_IPC_DEVICES_MAX; k++) {
		proxy_dev_fini(&app->dev[k]);
	}
	if (app->shm_mapped) {
		rte_extmem_unregister(app->shm, app->shm_size);
		munmap(app->shm, app->shm_size);
	}
	if (app->sock >= 0) {
		close(app->sock);
	}
	if (app->memfd >= 0) {
		close(app->memfd);
	}
	if (app->wake_fd >= 0) {
		close(app->wake_fd);
	}
	p->apps[app->index] = NULL;
	p->nb_apps--;
	free(app);
}

void
proxy_app_kill(struct proxy_app *app, const char *why)
{
	uint32_t k;

	if (app->dying) {
		return;
	}
	if (app->hello_done) {
		PROXY_LOG(INFO, "program %u (%s, pid %d): %s", app->id, app->name, (int)app->pid,
			  why);
	}
	app->dying = true;
	/*
	 * It learns that it is served no more from its control page too: an
	 * embedded program has no socket whose end it would see, and would
	 * wait for completions that never come.
	 */
	if (app->cp != NULL) {
		__atomic_store_n(&app->cp->proxy_closing, 1, __ATOMIC_RELEASE);
	}
	if (app->sock >= 0) {
		close(app->sock);
		app->sock = -1;
	}
	proxy_sel_app_gone(app);
	for (k = 0; k < RPCI_IPC_DEVICES_MAX; k++) {
		struct proxy_dev *d = &app->dev[k];

		if (d->state != PD_FREE) {
			/* An embedded program's memory goes with it: no waiting. */
			proxy_dev_close(d, !app->local);
		}
		d->ctrl.pending = false;
	}
	app->unmap_tsc = proxy_now() + proxy_ms_tsc(app->p, UNMAP_GRACE_MS);
}

/* ---------------------------------------------------------- completions */

bool
proxy_app_post(struct proxy_app *app, uint64_t cookie, int32_t status, uint32_t len,
	       uint64_t value, uint8_t op, uint8_t dev)
{
	struct rpci_ipc_cpl *c;

	if (app->cpl_owed > 0) {
		app->cpl_owed--;
	}
	if (app->dying || app->cp == NULL) {
		return false;
	}
	if (status < 0) {
		app->errors++;
	}
	c = &rpci_ipc_cpl_slots(app->shm)[app->cpl_prod & (RPCI_IPC_CPL_SLOTS - 1)];
	c->cookie = cookie;
	c->status = status;
	c->len = len;
	c->value = value;
	c->op = op;
	c->dev = dev;
	memset(c->reserved, 0, sizeof(c->reserved));
	app->cpl_prod++;
	rpci_ipc_store(&app->cp->cpl.prod, app->cpl_prod);
	app->need_wake = true;
	return true;
}

void
proxy_app_wake(struct proxy_app *app)
{
	uint64_t one = 1;

	app->need_wake = false;
	if (app->local || app->wake_fd < 0 || app->dying) {
		return;
	}
	/* Published before we look: pairs with the program's flag-then-check. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&app->cp->app_sleeping, __ATOMIC_SEQ_CST) != 0) {
		__atomic_store_n(&app->cp->app_sleeping, 0, __ATOMIC_SEQ_CST);
		if (write(app->wake_fd, &one, sizeof(one)) == sizeof(one)) {
			app->p->stats.wakeups++;
		}
	}
}

void *
proxy_app_reply(struct proxy_app *app, const struct pctrl *c)
{
	if (app->dying || app->shm == NULL || c->reply_len == 0) {
		return NULL;
	}
	/* reply and reply_len were checked against the memory when taken */
	return app->shm + c->reply;
}

void
proxy_ctrl_done(struct proxy_app *app, struct pctrl *c, int32_t status, uint32_t len,
		const char *reason)
{
	struct rpci_ipc_reply *rep;

	if (!c->pending) {
		return;
	}
	c->pending = false;
	rep = proxy_app_reply(app, c);
	if (rep != NULL) {
		snprintf(rep->reason, sizeof(rep->reason), "%s", reason != NULL ? reason : "");
	}
	if (len > c->reply_len) {
		len = c->reply_len;
	}
	proxy_app_post(app, c->cookie, status, len, 0, c->op, 0);
}

/* An immediate answer to a control request, with a reason. */
static int
ctrl_now(struct proxy_app *app, const struct rpci_ipc_req *r, int32_t status, uint32_t len,
	 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int
ctrl_now(struct proxy_app *app, const struct rpci_ipc_req *r, int32_t status, uint32_t len,
	 const char *fmt, ...)
{
	struct pctrl c = {
		.pending = true,
		.op = r->op,
		.cookie = r->cookie,
		.reply = r->arg,
		.reply_len = r->arg2,
	};
	char reason[RPCI_IPC_REASON_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (status < 0) {
		app->p->stats.requests_refused++;
	}
	proxy_ctrl_done(app, &c, status, len, reason);
	return 0;
}

/* ------------------------------------------------- control requests */

/* Copy a control request's parameters out of shared memory. */
static void
ctrl_params(const struct proxy_app *app, const struct rpci_ipc_req *r, void *out, size_t len)
{
	memcpy(out, app->shm + r->buf, len);
}

static int
ctrl_open(struct proxy_app *app, const struct rpci_ipc_req *r)
{
	struct rpci_proxy *p = app->p;
	struct proxy_dev *d = &app->dev[r->dev];
	struct rpci_ipc_open_params op;
	const struct rpci_conf_host *sh;
	const struct rpci_conf_device *sd;
	const char *server, *device;
	int idx;

	ctrl_params(app, r, &op, sizeof(op));
	if (!rpci_ipc_str_ok(op.server, sizeof(op.server)) ||
	    !rpci_ipc_str_ok(op.device, sizeof(op.device))) {
		return ctrl_now(app, r, -EINVAL, 0, "bad server or device name");
	}
	if (d->state != PD_FREE || d->ctrl.pending) {
		return ctrl_now(app, r, -EBUSY, 0, "device slot %u is in use", r->dev);
	}
	server = op.server;
	device = op.device;
	if (server[0] == '\0') {
		server = p->host->server;
		if (device[0] == '\0') {
			device = p->host->device;
		}
	}
	if (server[0] == '\0' && p->with_selector) {
		/* No server named anywhere: the selector chooses any device. */
		struct rpci_ipc_request_params rp;
		struct pctrl c = {
			.pending = true,
			.op = r->op,
			.cookie = r->cookie,
			.reply = r->arg,
			.reply_len = r->arg2,
		};

		memset(&rp, 0, sizeof(rp));
		rp.count = 1;
		rp.slots[0] = r->dev;
		if (proxy_sel_request(app, &rp, &c) < 0) {
			return 0; /* answered */
		}
		return 0;
	}
	sh = rpci_conf_host_find(p->conf, server);
	if (sh == NULL || !(sh->roles & RPCI_ROLE_SERVER)) {
		return ctrl_now(app, r, -ENOENT, 0, "'%s' is not a server host of %s", server,
				p->conf->path);
	}
	sd = rpci_conf_device_find(sh, device);
	if (sd == NULL) {
		return ctrl_now(app, r, -ENOENT, 0, "server '%s' has no device '%s'", server,
				device);
	}
	idx = rpci_conf_device_index(sh, sd);
	d->ctrl.pending = true;
	d->ctrl.op = r->op;
	d->ctrl.cookie = r->cookie;
	d->ctrl.reply = r->arg;
	d->ctrl.reply_len = r->arg2;
	d->request_id = 0;
	d->failover = false;
	d->sel_req = -1;
	proxy_dev_connect(d, (const struct rte_ether_addr *)sh->mac, (uint16_t)idx, 0, server,
			  sd->name);
	return 0;
}

static int
ctrl_request(struct proxy_app *app, const struct rpci_ipc_req *r)
{
	struct rpci_ipc_request_params rp;
	struct pctrl c = {
		.pending = true,
		.op = r->op,
		.cookie = r->cookie,
		.reply = r->arg,
		.reply_len = r->arg2,
	};
	uint32_t i;

	ctrl_params(app, r, &rp, sizeof(rp));
	if (rpci_ipc_request_params_check(&rp) < 0) {
		return ctrl_now(app, r, -EINVAL, 0, "bad request (count %u: 1..%u, slots distinct)",
				rp.count, RPCI_IPC_REQUEST_MAX);
	}
	for (i = 0; i < rp.count; i++) {
		const struct proxy_dev *d = &app->dev[rp.slots[i]];

		if (d->state != PD_FREE || d->ctrl.pending) {
			return ctrl_now(app, r, -EBUSY, 0, "device slot %u is in use", rp.slots[i]);
		}
	}
	if (!app->p->with_selector) {
		return ctrl_now(app, r, -ENOTSUP, 0, "%s has no selector to ask",
				app->p->conf->path);
	}
	proxy_sel_request(app, &rp, &c);
	return 0;
}

static int
ctrl_close(struct proxy_app *app, const struct rpci_ipc_req *r)
{
	struct proxy_dev *d = &app->dev[r->dev];

	if (d->ctrl.pending) {
		return ctrl_now(app, r, -EBUSY, 0, "device slot %u is being opened", r->dev);
	}
	if (d->state == PD_FREE) {
		return ctrl_now(app, r, 0, 0, "%s", "");
	}
	d->ctrl.pending = true;
	d->ctrl.op = r->op;
	d->ctrl.cookie = r->cookie;
	d->ctrl.reply = r->arg;
	d->ctrl.reply_len = r->arg2;
	proxy_dev_close(d, true);
	return 0;
}

static int
ctrl_reconnect(struct proxy_app *app, const struct rpci_ipc_req *r)
{
	struct rpci_proxy *p = app->p;
	struct proxy_dev *d = &app->dev[r->dev];

	if (d->state != PD_LOST || d->ctrl.pending) {
		return ctrl_now(app, r, -EINVAL, 0, "device slot %u is not lost", r->dev);
	}
	if (!p->with_selector || !d->failover || d->request_id == 0) {
		return ctrl_now(app, r, -ENOTCONN, 0, "lost the device: server '%s' stopped "
				"answering", d->server);
	}
	d->ctrl.pending = true;
	d->ctrl.op = r->op;
	d->ctrl.cookie = r->cookie;
	d->ctrl.reply = r->arg;
	d->ctrl.reply_len = r->arg2;
	/* The lost attachment is over; the selector's failover replaces it. */
	d->lease_id = 0;
	d->state = PD_WAIT_ATTACH;
	d->deadline_tsc = proxy_now() + p->failover_wait_tsc;
	app->attn |= 1u << d->slot;
	return 0;
}

/* The deployment's devices from index first, as its file describes them. */
static void
devices_list(const struct rpci_conf *conf, uint32_t first, struct rpci_ipc_devices_reply *dl)
{
	uint32_t h, i, k = 0;

	dl->total = 0;
	dl->count = 0;
	for (h = 0; h < conf->nb_hosts; h++) {
		const struct rpci_conf_host *sh = &conf->hosts[h];

		if (!(sh->roles & RPCI_ROLE_SERVER)) {
			continue;
		}
		for (i = 0; i < sh->nb_devices; i++, k++) {
			const struct rpci_conf_device *cd = &sh->devices[i];
			struct rpci_ipc_dev_entry *e;

			if (k < first || dl->count >= RPCI_IPC_DEVICES_PER_REPLY) {
				continue;
			}
			e = &dl->ent[dl->count++];
			memset(e, 0, sizeof(*e));
			snprintf(e->server, sizeof(e->server), "%s", sh->name);
			snprintf(e->device, sizeof(e->device), "%s", cd->name);
			e->function = (uint16_t)i;
			if (cd->kind == RPCI_CONF_DEV_PCI) {
				e->kind = RPCI_IPC_DEV_PCI;
				snprintf(e->backend, sizeof(e->backend), "pci");
				snprintf(e->pci_address, sizeof(e->pci_address),
					 "%04x:%02x:%02x.%u", cd->pci_domain, cd->pci_bus,
					 cd->pci_dev, cd->pci_func);
			} else {
				e->kind = RPCI_IPC_DEV_VGPU;
				snprintf(e->backend, sizeof(e->backend), "%s", cd->backend);
				e->memory_bytes = cd->memory_bytes;
			}
		}
	}
	dl->total = k;
}

static int
ctrl_misc(struct proxy_app *app, const struct rpci_ipc_req *r)
{
	struct rpci_proxy *p = app->p;
	struct rpci_ipc_report_params rep;
	struct rpci_ipc_message msg;
	struct rpci_ipc_message *out;
	struct rpci_ipc_link_stats *ls;
	struct rpci_ipc_devices_params dp;
	struct rpci_ipc_devices_reply *dl;
	struct rpci_link_stats st;
	struct proxy_dev *d = &app->dev[r->dev];
	uint32_t h;
	int ret;

	switch (r->op) {
	case RPCI_IPC_OP_REPORT:
		ctrl_params(app, r, &rep, sizeof(rep));
		if (!rpci_ipc_str_ok(rep.job, sizeof(rep.job))) {
			return ctrl_now(app, r, -EINVAL, 0, "bad job name");
		}
		if (d->state != PD_OPEN || d->lease_id == 0) {
			return ctrl_now(app, r, -ENOTSUP, 0, "device not from the selector");
		}
		ret = proxy_sel_report(d, &rep);
		return ctrl_now(app, r, ret, 0, "%s", ret < 0 ? "cannot send the report" : "");
	case RPCI_IPC_OP_MSG_SEND:
		ctrl_params(app, r, &msg, sizeof(msg));
		if (!rpci_ipc_str_ok(msg.peer, sizeof(msg.peer)) ||
		    !rpci_ipc_str_ok(msg.text, sizeof(msg.text))) {
			return ctrl_now(app, r, -EINVAL, 0, "bad message");
		}
		if (!p->with_selector) {
			return ctrl_now(app, r, -ENOTSUP, 0, "%s has no selector to pass messages",
					p->conf->path);
		}
		ret = proxy_sel_message(p, msg.peer, msg.text);
		return ctrl_now(app, r, ret, 0, "%s", ret < 0 ? "cannot send the message" : "");
	case RPCI_IPC_OP_MSG_RECV:
		out = proxy_app_reply(app, &(struct pctrl){ .reply = r->arg,
							   .reply_len = r->arg2 });
		if (p->inbox_head == p->inbox_tail || out == NULL) {
			return ctrl_now(app, r, 0, 0, "%s", "");
		}
		h = p->inbox_head++ % SEL_INBOX_MAX;
		memcpy(out->peer, p->inbox[h].from, sizeof(out->peer));
		memcpy(out->text, p->inbox[h].text, sizeof(out->text));
		return ctrl_now(app, r, 1, sizeof(*out), "%s", "");
	case RPCI_IPC_OP_STATS:
		ls = proxy_app_reply(app, &(struct pctrl){ .reply = r->arg, .reply_len = r->arg2 });
		if (ls != NULL) {
			rpci_link_stats_get(p->link, &st);
			ls->rx_frames = st.rx_frames;
			ls->tx_frames = st.tx_frames;
			ls->retransmits = st.tx_retransmit;
			ls->rx_bad_crc = st.rx_bad_crc;
			ls->rx_malformed = st.rx_malformed_msg;
			ls->rx_data = st.rx_data;
			ls->rx_duplicate = st.rx_duplicate;
			ls->rx_out_of_order = st.rx_out_of_order;
			ls->rx_bad_header = st.rx_bad_header;
			ls->rx_not_ours = st.rx_not_ours;
			ls->tx_data = st.tx_data;
			ls->timeouts = st.timeouts;
			ls->nak_sent = st.nak_sent;
			ls->nak_rcvd = st.nak_rcvd;
			ls->rx_dropped = st.rx_queue_full + st.rx_refused_msg;
		}
		return ctrl_now(app, r, 0, sizeof(*ls), "%s", "");
	case RPCI_IPC_OP_DEVICES:
		ctrl_params(app, r, &dp, sizeof(dp));
		dl = proxy_app_reply(app, &(struct pctrl){ .reply = r->arg, .reply_len = r->arg2 });
		if (dl != NULL) {
			devices_list(p->conf, dp.first, dl);
		}
		return ctrl_now(app, r, 0, sizeof(*dl), "%s", "");
	default:
		return ctrl_now(app, r, -EPROTO, 0, "unknown request");
	}
}

/* ------------------------------------------------------------ the ring */

static bool
op_completes(uint8_t op)
{
	return op != RPCI_IPC_OP_MWR;
}

/* Handle the head request: 0 when done with it, -EAGAIN to try again later. */
static int
dispatch(struct proxy_app *app)
{
	const struct rpci_ipc_req *r = &app->head.req;

	switch (r->op) {
	case RPCI_IPC_OP_MWR:
	case RPCI_IPC_OP_MRD:
	case RPCI_IPC_OP_CFGRD:
	case RPCI_IPC_OP_CFGWR:
	case RPCI_IPC_OP_FENCE:
		return proxy_dev_request(&app->dev[r->dev], &app->head, &app->head_done);
	case RPCI_IPC_OP_OPEN:
		return ctrl_open(app, r);
	case RPCI_IPC_OP_REQUEST:
		return ctrl_request(app, r);
	case RPCI_IPC_OP_CLOSE:
		return ctrl_close(app, r);
	case RPCI_IPC_OP_RECONNECT:
		return ctrl_reconnect(app, r);
	default:
		return ctrl_misc(app, r);
	}
}

static int
rings_poll(struct proxy_app *app)
{
	struct rpci_proxy *p = app->p;
	struct rpci_ipc_ctrl_page *cp = app->cp;
	uint32_t budget = REQ_BUDGET, prod, avail, used;
	int ret, work = 0;

	while (budget-- > 0) {
		if (!app->head_valid) {
			prod = rpci_ipc_load(&cp->req.prod);
			avail = prod - app->req_cons;
			if (avail > RPCI_IPC_REQ_SLOTS) {
				p->stats.program_violations++;
				proxy_app_kill(app, "cut off: request ring index out of range");
				return work;
			}
			if (avail == 0) {
				break;
			}
			ret = rpci_ipc_req_take(rpci_ipc_req_slots(app->shm), app->req_cons, avail,
						app->shm_size, &app->head);
			if (ret == -EAGAIN) {
				break;
			}
			if (ret < 0) {
				p->stats.program_violations++;
				PROXY_LOG(WARNING, "program %u (%s): malformed request (op %u): %s",
					  app->id, app->name, app->head.req.op, strerror(-ret));
				proxy_app_kill(app, "cut off: malformed request");
				return work;
			}
			if (op_completes(app->head.req.op)) {
				used = app->cpl_prod - rpci_ipc_load(&cp->cpl.cons);
				if (used > RPCI_IPC_CPL_SLOTS) {
					p->stats.program_violations++;
					proxy_app_kill(app, "cut off: completion ring index out of "
						       "range");
					return work;
				}
				if (used + app->cpl_owed >= RPCI_IPC_CPL_SLOTS) {
					break; /* it must take its completions first */
				}
				app->cpl_owed++;
			}
			app->head_valid = true;
			app->head_done = 0;
			app->requests++;
			p->stats.requests++;
		}
		ret = dispatch(app);
		if (app->dying) {
			return work;
		}
		if (ret == -EAGAIN) {
			break;
		}
		app->head_valid = false;
		app->req_cons += app->head.nslots;
		rpci_ipc_store(&cp->req.cons, app->req_cons);
		work++;
	}
	return work;
}

int
proxy_app_poll(struct proxy_app *app)
{
	uint32_t attn;
	int work = 0;

	if (app->dying) {
		uint32_t k;

		for (k = 0; k < RPCI_IPC_DEVICES_MAX; k++) {
			if (app->dev[k].state != PD_FREE) {
				work += proxy_dev_timers(&app->dev[k]);
			}
		}
		for (k = 0; k < RPCI_IPC_DEVICES_MAX && app->dev[k].state == PD_FREE; k++) {
		}
		if (k == RPCI_IPC_DEVICES_MAX && (app->local || proxy_now() >= app->unmap_tsc)) {
			proxy_app_free(app);
		}
		return work;
	}
	if (!app->hello_done) {
		return 0;
	}
	attn = app->attn;
	while (attn != 0) {
		uint32_t k = (uint32_t)__builtin_ctz(attn);

		attn &= attn - 1;
		work += proxy_dev_timers(&app->dev[k]);
	}
	if (!app->dying) {
		work += rings_poll(app);
	}
	if (app->need_wake) {
		proxy_app_wake(app);
	}
	return work;
}

/* ------------------------------------------------------- the socket */

static int
send_ack(int sock, const struct rpci_ipc_hello_ack *ack, const int *fds, unsigned int nb_fds)
{
	union {
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = (void *)(uintptr_t)ack, .iov_len = sizeof(*ack) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;

	if (nb_fds > 0) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(nb_fds * sizeof(int));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(nb_fds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, nb_fds * sizeof(int));
	}
	return sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)sizeof(*ack) ? 0 :
		-EIO;
}

static void
ack_fill(const struct rpci_proxy *p, const struct proxy_app *app, struct rpci_ipc_hello_ack *ack,
	 int status, const char *reason)
{
	memset(ack, 0, sizeof(*ack));
	ack->magic = RPCI_IPC_MAGIC;
	ack->version = RPCI_IPC_VERSION;
	ack->type = RPCI_IPC_HELLO_ACK;
	ack->status = status;
	snprintf(ack->reason, sizeof(ack->reason), "%s", reason);
	if (status < 0) {
		return;
	}
	ack->flags = p->with_selector ? RPCI_IPC_F_SELECTOR : 0;
	ack->app_id = app->id;
	ack->requester_id = app->requester_id;
	ack->iova_base = app->iova_base;
	ack->max_payload = p->max_payload;
	ack->dead_ms = p->conf->link.dead_ms;
	ack->request_timeout_ms = p->conf->link.request_timeout_ms;
	ack->heartbeat_us = FD_CHECK_US;
	snprintf(ack->host, sizeof(ack->host), "%s", p->host->name);
}

/* Refuse a program: tell it why, then drop it. */
static void
hello_refuse(struct proxy_app *app, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
hello_refuse(struct proxy_app *app, int err, const char *fmt, ...)
{
	struct rpci_ipc_hello_ack ack;
	char reason[RPCI_IPC_REASON_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	ack_fill(app->p, app, &ack, err, reason);
	send_ack(app->sock, &ack, NULL, 0);
	app->p->stats.programs_refused++;
	PROXY_LOG(INFO, "refused a program (pid %d, uid %u): %s", (int)app->pid,
		  (unsigned int)app->uid, reason);
	proxy_app_kill(app, reason);
}

/* Map the program's memfd at an address aligned for external memory. */
static uint8_t *
map_shm(int fd, uint64_t size)
{
	uint8_t *area, *aligned;
	size_t room = size + EXTMEM_PAGE;

	area = mmap(NULL, room, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (area == MAP_FAILED) {
		return NULL;
	}
	aligned = (uint8_t *)RTE_ALIGN_CEIL((uintptr_t)area, EXTMEM_PAGE);
	if (mmap(aligned, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) ==
	    MAP_FAILED) {
		munmap(area, room);
		return NULL;
	}
	if (aligned > area) {
		munmap(area, (size_t)(aligned - area));
	}
	if (area + room > aligned + size) {
		munmap(aligned + size, (size_t)(area + room - (aligned + size)));
	}
	return aligned;
}

static void
hello_rx(struct proxy_app *app)
{
	struct rpci_proxy *p = app->p;
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct rpci_ipc_hello hello;
	struct rpci_ipc_hello_ack ack;
	uint8_t raw[sizeof(hello) + 16];
	struct iovec iov = { .iov_base = raw, .iov_len = sizeof(raw) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *cm;
	int fds[4], nb_fds = 0, memfd = -1, seals, i, ret, out[2];
	struct stat st;
	ssize_t n;

	n = recvmsg(app->sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		return;
	}
	for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
			int k = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));

			for (i = 0; i < k && nb_fds < 4; i++) {
				memcpy(&fds[nb_fds++], CMSG_DATA(cm) + i * sizeof(int),
				       sizeof(int));
			}
		}
	}
	if (n <= 0) {
		for (i = 0; i < nb_fds; i++) {
			close(fds[i]);
		}
		proxy_app_kill(app, "went away before HELLO");
		return;
	}
	if (nb_fds == 1) {
		memfd = fds[0];
	} else {
		for (i = 0; i < nb_fds; i++) {
			close(fds[i]);
		}
	}
	ret = rpci_ipc_hello_check(raw, (size_t)n, &hello);
	if (ret == -EINVAL) {
		hello_refuse(app, -EINVAL, "shared memory of %" PRIu64 " bytes: a multiple of "
			     "4 KiB from %llu MiB to %llu GiB", hello.shm_size,
			     RPCI_IPC_SHM_MIN >> 20, RPCI_IPC_SHM_MAX >> 30);
		goto close_memfd;
	}
	if (ret < 0 || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		hello_refuse(app, -EPROTO, "not a HELLO of protocol version %u", RPCI_IPC_VERSION);
		goto close_memfd;
	}
	if (memfd < 0) {
		hello_refuse(app, -EINVAL, "a HELLO comes with exactly one memfd");
		goto close_memfd;
	}
	seals = fcntl(memfd, F_GET_SEALS);
	if (fstat(memfd, &st) < 0 || !S_ISREG(st.st_mode) || seals < 0 ||
	    !(seals & F_SEAL_SHRINK) || (uint64_t)st.st_size != hello.shm_size) {
		hello_refuse(app, -EINVAL, "the memory must be a memfd of the size given, sealed "
			     "against shrinking");
		goto close_memfd;
	}
	app->shm = map_shm(memfd, hello.shm_size);
	if (app->shm == NULL) {
		hello_refuse(app, -ENOMEM, "cannot map %" PRIu64 " bytes of shared memory",
			     hello.shm_size);
		goto close_memfd;
	}
	app->shm_mapped = true;
	app->shm_size = hello.shm_size;
	close(memfd);
	memfd = -1;
	/* External memory: the link may attach it to frames as it is. */
	if (rte_extmem_register(app->shm, app->shm_size, NULL, 0, EXTMEM_PAGE) < 0) {
		PROXY_LOG(DEBUG, "program %u: extmem registration: %s", app->id,
			  rte_strerror(rte_errno));
	}
	app->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (app->wake_fd < 0) {
		hello_refuse(app, -errno, "cannot make an eventfd");
		return;
	}
	snprintf(app->name, sizeof(app->name), "%s", hello.name);
	proxy_app_attach_shm(app, app->shm, app->shm_size);
	ack_fill(p, app, &ack, 0, "");
	out[0] = app->wake_fd;
	out[1] = p->doorbell_fd;
	if (send_ack(app->sock, &ack, out, 2) < 0) {
		proxy_app_kill(app, "went away during HELLO");
		return;
	}
	app->hello_done = true;
	p->stats.programs++;
	PROXY_LOG(INFO, "program %u (%s, pid %d, uid %u) connected: requester %04x, %" PRIu64
		  " MiB of shared memory", app->id, app->name, (int)app->pid,
		  (unsigned int)app->uid, app->requester_id, app->shm_size >> 20);
	return;

close_memfd:
	if (memfd >= 0) {
		close(memfd);
	}
}

static void
accept_new(struct rpci_proxy *p)
{
	struct proxy_app *app;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int fd, k;

	for (k = 0; k < 8; k++) {
		fd = accept4(p->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			return;
		}
		app = proxy_app_new(p, false);
		if (app == NULL) {
			struct rpci_ipc_hello_ack ack;
			struct proxy_app none = { .p = p };

			ack_fill(p, &none, &ack, -EUSERS, "the proxy serves as many programs as "
				 "it may");
			send_ack(fd, &ack, NULL, 0);
			close(fd);
			p->stats.programs_refused++;
			continue;
		}
		app->sock = fd;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
			app->pid = cred.pid;
			app->uid = cred.uid;
			app->gid = cred.gid;
		}
		app->hello_deadline_tsc = proxy_now() + proxy_ms_tsc(p, HELLO_TIMEOUT_MS);
	}
}

int
proxy_sock_poll(struct rpci_proxy *p, bool force)
{
	struct pollfd pfd[PROXY_APPS_MAX + 1];
	struct proxy_app *who[PROXY_APPS_MAX + 1];
	uint64_t now = proxy_now();
	int n = 0, i, work = 0;
	uint32_t k;

	if (!force && now < p->next_fd_check_tsc) {
		return 0;
	}
	p->next_fd_check_tsc = now + p->hz * FD_CHECK_US / 1000000;
	if (p->listen_fd >= 0) {
		pfd[n].fd = p->listen_fd;
		pfd[n].events = POLLIN;
		who[n++] = NULL;
	}
	for (k = 0; k < PROXY_APPS_MAX; k++) {
		struct proxy_app *app = p->apps[k];

		if (app == NULL || app->local || app->sock < 0) {
			continue;
		}
		if (!app->hello_done && now > app->hello_deadline_tsc) {
			hello_refuse(app, -ETIMEDOUT, "no HELLO in time");
			continue;
		}
		pfd[n].fd = app->sock;
		pfd[n].events = POLLIN | POLLRDHUP;
		who[n++] = app;
	}
	if (n == 0 || poll(pfd, (nfds_t)n, 0) <= 0) {
		return 0;
	}
	for (i = 0; i < n; i++) {
		if (pfd[i].revents == 0) {
			continue;
		}
		work++;
		if (who[i] == NULL) {
			accept_new(p);
		} else if (!who[i]->hello_done) {
			hello_rx(who[i]);
		} else {
			/* Programs say nothing after HELLO: this is their end. */
			proxy_app_kill(who[i], (pfd[i].revents & POLLIN) &&
				       !(pfd[i].revents & (POLLHUP | POLLRDHUP)) ?
				       "cut off: unexpected message" : "program went away");
		}
	}
	return work;
}

/* ------------------------------------------------------ listening */

int
rpci_proxy_listen_at(struct rpci_proxy *p, const char *path, uint32_t mode)
{
	int fd;

	if (p->listen_fd >= 0) {
		return -EALREADY;
	}
	fd = rpci_ipc_listen(path, SOCK_SEQPACKET, (uid_t)-1, (gid_t)-1, (mode_t)mode, 64,
			     &p->sock_dev, &p->sock_ino);
	if (fd < 0) {
		return fd;
	}
	p->listen_fd = fd;
	snprintf(p->sock_path, sizeof(p->sock_path), "%.107s", path);
	return 0;
}

int
rpci_proxy_listen(struct rpci_proxy *p)
{
	const struct rpci_conf_proxy *px = &p->host->proxy;
	uid_t owner;
	gid_t group;
	int fd;

	fd = rpci_ipc_ids(px->owner, px->group, &owner, &group);
	if (fd < 0) {
		return fd;
	}
	fd = rpci_ipc_listen(px->socket, SOCK_SEQPACKET, owner, group, px->mode, 64,
			     &p->sock_dev, &p->sock_ino);
	if (fd < 0) {
		return fd;
	}
	p->listen_fd = fd;
	snprintf(p->sock_path, sizeof(p->sock_path), "%.107s", px->socket);
	return 0;
}
