/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * The client host and the server selector: requests for devices by
 * requirements (one per program at a time, several programs at once),
 * lease renewal and release, job reports, texts between client hosts, and
 * the failover attachments that replace devices whose server went down.
 * The selector knows the host by its port's MAC: every program's leases
 * are this host's, and the proxy keeps which program holds which.
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ether.h>

#include "proxy_private.h"
#include "rpci_auth.h"

#define RETRY_MS 50
#define RETRY_MAX 40
#define REQUEST_RETRY_MS 250
#define REQUEST_TIMEOUT_MS 5000

int
proxy_sel_init(struct rpci_proxy *p, char *err, size_t err_len)
{
	const struct rpci_conf_selector *cs = &p->conf->selector;
	const struct rpci_conf_host *sh;
	uint32_t i;
	int ret;

	for (i = 0; i < SEL_REQUESTS_MAX; i++) {
		p->sreq[i].in_use = false;
	}
	if (!cs->present) {
		return 0;
	}
	sh = rpci_conf_host_find(p->conf, cs->host);
	if (sh == NULL) {
		snprintf(err, err_len, "selector host '%s' is not in %s", cs->host, p->conf->path);
		return -EINVAL;
	}
	memcpy(p->selector_mac.addr_bytes, sh->mac, 6);
	p->auth = rpci_auth_create(p->conf, p->host->name, err, err_len);
	if (p->auth == NULL) {
		return errno != 0 ? -errno : -EINVAL;
	}
	p->chan = rpci_ctrl_chan_create(p->link, RETRY_MS, RETRY_MAX, 64,
					(rte_get_timer_cycles() & 0xffffffffull) << 28);
	if (p->chan == NULL) {
		snprintf(err, err_len, "cannot create the control channel");
		proxy_sel_fini(p);
		return -ENOMEM;
	}
	/* Only the selector's ATTACH, REJECT, DETACH and MESSAGE are taken. */
	ret = rpci_ctrl_chan_secure(p->chan, p->auth, RPCI_ROLE_CLIENT);
	if (ret < 0) {
		snprintf(err, err_len, "cannot secure the control channel: %s", strerror(-ret));
		proxy_sel_fini(p);
		return ret;
	}
	p->with_selector = true;
	/* Renew three times a lease. */
	p->renew_tsc = p->hz * cs->lease_ms / 3000;
	p->next_renew_tsc = rte_get_timer_cycles() + p->renew_tsc;
	/* Long enough for the selector to notice the server is down and answer. */
	p->failover_wait_tsc = p->hz * ((uint64_t)cs->heartbeat_ms * (cs->missed_heartbeats + 2) +
					p->conf->link.dead_ms + 2000) / 1000;
	return 0;
}

void
proxy_sel_fini(struct rpci_proxy *p)
{
	rpci_ctrl_chan_free(p->chan);
	p->chan = NULL;
	rpci_auth_free(p->auth);
	p->auth = NULL;
}

static struct sel_request *
sreq_find(struct rpci_proxy *p, uint64_t id)
{
	uint32_t i;

	for (i = 0; i < SEL_REQUESTS_MAX; i++) {
		if (p->sreq[i].in_use && p->sreq[i].id == id) {
			return &p->sreq[i];
		}
	}
	return NULL;
}

static void
sel_send(struct rpci_proxy *p, struct rpci_ctrl_msg *m, bool reliable)
{
	if (reliable) {
		rpci_ctrl_chan_send_reliable(p->chan, p->selector_mac.addr_bytes, m);
	} else {
		rpci_ctrl_chan_send(p->chan, p->selector_mac.addr_bytes, m);
	}
}

void
proxy_sel_release(struct rpci_proxy *p, uint64_t lease_id)
{
	struct rpci_ctrl_msg m;

	if (!p->with_selector || lease_id == 0) {
		return;
	}
	memset(&m, 0, sizeof(m));
	m.type = RPCI_CTRL_RELEASE;
	m.u.release.lease_id = lease_id;
	sel_send(p, &m, true);
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
	struct sel_request *q = NULL;
	struct rpci_ctrl_msg m;
	struct pctrl answer = *c;
	uint32_t i;

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
	memset(q, 0, sizeof(*q));
	q->in_use = true;
	q->app = app;
	q->ctrl = *c;
	q->count = rp->count;
	memcpy(q->slots, rp->slots, sizeof(q->slots));
	q->req.vendor_id = r->vendor_id;
	q->req.class_code = r->class_code;
	q->req.class_mask = r->class_mask;
	q->req.min_memory = r->min_memory;
	snprintf(q->req.backend, sizeof(q->req.backend), "%s", r->backend);
	q->req.module_kinds = r->module_kinds;
	snprintf(q->req.kernel, sizeof(q->req.kernel), "%s", r->kernel);
	snprintf(q->req.job, sizeof(q->req.job), "%s", r->job);
	q->req.job_size = r->job_size;
	q->req.failover = !r->no_failover;
	q->id = rpci_ctrl_chan_next_id(p->chan);
	for (i = 0; i < q->count; i++) {
		app->dev[q->slots[i]].sel_req = (int)(q - p->sreq);
	}
	memset(&m, 0, sizeof(m));
	m.type = RPCI_CTRL_REQUEST;
	m.id = q->id;
	m.u.request.req = q->req;
	m.u.request.count = q->count;
	q->start_tsc = q->last_sent_tsc = proxy_now();
	sel_send(p, &m, false);
	return 0;
}

