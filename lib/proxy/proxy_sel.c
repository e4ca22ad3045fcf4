/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * The client host and the server selector: lib/ctrlnode's client endpoint
 * holds the conversation (requests, leases, renewals, failover
 * attachments, texts, reports); this file ties it to the proxy's programs:
 * one request per program at a time, several programs at once, the
 * devices opened when a request's attachments are in, the program
 * answered, the devices of a lease the selector ends marked lost. The
 * selector knows the host by its port's MAC: every program's leases are
 * this host's, and the proxy keeps which program holds which.
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ether.h>

#include "proxy_private.h"
#include "rpci_auth.h"

_Static_assert(RPCI_IPC_REQUEST_MAX <= RPCI_CTRLNODE_REQUEST_COUNT_MAX,
	       "a program's request fits one selector request");

static const struct rpci_ctrlnode_client_ops g_sel_ops;

int
proxy_sel_init(struct rpci_proxy *p, char *err, size_t err_len)
{
	const struct rpci_conf_selector *cs = &p->conf->selector;
	struct rpci_ctrlnode_params params;
	uint32_t i;
	int ret;

	for (i = 0; i < SEL_REQUESTS_MAX; i++) {
		p->sreq[i].in_use = false;
	}
	if (!cs->present) {
		return 0;
	}
	if (rpci_conf_host_find(p->conf, cs->host) == NULL) {
		snprintf(err, err_len, "selector host '%s' is not in %s", cs->host, p->conf->path);
		return -EINVAL;
	}
	p->auth = rpci_auth_create(p->conf, p->host->name, err, err_len);
	if (p->auth == NULL) {
		return errno != 0 ? -errno : -EINVAL;
	}
	memset(&params, 0, sizeof(params));
	params.conf = p->conf;
	params.host = p->host;
	params.auth = p->auth;
	params.io.link = p->link;
	p->sel = rpci_ctrlnode_client_create(&params, &g_sel_ops, p);
	if (p->sel == NULL) {
		ret = -errno;
		snprintf(err, err_len, "cannot set up the control channel to the selector: %s",
			 strerror(errno));
		proxy_sel_fini(p);
		return ret;
	}
	p->with_selector = true;
	/* Long enough for the selector to notice the server is down and answer. */
	p->failover_wait_tsc = p->hz * ((uint64_t)cs->heartbeat_ms * (cs->missed_heartbeats + 2) +
					p->conf->link.dead_ms + 2000) / 1000;
	return 0;
}

void
proxy_sel_fini(struct rpci_proxy *p)
{
	rpci_ctrlnode_client_free(p->sel);
	p->sel = NULL;
	rpci_auth_free(p->auth);
	p->auth = NULL;
}

void
proxy_sel_release(struct rpci_proxy *p, uint64_t lease_id)
{
	if (!p->with_selector || lease_id == 0) {
		return;
	}
	rpci_ctrlnode_client_release(p->sel, lease_id);
}

/*
 * The request ends: answer the program; on failure give back every
 * attachment (the devices already open close, which releases theirs;
 * failed, if not NULL, is the device whose opening failed).
 */
static void
sreq_finish(struct sel_request *q, int status, struct proxy_dev *failed)
{
	struct proxy_app *app = q->app;
	struct rpci_ipc_request_reply *rep;
	uint32_t i, reply_len;

	for (i = 0; i < q->count; i++) {
		app->dev[q->slots[i]].sel_req = -1;
	}
	/* An OPEN that named no server came here too: its reply has one device. */
	if (q->ctrl.op == RPCI_IPC_OP_OPEN) {
		struct rpci_ipc_open_reply *orep = proxy_app_reply(app, &q->ctrl);

		if (status == 0 && orep != NULL) {
			proxy_dev_info(&app->dev[q->slots[0]], &orep->info);
		}
		reply_len = sizeof(*orep);
	} else {
		rep = proxy_app_reply(app, &q->ctrl);
		if (status == 0 && rep != NULL) {
			rep->count = q->count;
			for (i = 0; i < q->count; i++) {
				proxy_dev_info(&app->dev[q->slots[i]], &rep->info[i]);
			}
		}
		reply_len = sizeof(*rep);
	}
	for (i = 0; status < 0 && i < q->nb_att; i++) {
		struct proxy_dev *d = i < q->count ? &app->dev[q->slots[i]] : NULL;

		if (d != NULL && d != failed && d->state != PD_FREE &&
		    d->lease_id == q->att[i].lease_id) {
			proxy_dev_close(d, true);
		} else {
			proxy_sel_release(app->p, q->att[i].lease_id);
			if (d != NULL && d->lease_id == q->att[i].lease_id) {
				d->lease_id = 0;
			}
		}
	}
	proxy_ctrl_done(app, &q->ctrl, status, reply_len, q->reason);
	q->in_use = false;
}

