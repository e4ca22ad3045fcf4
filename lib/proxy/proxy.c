/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * lib/proxy: the client daemon's core. One poll loop does everything, as
 * the other daemons' do: the link (frames in and out, sessions' timers),
 * each program's ring and devices, the sockets (new programs, programs
 * gone) at most once a millisecond, the selector's timers, and the
 * heartbeat every program watches. Nothing blocks: opening and closing
 * sessions, asking the selector and waiting for acks are states that later
 * turns of the loop move on.
 */

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_pause.h>

#include "client_transport.h"
#include "proxy_private.h"

RTE_LOG_REGISTER(rpci_proxy_logtype, rpci.lib.proxy, INFO);

#define BEAT_US 1000           /* heartbeat into the programs' control pages */
#define STOP_NOTICE_MS 200     /* servers acknowledge the port-stop notice */

uint64_t
proxy_now(void)
{
	return rte_get_timer_cycles();
}

uint64_t
proxy_ms_tsc(const struct rpci_proxy *p, uint64_t ms)
{
	return p->hz * ms / 1000;
}

void
proxy_remember_peer(struct rpci_proxy *p, const struct rte_ether_addr *mac)
{
	uint32_t i;

	for (i = 0; i < p->nb_peers; i++) {
		if (rte_is_same_ether_addr(&p->peers[i], mac)) {
			return;
		}
	}
	if (p->nb_peers < SERVER_PEERS_MAX) {
		rte_ether_addr_copy(mac, &p->peers[p->nb_peers++]);
	}
}

struct rpci_proxy *
rpci_proxy_create(const struct rpci_conf *conf, const char *host, char *err, size_t err_len)
{
	const struct rpci_conf_host *h;
	struct rpci_proxy *p;
	int ret;

	if (conf == NULL || host == NULL) {
		snprintf(err, err_len, "no configuration or host given");
		rte_errno = EINVAL;
		return NULL;
	}
	h = rpci_conf_host_find(conf, host);
	if (h == NULL || !(h->roles & RPCI_ROLE_CLIENT)) {
		snprintf(err, err_len, "'%s' is not a client host of %s", host, conf->path);
		rte_errno = EINVAL;
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL) {
		snprintf(err, err_len, "out of memory");
		rte_errno = ENOMEM;
		return NULL;
	}
	p->conf = conf;
	p->host = h;
	p->host_index = (uint16_t)(h - conf->hosts);
	p->hz = rte_get_timer_hz();
	p->listen_fd = -1;
	p->max_apps = RTE_MIN(h->proxy.max_programs, (uint32_t)PROXY_APPS_MAX);
	p->doorbell_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (p->doorbell_fd < 0) {
		ret = errno;
		snprintf(err, err_len, "cannot make an eventfd: %s", strerror(ret));
		goto free_p;
	}
	p->link = rpci_link_create_for_host(conf, h, &proxy_link_ops, p, OPEN_TIMEOUT_MS,
					    &p->port_info, err, err_len);
	if (p->link == NULL) {
		ret = rte_errno;
		goto close_fd;
	}
	p->max_payload = rpci_link_max_payload(p->link);
	ret = proxy_sel_init(p, err, err_len);
	if (ret < 0) {
		ret = -ret;
		goto free_link;
	}
	rpci_idle_init(&p->idle, h->idle == RPCI_IDLE_ADAPTIVE, conf->link.spin_polls,
		       conf->link.sleep_max_us);
	p->idle_sleep_us = 1;
	p->next_beat_tsc = proxy_now();
	return p;

free_link:
	rpci_link_free(p->link);
close_fd:
	close(p->doorbell_fd);
free_p:
	free(p);
	rte_errno = ret;
	return NULL;
}

int
rpci_proxy_set_session_security(struct rpci_proxy *p, uint8_t security)
{
	if (p == NULL || security > RPCI_LINK_SEC_ENCRYPT ||
	    (!rpci_link_auth_on(p->link) && security != RPCI_LINK_SEC_DEFAULT &&
	     security != RPCI_LINK_SEC_NONE)) {
		return -EINVAL;
	}
	p->session_security = security;
	return 0;
}