/* Every attachment of a request is in: open the devices. */
static void
sreq_connect(struct sel_request *q)
{
	struct proxy_app *app = q->app;
	uint32_t i;

	q->connecting = true;
	for (i = 0; i < q->count; i++) {
		struct proxy_dev *d = &app->dev[q->slots[i]];
		const struct rpci_sel_attachment *att = &q->att[i];

		d->request_id = q->id;
		d->failover = q->req.failover;
		proxy_dev_connect(d, (const struct rte_ether_addr *)att->server_mac,
				  att->function, att->lease_id, att->server, att->device);
		if (q->app->dying || !q->in_use) {
			return; /* a connect failed at once and ended the request */
		}
	}
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
			snprintf(q->reason, sizeof(q->reason), "program gone");
			sreq_finish(q, -ECANCELED, NULL);
		}
	}
}

static void
on_attach(struct rpci_proxy *p, const struct rpci_ctrl_msg *m)
{
	const struct rpci_sel_attachment *att = &m->u.attach.att;
	struct sel_request *q;
	uint32_t i;

	if (m->u.attach.failover) {
		for (i = 0; i < SEL_FAILOVER_MAX; i++) {
			if (p->fo[i].used && p->fo[i].att.lease_id == att->lease_id) {
				return; /* a repeat */
			}
		}
		for (i = 0; i < SEL_FAILOVER_MAX; i++) {
			if (!p->fo[i].used) {
				p->fo[i].used = true;
				p->fo[i].request_id = m->u.attach.request_id;
				p->fo[i].att = *att;
				PROXY_LOG(INFO, "the selector moves request %" PRIu64 " to %s/%s",
					  m->u.attach.request_id, att->server, att->device);
				return;
			}
		}
		return;
	}
	q = sreq_find(p, m->u.attach.request_id);
	if (q == NULL) {
		return; /* not ours, or given up: its lease lapses */
	}
	if (q->answered) {
		return;
	}
	for (i = 0; i < q->nb_att; i++) {
		if (q->att[i].lease_id == att->lease_id) {
			return; /* a repeat */
		}
	}
	if (q->nb_att < RPCI_IPC_REQUEST_MAX) {
		q->att[q->nb_att++] = *att;
	}
	if (q->nb_att == q->count) {
		q->answered = true;
		sreq_connect(q);
	}
}

static void
on_detach(struct rpci_proxy *p, const struct rpci_ctrl_msg *m)
{
	uint32_t i, k;

	for (i = 0; i < PROXY_APPS_MAX; i++) {
		struct proxy_app *app = p->apps[i];

		if (app == NULL) {
			continue;
		}
		for (k = 0; k < RPCI_IPC_DEVICES_MAX; k++) {
			struct proxy_dev *d = &app->dev[k];

			if (d->lease_id != 0 && d->lease_id == m->u.detach.lease_id &&
			    (d->state == PD_OPEN || d->state == PD_SNAPSHOT)) {
				char why[RPCI_SEL_REASON_MAX + 32];

				snprintf(why, sizeof(why), "the selector ended lease %" PRIu64
					 ": %.100s",
					 d->lease_id, m->u.detach.reason);
				proxy_dev_lost(d, why);
			}
		}
	}
}