int
proxy_sel_request(struct proxy_app *app, const struct rpci_ipc_request_params *rp,
		  const struct pctrl *c)
{
	struct rpci_proxy *p = app->p;
	const struct rpci_ipc_requirements *r = &rp->req;
	struct rpci_sel_requirements req;
	struct sel_request *q = NULL;
	struct pctrl answer = *c;
	uint32_t i;
	int ret;

	for (i = 0; i < SEL_REQUESTS_MAX; i++) {
		if (p->sreq[i].in_use && p->sreq[i].app == app) {
			proxy_ctrl_done(app, &answer, -EBUSY, 0, "a request of this program is "
					"already in flight");
			return -EBUSY;
		}
		if (!p->sreq[i].in_use && q == NULL) {
			q = &p->sreq[i];
		}
	}
	if (q == NULL) {
		proxy_ctrl_done(app, &answer, -EAGAIN, 0, "too many requests in flight");
		return -EAGAIN;
	}
	memset(&req, 0, sizeof(req));
	req.vendor_id = r->vendor_id;
	req.class_code = r->class_code;
	req.class_mask = r->class_mask;
	req.min_memory = r->min_memory;
	snprintf(req.backend, sizeof(req.backend), "%s", r->backend);
	req.module_kinds = r->module_kinds;
	snprintf(req.kernel, sizeof(req.kernel), "%s", r->kernel);
	snprintf(req.job, sizeof(req.job), "%s", r->job);
	req.job_size = r->job_size;
	req.failover = !r->no_failover;
	memset(q, 0, sizeof(*q));
	q->in_use = true;
	q->app = app;
	q->ctrl = *c;
	q->count = rp->count;
	q->failover = req.failover;
	memcpy(q->slots, rp->slots, sizeof(q->slots));
	for (i = 0; i < q->count; i++) {
		app->dev[q->slots[i]].sel_req = (int)(q - p->sreq);
	}
	ret = rpci_ctrlnode_client_request(p->sel, &req, q->count, q, &q->id);
	if (ret < 0) {
		for (i = 0; i < q->count; i++) {
			app->dev[q->slots[i]].sel_req = -1;
		}
		q->in_use = false;
		proxy_ctrl_done(app, &answer, ret, 0, "cannot ask the selector");
		return ret;
	}
	return 0;
}

/* Every attachment of a request is in: open the devices. */
static void
sel_attached(void *arg, void *req_arg, uint64_t request_id, const struct rpci_sel_attachment *att,
	     uint32_t count)
{
	struct sel_request *q = req_arg;
	struct proxy_app *app = q->app;
	uint32_t i;

	RTE_SET_USED(arg);
	if (!q->in_use || q->id != request_id) {
		return;
	}
	q->nb_att = RTE_MIN(count, (uint32_t)RPCI_IPC_REQUEST_MAX);
	memcpy(q->att, att, q->nb_att * sizeof(q->att[0]));
	for (i = 0; i < q->count && i < q->nb_att; i++) {
		struct proxy_dev *d = &app->dev[q->slots[i]];

		d->request_id = q->id;
		d->failover = q->failover;
		proxy_dev_connect(d, (const struct rte_ether_addr *)att[i].server_mac,
				  att[i].function, att[i].lease_id, att[i].server, att[i].device);
		if (app->dying || !q->in_use) {
			return; /* a connect failed at once and ended the request */
		}
	}
}

/* The selector refused a request, or did not answer. */
static void
sel_request_failed(void *arg, void *req_arg, uint64_t request_id, int error, const char *reason)
{
	struct sel_request *q = req_arg;

	RTE_SET_USED(arg);
	if (!q->in_use || q->id != request_id) {
		return;
	}
	snprintf(q->reason, sizeof(q->reason), "%s", reason);
	sreq_finish(q, error, NULL);
}

void
proxy_sel_dev_opened(struct proxy_dev *d, int status)
{
	struct rpci_proxy *p = d->app->p;
	struct sel_request *q;
	uint32_t i, open = 0;

	if (d->sel_req < 0 || d->sel_req >= SEL_REQUESTS_MAX) {
		return;
	}
	q = &p->sreq[d->sel_req];
	if (!q->in_use) {
		return;
	}
	if (status < 0) {
		snprintf(q->reason, sizeof(q->reason), "%.24s/%.24s: %.70s", d->server, d->device,
			 d->reason);
		sreq_finish(q, status, d);
		return;
	}
	for (i = 0; i < q->count; i++) {
		open += d->app->dev[q->slots[i]].state == PD_OPEN;
	}
	if (open == q->count) {
		sreq_finish(q, 0, NULL);
	}
}