static void
heartbeat(struct rpci_proxy *p, uint64_t now)
{
	uint32_t i;

	if (now < p->next_beat_tsc) {
		return;
	}
	p->next_beat_tsc = now + p->hz * BEAT_US / 1000000;
	p->heartbeat++;
	for (i = 0; i < PROXY_APPS_MAX; i++) {
		struct proxy_app *app = p->apps[i];

		if (app != NULL && app->cp != NULL && !app->dying) {
			__atomic_store_n(&app->cp->heartbeat, p->heartbeat, __ATOMIC_RELAXED);
		}
	}
}

int
rpci_proxy_poll(struct rpci_proxy *p)
{
	uint64_t now = proxy_now();
	int work;
	uint32_t i;

	work = rpci_link_poll(p->link);
	for (i = 0; i < PROXY_APPS_MAX; i++) {
		if (p->apps[i] != NULL) {
			work += proxy_app_poll(p->apps[i]);
		}
	}
	/* What the programs queued leaves now, not a poll later. */
	rpci_link_flush(p->link);
	work += proxy_sock_poll(p, false);
	work += proxy_sel_timers(p);
	heartbeat(p, now);
	return work;
}

void
rpci_proxy_idle(struct rpci_proxy *p, int work)
{
	struct pollfd pfd[PROXY_APPS_MAX + 2];
	struct timespec ts;
	uint64_t drain;
	uint32_t i;
	nfds_t n = 0;

	if (work > 0) {
		p->idle_empty = 0;
		p->idle_sleep_us = 1;
		return;
	}
	if (!p->idle.adaptive) {
		rte_pause();
		return;
	}
	if (++p->idle_empty < p->idle.spin_polls) {
		rte_pause();
		return;
	}
	/*
	 * Sleep, but wake at once when a program rings the doorbell or a socket
	 * has news: the programs see that we sleep and ring only then.
	 */
	pfd[n].fd = p->doorbell_fd;
	pfd[n++].events = POLLIN;
	if (p->listen_fd >= 0) {
		pfd[n].fd = p->listen_fd;
		pfd[n++].events = POLLIN;
	}
	for (i = 0; i < PROXY_APPS_MAX; i++) {
		struct proxy_app *app = p->apps[i];

		if (app != NULL && app->cp != NULL && !app->dying) {
			__atomic_store_n(&app->cp->proxy_sleeping, 1, __ATOMIC_SEQ_CST);
		}
		if (app != NULL && !app->local && app->sock >= 0) {
			pfd[n].fd = app->sock;
			pfd[n++].events = POLLIN | POLLRDHUP;
		}
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	/* A request that came just before the flag went up is not slept over. */
	for (i = 0; i < PROXY_APPS_MAX; i++) {
		struct proxy_app *app = p->apps[i];

		if (app != NULL && app->cp != NULL && !app->dying && app->hello_done &&
		    rpci_ipc_load(&app->cp->req.prod) != app->req_cons) {
			p->idle_sleep_us = 0;
		}
	}
	if (p->idle_sleep_us > 0) {
		uint32_t us = p->idle.sleep_max_us == 0 ? 0 : p->idle_sleep_us;

		ts.tv_sec = 0;
		ts.tv_nsec = (long)us * 1000;
		if (ppoll(pfd, n, &ts, NULL) > 0 && (pfd[0].revents & POLLIN)) {
			if (read(p->doorbell_fd, &drain, sizeof(drain)) < 0) {
				drain = 0;
			}
		}
		uint32_t cap = p->idle.sleep_max_us > 0 ? p->idle.sleep_max_us : 1;

		p->idle_sleep_us = RTE_MIN(p->idle_sleep_us * 2, cap);
	} else {
		p->idle_sleep_us = 1;
	}
	for (i = 0; i < PROXY_APPS_MAX; i++) {
		struct proxy_app *app = p->apps[i];

		if (app != NULL && app->cp != NULL && !app->dying) {
			__atomic_store_n(&app->cp->proxy_sleeping, 0, __ATOMIC_SEQ_CST);
		}
	}
	/* The sockets had news: look at them now. */
	proxy_sock_poll(p, true);
}

void
rpci_proxy_destroy(struct rpci_proxy *p)
{
	uint64_t deadline;
	uint32_t i, k, busy;

	if (p == NULL) {
		return;
	}
	p->stopping = true;
	rpci_ipc_unlisten(p->listen_fd, p->sock_path, p->sock_dev, p->sock_ino);
	p->listen_fd = -1;
	for (i = 0; i < PROXY_APPS_MAX; i++) {
		struct proxy_app *app = p->apps[i];

		if (app != NULL && app->cp != NULL) {
			__atomic_store_n(&app->cp->proxy_closing, 1, __ATOMIC_RELEASE);
			app->need_wake = true;
			proxy_app_wake(app);
		}
		if (app != NULL) {
			proxy_app_kill(app, "the proxy stops");
		}
	}
	/* Sessions close in order (bounded), leases are released. */
	deadline = proxy_now() + proxy_ms_tsc(p, CLOSE_TIMEOUT_MS);
	do {
		rpci_link_poll(p->link);
		proxy_sel_timers(p);
		busy = 0;
		for (i = 0; i < PROXY_APPS_MAX; i++) {
			struct proxy_app *app = p->apps[i];

			if (app == NULL) {
				continue;
			}
			for (k = 0; k < RPCI_IPC_DEVICES_MAX; k++) {
				if (app->dev[k].state != PD_FREE) {
					proxy_dev_timers(&app->dev[k]);
					busy += app->dev[k].state != PD_FREE;
				}
			}
		}
		if (busy > 0) {
			rte_delay_us_sleep(50);
		}
	} while (busy > 0 && proxy_now() < deadline);
	/* Give the RELEASEs a moment to be acknowledged. */
	if (p->with_selector) {
		deadline = proxy_now() + proxy_ms_tsc(p, 300);
		do {
			rpci_link_poll(p->link);
			rpci_ctrl_chan_poll(rpci_ctrlnode_client_chan(p->sel));
			rte_delay_us_sleep(50);
		} while (rpci_ctrlnode_client_pending(p->sel) > 0 && proxy_now() < deadline);
	}
	rpci_link_port_stop_notice(p->link, p->peers, p->nb_peers, STOP_NOTICE_MS);
	for (i = 0; i < PROXY_APPS_MAX; i++) {
		if (p->apps[i] != NULL) {
			proxy_app_free(p->apps[i]);
		}
	}
	proxy_sel_fini(p);
	rpci_link_free(p->link);
	close(p->doorbell_fd);
	free(p);
}

struct rpci_link *
rpci_proxy_link(const struct rpci_proxy *p)
{
	return p->link;
}

struct rpci_ctrl_chan *
rpci_proxy_ctrl_chan(const struct rpci_proxy *p)
{
	return p->sel != NULL ? rpci_ctrlnode_client_chan(p->sel) : NULL;
}

struct rpci_auth *
rpci_proxy_auth(const struct rpci_proxy *p)
{
	return p->auth;
}

void
rpci_proxy_stats_get(const struct rpci_proxy *p, struct rpci_proxy_stats *stats)
{
	*stats = p->stats;
}

const char *
rpci_proxy_socket_path(const struct rpci_proxy *p)
{
	return p->listen_fd >= 0 ? p->sock_path : "";
}

unsigned int
rpci_proxy_apps(const struct rpci_proxy *p, struct rpci_proxy_app_info *out, unsigned int n)
{
	unsigned int count = 0;
	uint32_t i, k;

	for (i = 0; i < PROXY_APPS_MAX; i++) {
		const struct proxy_app *app = p->apps[i];
		struct rpci_proxy_app_info *a;

		if (app == NULL || app->dying || !app->hello_done) {
			continue;
		}
		if (count < n) {
			a = &out[count];
			memset(a, 0, sizeof(*a));
			a->id = app->id;
			snprintf(a->name, sizeof(a->name), "%s", app->name);
			a->pid = app->local ? 0 : (int)app->pid;
			a->uid = (uint32_t)app->uid;
			a->requester_id = app->requester_id;
			for (k = 0; k < RPCI_IPC_DEVICES_MAX; k++) {
				a->devices += app->dev[k].state != PD_FREE;
			}
			a->shm_bytes = app->shm_size;
			a->requests = app->requests;
			a->bytes_out = app->bytes_out;
			a->bytes_in = app->bytes_in;
			a->errors = app->errors;
		}
		count++;
	}
	return count;
}

unsigned int
rpci_proxy_devices(const struct rpci_proxy *p, struct rpci_proxy_dev_info *out, unsigned int n)
{
	unsigned int count = 0;
	uint32_t i, k;

	for (i = 0; i < PROXY_APPS_MAX; i++) {
		const struct proxy_app *app = p->apps[i];

		if (app == NULL) {
			continue;
		}
		for (k = 0; k < RPCI_IPC_DEVICES_MAX; k++) {
			const struct proxy_dev *d = &app->dev[k];
			struct rpci_proxy_dev_info *o;

			if (d->state == PD_FREE) {
				continue;
			}
			if (count < n) {
				o = &out[count];
				memset(o, 0, sizeof(*o));
				o->app_id = app->id;
				o->slot = k;
				o->state = proxy_dev_state_name(d->state);
				snprintf(o->server, sizeof(o->server), "%s", d->server);
				snprintf(o->device, sizeof(o->device), "%s", d->device);
				o->lease_id = d->lease_id;
				o->completer_id = d->completer_id;
				o->vendor_device = (d->cfg_read & 1) ? d->cfg[0] : 0;
				o->class_rev = (d->cfg_read & 4) ? d->cfg[2] : 0;
			}
			count++;
		}
	}
	return count;
}

/* ------------------------------------------ a program in this process */

static int
local_hello(void *arg, int memfd, uint8_t *shm, uint64_t shm_size, const char *name,
	    struct rpci_ipc_hello_ack *ack)
{
	struct rpci_proxy *p = arg;
	struct proxy_app *app;

	RTE_SET_USED(memfd);
	app = proxy_app_new(p, true);
	if (app == NULL) {
		return -errno;
	}
	snprintf(app->name, sizeof(app->name), "%s", name);
	app->pid = getpid();
	app->uid = getuid();
	proxy_app_attach_shm(app, shm, shm_size);
	app->hello_done = true;
	p->stats.programs++;
	memset(ack, 0, sizeof(*ack));
	ack->magic = RPCI_IPC_MAGIC;
	ack->version = RPCI_IPC_VERSION;
	ack->type = RPCI_IPC_HELLO_ACK;
	ack->flags = p->with_selector ? RPCI_IPC_F_SELECTOR : 0;
	ack->app_id = app->id;
	ack->requester_id = app->requester_id;
	ack->iova_base = app->iova_base;
	ack->max_payload = p->max_payload;
	ack->dead_ms = p->conf->link.dead_ms;
	ack->request_timeout_ms = p->conf->link.request_timeout_ms;
	ack->heartbeat_us = BEAT_US;
	snprintf(ack->host, sizeof(ack->host), "%s", p->host->name);
	/*
	 * Its id, not its slot: a program cut off is freed at once, and its
	 * slot may serve another program before the first one says bye.
	 */
	return (int)(app->id & INT32_MAX);
}

static int
local_progress(void *arg)
{
	return rpci_proxy_poll(arg);
}

static void
local_idle(void *arg, int work)
{
	struct rpci_proxy *p = arg;

	rpci_idle_account(&p->idle, work);
}

static void
local_bye(void *arg, int handle)
{
	struct rpci_proxy *p = arg;
	struct proxy_app *app;
	uint32_t i;

	for (i = 0; i < PROXY_APPS_MAX; i++) {
		app = p->apps[i];
		if (app != NULL && app->local && (int)(app->id & INT32_MAX) == handle) {
			proxy_app_kill(app, "closed");
			proxy_app_poll(app); /* an embedded program's memory goes now: free it */
			return;
		}
	}
	/* gone already (cut off): nothing of it is left here */
}

static const struct rpci_client_transport g_local_transport = {
	.hello = local_hello,
	.progress = local_progress,
	.idle = local_idle,
	.bye = local_bye,
};

struct rpci_client *
rpci_proxy_client_create(struct rpci_proxy *p, const char *name)
{
	if (p == NULL) {
		errno = EINVAL;
		return NULL;
	}
	return rpci_client_create_with(&g_local_transport, p, name);
}