void
proxy_sel_rx(struct rpci_link *link, const struct rte_ether_addr *src, const void *body,
	     uint16_t len, void *arg)
{
	struct rpci_proxy *p = arg;
	struct rpci_ctrl_msg m;
	struct sel_request *q;
	uint32_t t;

	RTE_SET_USED(link);
	if (p->chan == NULL || rpci_ctrl_chan_rx(p->chan, src->addr_bytes, body, len, &m) < 0) {
		return;
	}
	switch (m.type) {
	case RPCI_CTRL_ATTACH:
		on_attach(p, &m);
		rpci_ctrl_chan_ack(p->chan, src->addr_bytes, m.id, 0);
		break;
	case RPCI_CTRL_REJECT:
		q = sreq_find(p, m.u.reject.request_id);
		if (q != NULL && !q->answered) {
			q->answered = true;
			snprintf(q->reason, sizeof(q->reason), "the selector refused: %.100s",
				 m.u.reject.reason);
			sreq_finish(q, m.u.reject.error < 0 ? m.u.reject.error : -ENODEV, NULL);
		}
		break;
	case RPCI_CTRL_DETACH:
		on_detach(p, &m);
		rpci_ctrl_chan_ack(p->chan, src->addr_bytes, m.id, 0);
		break;
	case RPCI_CTRL_MESSAGE:
		/* Only the selector passes texts on (it checked who sent them). */
		if (!rte_is_same_ether_addr(src, &p->selector_mac)) {
			break;
		}
		t = p->inbox_tail;
		if (t - p->inbox_head < SEL_INBOX_MAX) {
			snprintf(p->inbox[t % SEL_INBOX_MAX].from, RPCI_IPC_NAME_MAX, "%s",
				 m.u.message.from);
			snprintf(p->inbox[t % SEL_INBOX_MAX].text, RPCI_IPC_TEXT_MAX, "%s",
				 m.u.message.text);
			p->inbox_tail++;
		}
		rpci_ctrl_chan_ack(p->chan, src->addr_bytes, m.id, 0);
		break;
	default:
		break;
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
	struct rpci_ctrl_msg m;
	uint64_t now;
	uint32_t i;
	int work;

	if (!p->with_selector) {
		return 0;
	}
	work = rpci_ctrl_chan_poll(p->chan);
	now = proxy_now();
	for (i = 0; i < SEL_REQUESTS_MAX; i++) {
		struct sel_request *q = &p->sreq[i];

		if (!q->in_use || q->answered) {
			continue;
		}
		if (now - q->start_tsc > proxy_ms_tsc(p, REQUEST_TIMEOUT_MS)) {
			snprintf(q->reason, sizeof(q->reason), "the selector (%s) did not answer",
				 p->conf->selector.host);
			q->answered = true;
			sreq_finish(q, -ETIMEDOUT, NULL);
			continue;
		}
		if (now - q->last_sent_tsc > proxy_ms_tsc(p, REQUEST_RETRY_MS)) {
			/* Asked again with the same id: the selector answers once. */
			memset(&m, 0, sizeof(m));
			m.type = RPCI_CTRL_REQUEST;
			m.id = q->id;
			m.u.request.req = q->req;
			m.u.request.count = q->count;
			sel_send(p, &m, false);
			q->last_sent_tsc = now;
		}
	}
	if (now >= p->next_renew_tsc) {
		if (proxy_sel_has_leases(p)) {
			memset(&m, 0, sizeof(m));
			m.type = RPCI_CTRL_RENEW;
			memcpy(m.u.renew.client_mac, p->host->mac, 6);
			sel_send(p, &m, false);
		}
		p->next_renew_tsc = now + p->renew_tsc;
	}
	return work;
}

int
proxy_sel_report(struct proxy_dev *d, const struct rpci_ipc_report_params *r)
{
	struct rpci_proxy *p = d->app->p;
	struct rpci_ctrl_msg m;

	memset(&m, 0, sizeof(m));
	m.type = RPCI_CTRL_REPORT;
	m.u.report.lease_id = d->lease_id;
	snprintf(m.u.report.job, sizeof(m.u.report.job), "%s", r->job);
	m.u.report.job_size = r->job_size;
	m.u.report.elapsed_us = r->elapsed_us;
	return rpci_ctrl_chan_send_reliable(p->chan, p->selector_mac.addr_bytes, &m);
}

int
proxy_sel_message(struct rpci_proxy *p, const char *to, const char *text)
{
	struct rpci_ctrl_msg m;

	memset(&m, 0, sizeof(m));
	m.type = RPCI_CTRL_MESSAGE;
	snprintf(m.u.message.from, sizeof(m.u.message.from), "%s", p->host->name);
	snprintf(m.u.message.to, sizeof(m.u.message.to), "%s", to);
	snprintf(m.u.message.text, sizeof(m.u.message.text), "%s", text);
	return rpci_ctrl_chan_send_reliable(p->chan, p->selector_mac.addr_bytes, &m);
}

bool
proxy_sel_take_failover(struct rpci_proxy *p, uint64_t request_id,
			struct rpci_sel_attachment *att)
{
	uint32_t i;

	for (i = 0; i < SEL_FAILOVER_MAX; i++) {
		if (p->fo[i].used && p->fo[i].request_id == request_id) {
			*att = p->fo[i].att;
			p->fo[i].used = false;
			return true;
		}
	}
	return false;
}