void
proxy_sel_app_gone(struct proxy_app *app)
{
	struct rpci_proxy *p = app->p;
	uint32_t i;

	for (i = 0; i < SEL_REQUESTS_MAX; i++) {
		struct sel_request *q = &p->sreq[i];

		if (q->in_use && q->app == app) {
			/* Still asking: what came of it goes back (-ENOENT: all came). */
			rpci_ctrlnode_client_request_cancel(p->sel, q->id);
			snprintf(q->reason, sizeof(q->reason), "program gone");
			sreq_finish(q, -ECANCELED, NULL);
		}
	}
}

/* The selector ended a lease: the device that holds it is lost. */
static void
sel_lease_lost(void *arg, uint64_t lease_id, const char *reason, bool failover)
{
	struct rpci_proxy *p = arg;
	uint32_t i, k;

	RTE_SET_USED(failover); /* the program reconnects; the failover ATTACH waits for it */
	for (i = 0; i < PROXY_APPS_MAX; i++) {
		struct proxy_app *app = p->apps[i];

		if (app == NULL) {
			continue;
		}
		for (k = 0; k < RPCI_IPC_DEVICES_MAX; k++) {
			struct proxy_dev *d = &app->dev[k];

			if (d->lease_id != 0 && d->lease_id == lease_id &&
			    (d->state == PD_OPEN || d->state == PD_SNAPSHOT)) {
				char why[RPCI_SEL_REASON_MAX + 32];

				snprintf(why, sizeof(why), "the selector ended lease %" PRIu64
					 ": %.100s", d->lease_id, reason);
				proxy_dev_lost(d, why);
			}
		}
	}
}

/* A text from another client host: into the inbox the programs read. */
static void
sel_text(void *arg, const char *from, const char *text)
{
	struct rpci_proxy *p = arg;
	uint32_t t = p->inbox_tail;

	if (t - p->inbox_head < SEL_INBOX_MAX) {
		snprintf(p->inbox[t % SEL_INBOX_MAX].from, RPCI_IPC_NAME_MAX, "%s", from);
		snprintf(p->inbox[t % SEL_INBOX_MAX].text, RPCI_IPC_TEXT_MAX, "%s", text);
		p->inbox_tail++;
	}
}

static bool
sel_holds_leases(void *arg)
{
	return proxy_sel_has_leases(arg);
}

static const struct rpci_ctrlnode_client_ops g_sel_ops = {
	.attached = sel_attached,
	.request_failed = sel_request_failed,
	.lease_lost = sel_lease_lost,
	.text = sel_text,
	.holds_leases = sel_holds_leases,
};

void
proxy_sel_rx(struct rpci_link *link, const struct rte_ether_addr *src, const void *body,
	     uint16_t len, void *arg)
{
	struct rpci_proxy *p = arg;

	RTE_SET_USED(link);
	if (p->sel != NULL) {
		rpci_ctrlnode_client_rx(p->sel, src->addr_bytes, body, len);
	}
}

bool
proxy_sel_has_leases(const struct rpci_proxy *p)
{
	uint32_t i, k;

	for (i = 0; i < PROXY_APPS_MAX; i++) {
		const struct proxy_app *app = p->apps[i];

		if (app == NULL) {
			continue;
		}
		for (k = 0; k < RPCI_IPC_DEVICES_MAX; k++) {
			if (app->dev[k].lease_id != 0) {
				return true;
			}
		}
	}
	return false;
}

int
proxy_sel_timers(struct rpci_proxy *p)
{
	if (!p->with_selector) {
		return 0;
	}
	return rpci_ctrlnode_client_poll(p->sel);
}

int
proxy_sel_report(struct proxy_dev *d, const struct rpci_ipc_report_params *r)
{
	return rpci_ctrlnode_client_report(d->app->p->sel, d->lease_id, r->job, r->job_size,
					   r->elapsed_us);
}

int
proxy_sel_message(struct rpci_proxy *p, const char *to, const char *text)
{
	return rpci_ctrlnode_client_message(p->sel, to, text);
}

bool
proxy_sel_take_failover(struct rpci_proxy *p, uint64_t request_id,
			struct rpci_sel_attachment *att)
{
	if (!p->with_selector) {
		return false;
	}
	return rpci_ctrlnode_client_take_failover(p->sel, request_id, att);
}
