/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * The client endpoint: a client host's conversation with the selector.
 * Requests for devices by requirements (several at once), asked again
 * until answered or timed out; the attachments collected until a request
 * has all of them; lease renewal while the owner holds leases; releases,
 * job reports and texts between client hosts; the failover attachments
 * that replace devices whose server went down, kept until the owner takes
 * them. The selector knows the host by its address: every lease is the
 * host's, and the owner keeps which of its users holds which.
 */

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "ctrlnode_private.h"

/* Reliable messages of the client waiting for ACKs at once. */
#define CLIENT_PENDING_MAX 64

/* A request in flight: not all its attachments are in. */
struct client_request {
	bool in_use;
	uint64_t id;
	void *req_arg;
	struct rpci_sel_requirements req;
	uint32_t count;
	struct rpci_sel_attachment att[RPCI_CTRLNODE_REQUEST_COUNT_MAX];
	uint32_t nb_att;
	uint64_t start_us;
	uint64_t last_sent_us;
};

struct rpci_ctrlnode_client {
	struct ctrlnode_base b;
	struct rpci_ctrlnode_client_ops ops;
	void *arg;
	uint64_t renew_us;
	uint64_t next_renew_us;
	struct client_request reqs[RPCI_CTRLNODE_REQUESTS_MAX];
	struct {
		bool used;
		uint64_t request_id;
		struct rpci_sel_attachment att;
	} fo[RPCI_CTRLNODE_FAILOVERS_MAX];
	struct rpci_ctrlnode_client_stats stats;
};

/* ctrlnode_new() makes it, ctrlnode_delete() frees it. */
_Static_assert(offsetof(struct rpci_ctrlnode_client, b) == 0, "the base comes first");

struct rpci_ctrlnode_client *
rpci_ctrlnode_client_create(const struct rpci_ctrlnode_params *params,
			    const struct rpci_ctrlnode_client_ops *ops, void *arg)
{
	struct rpci_ctrlnode_client *c;

	if (ops == NULL || ops->attached == NULL || ops->request_failed == NULL ||
	    ops->lease_lost == NULL || ops->text == NULL || ops->holds_leases == NULL) {
		errno = EINVAL;
		return NULL;
	}
	/* Only the selector's ATTACH, REJECT, DETACH and MESSAGE are taken. */
	c = ctrlnode_new(sizeof(*c), params, "client", RPCI_ROLE_CLIENT, CLIENT_PENDING_MAX, 28);
	if (c == NULL) {
		return NULL;
	}
	c->ops = *ops;
	c->arg = arg;
	/* Renew three times a lease. */
	c->renew_us = (uint64_t)params->conf->selector.lease_ms * 1000 / 3;
	c->next_renew_us = ctrlnode_now_us(&c->b) + c->renew_us;
	return c;
}

void
rpci_ctrlnode_client_free(struct rpci_ctrlnode_client *c)
{
	if (c != NULL) {
		ctrlnode_delete(&c->b);
	}
}

static struct client_request *
request_find(struct rpci_ctrlnode_client *c, uint64_t id)
{
	uint32_t i;

	for (i = 0; i < RPCI_CTRLNODE_REQUESTS_MAX; i++) {
		if (c->reqs[i].in_use && c->reqs[i].id == id) {
			return &c->reqs[i];
		}
	}
	return NULL;
}

/* (Again) the REQUEST of q: the same id, so that the selector answers it once. */
static void
request_send(struct rpci_ctrlnode_client *c, struct client_request *q, uint64_t now)
{
	struct rpci_ctrl_msg m;

	memset(&m, 0, sizeof(m));
	m.type = RPCI_CTRL_REQUEST;
	m.id = q->id;
	m.u.request.req = q->req;
	m.u.request.count = q->count;
	q->last_sent_us = now;
	ctrlnode_to_selector(&c->b, &m, false);
}

int
rpci_ctrlnode_client_request(struct rpci_ctrlnode_client *c,
			     const struct rpci_sel_requirements *req, uint32_t count,
			     void *req_arg, uint64_t *request_id)
{
	struct client_request *q = NULL;
	uint32_t i;

	if (req == NULL || count == 0 || count > RPCI_CTRLNODE_REQUEST_COUNT_MAX) {
		return -EINVAL;
	}
	for (i = 0; i < RPCI_CTRLNODE_REQUESTS_MAX && q == NULL; i++) {
		if (!c->reqs[i].in_use) {
			q = &c->reqs[i];
		}
	}
	if (q == NULL) {
		return -EAGAIN;
	}
	memset(q, 0, sizeof(*q));
	q->in_use = true;
	q->id = rpci_ctrl_chan_next_id(c->b.chan);
	q->req_arg = req_arg;
	q->req = *req;
	q->count = count;
	q->start_us = ctrlnode_now_us(&c->b);
	c->stats.requests++;
	if (request_id != NULL) {
		*request_id = q->id;
	}
	request_send(c, q, q->start_us);
	return 0;
}

/* A request is over: release what came of it. */
static void
request_drop(struct rpci_ctrlnode_client *c, struct client_request *q)
{
	uint32_t i;

	for (i = 0; i < q->nb_att; i++) {
		rpci_ctrlnode_client_release(c, q->att[i].lease_id);
	}
	q->in_use = false;
}

int
rpci_ctrlnode_client_request_cancel(struct rpci_ctrlnode_client *c, uint64_t request_id)
{
	struct client_request *q = request_find(c, request_id);

	if (q == NULL) {
		return -ENOENT;
	}
	request_drop(c, q);
	return 0;
}

/* The request failed: its attachments go back, the owner hears why. */
static void
request_fail(struct rpci_ctrlnode_client *c, struct client_request *q, int error,
	     const char *reason)
{
	void *req_arg = q->req_arg;
	uint64_t id = q->id;

	request_drop(c, q);
	c->ops.request_failed(c->arg, req_arg, id, error, reason);
}

int
rpci_ctrlnode_client_release(struct rpci_ctrlnode_client *c, uint64_t lease_id)
{
	struct rpci_ctrl_msg m;

	if (lease_id == 0) {
		return -EINVAL;
	}
	memset(&m, 0, sizeof(m));
	m.type = RPCI_CTRL_RELEASE;
	m.u.release.lease_id = lease_id;
	return ctrlnode_to_selector(&c->b, &m, true);
}

int
rpci_ctrlnode_client_report(struct rpci_ctrlnode_client *c, uint64_t lease_id, const char *job,
			    uint64_t job_size, uint64_t elapsed_us)
{
	struct rpci_ctrl_msg m;

	if (lease_id == 0 || job == NULL || strlen(job) >= sizeof(m.u.report.job)) {
		return -EINVAL;
	}
	memset(&m, 0, sizeof(m));
	m.type = RPCI_CTRL_REPORT;
	m.u.report.lease_id = lease_id;
	snprintf(m.u.report.job, sizeof(m.u.report.job), "%s", job);
	m.u.report.job_size = job_size;
	m.u.report.elapsed_us = elapsed_us;
	return ctrlnode_to_selector(&c->b, &m, true);
}

int
rpci_ctrlnode_client_message(struct rpci_ctrlnode_client *c, const char *to, const char *text)
{
	struct rpci_ctrl_msg m;

	if (to == NULL || text == NULL || strlen(to) >= sizeof(m.u.message.to) ||
	    strlen(text) >= sizeof(m.u.message.text)) {
		return -EINVAL;
	}
	memset(&m, 0, sizeof(m));
	m.type = RPCI_CTRL_MESSAGE;
	snprintf(m.u.message.from, sizeof(m.u.message.from), "%s", c->b.host->name);
	snprintf(m.u.message.to, sizeof(m.u.message.to), "%s", to);
	snprintf(m.u.message.text, sizeof(m.u.message.text), "%s", text);
	return ctrlnode_to_selector(&c->b, &m, true);
}

/* A failover attachment: kept until the owner takes it for its request. */
static void
on_failover(struct rpci_ctrlnode_client *c, const struct rpci_ctrl_msg *m)
{
	const struct rpci_sel_attachment *att = &m->u.attach.att;
	uint32_t i;

	for (i = 0; i < RPCI_CTRLNODE_FAILOVERS_MAX; i++) {
		if (c->fo[i].used && c->fo[i].att.lease_id == att->lease_id) {
			return; /* a repeat */
		}
	}
	for (i = 0; i < RPCI_CTRLNODE_FAILOVERS_MAX; i++) {
		if (!c->fo[i].used) {
			c->fo[i].used = true;
			c->fo[i].request_id = m->u.attach.request_id;
			c->fo[i].att = *att;
			c->stats.failovers++;
			CTRLNODE_LOG(INFO, &c->b, "the selector moves request %" PRIu64 " to %s/%s",
				     m->u.attach.request_id, att->server, att->device);
			return;
		}
	}
	CTRLNODE_LOG(WARNING, &c->b, "failover of request %" PRIu64 " to %s/%s not kept: %u "
		     "are waiting already", m->u.attach.request_id, att->server, att->device,
		     RPCI_CTRLNODE_FAILOVERS_MAX);
}

static void
on_attach(struct rpci_ctrlnode_client *c, const struct rpci_ctrl_msg *m)
{
	const struct rpci_sel_attachment *att = &m->u.attach.att;
	struct rpci_sel_attachment all[RPCI_CTRLNODE_REQUEST_COUNT_MAX];
	struct client_request *q;
	uint32_t i, count;
	uint64_t id;
	void *req_arg;

	if (m->u.attach.failover) {
		on_failover(c, m);
		return;
	}
	q = request_find(c, m->u.attach.request_id);
	if (q == NULL) {
		/* Not ours, or over (answered, failed, given up): its lease lapses. */
		c->stats.attach_unknown++;
		return;
	}
	for (i = 0; i < q->nb_att; i++) {
		if (q->att[i].lease_id == att->lease_id) {
			return; /* a repeat */
		}
	}
	c->stats.attachments++;
	q->att[q->nb_att++] = *att;
	if (q->nb_att < q->count) {
		return;
	}
	/* All in: the request is over here, the owner opens the devices. */
	count = q->count;
	memcpy(all, q->att, count * sizeof(all[0]));
	id = q->id;
	req_arg = q->req_arg;
	q->in_use = false;
	c->ops.attached(c->arg, req_arg, id, all, count);
}

static void
on_reject(struct rpci_ctrlnode_client *c, const struct rpci_ctrl_msg *m)
{
	struct client_request *q = request_find(c, m->u.reject.request_id);
	char reason[RPCI_SEL_REASON_MAX + 32];

	if (q == NULL) {
		return; /* answered already (the selector answers each retry) */
	}
	c->stats.rejects++;
	snprintf(reason, sizeof(reason), "the selector refused: %.100s", m->u.reject.reason);
	request_fail(c, q, m->u.reject.error < 0 ? m->u.reject.error : -ENODEV, reason);
}

void
rpci_ctrlnode_client_rx(struct rpci_ctrlnode_client *c, const uint8_t src[6], const void *body,
			uint16_t len)
{
	struct rpci_ctrl_msg m;

	if (rpci_ctrl_chan_rx(c->b.chan, src, body, len, &m) < 0) {
		return;
	}
	switch (m.type) {
	case RPCI_CTRL_ATTACH:
		on_attach(c, &m);
		rpci_ctrl_chan_ack(c->b.chan, src, m.id, 0);
		break;
	case RPCI_CTRL_REJECT:
		on_reject(c, &m);
		break;
	case RPCI_CTRL_DETACH:
		c->stats.detaches++;
		c->ops.lease_lost(c->arg, m.u.detach.lease_id, m.u.detach.reason,
				  m.u.detach.failover);
		rpci_ctrl_chan_ack(c->b.chan, src, m.id, 0);
		break;
	case RPCI_CTRL_MESSAGE:
		/* From the selector (the channel takes it from nobody else), which checked it. */
		c->stats.texts++;
		c->ops.text(c->arg, m.u.message.from, m.u.message.text);
		rpci_ctrl_chan_ack(c->b.chan, src, m.id, 0);
		break;
	default:
		break;
	}
}

int
rpci_ctrlnode_client_poll(struct rpci_ctrlnode_client *c)
{
	uint64_t now, timeout = (uint64_t)RPCI_CTRLNODE_REQUEST_TIMEOUT_MS * 1000;
	uint64_t retry = (uint64_t)RPCI_CTRLNODE_REQUEST_RETRY_MS * 1000;
	struct rpci_ctrl_msg m;
	char reason[RPCI_SEL_REASON_MAX];
	uint32_t i;
	int work;

	work = rpci_ctrl_chan_poll(c->b.chan);
	now = ctrlnode_now_us(&c->b);
	for (i = 0; i < RPCI_CTRLNODE_REQUESTS_MAX; i++) {
		struct client_request *q = &c->reqs[i];

		if (!q->in_use) {
			continue;
		}
		if (now - q->start_us > timeout) {
			c->stats.timeouts++;
			snprintf(reason, sizeof(reason), "the selector (%s) did not answer",
				 c->b.conf->selector.host);
			request_fail(c, q, -ETIMEDOUT, reason);
			work++;
			continue;
		}
		if (now - q->last_sent_us > retry) {
			request_send(c, q, now);
			work++;
		}
	}
	if (now >= c->next_renew_us) {
		if (c->ops.holds_leases(c->arg)) {
			memset(&m, 0, sizeof(m));
			m.type = RPCI_CTRL_RENEW;
			memcpy(m.u.renew.client_mac, c->b.host->mac, 6);
			ctrlnode_to_selector(&c->b, &m, false);
			c->stats.renewals++;
			work++;
		}
		c->next_renew_us = now + c->renew_us;
	}
	return work;
}

bool
rpci_ctrlnode_client_take_failover(struct rpci_ctrlnode_client *c, uint64_t request_id,
				   struct rpci_sel_attachment *att)
{
	uint32_t i;

	for (i = 0; i < RPCI_CTRLNODE_FAILOVERS_MAX; i++) {
		if (c->fo[i].used && c->fo[i].request_id == request_id) {
			*att = c->fo[i].att;
			c->fo[i].used = false;
			return true;
		}
	}
	return false;
}

uint32_t
rpci_ctrlnode_client_pending(const struct rpci_ctrlnode_client *c)
{
	struct rpci_ctrl_chan_stats st;

	rpci_ctrl_chan_stats(c->b.chan, &st);
	return st.pending;
}

void
rpci_ctrlnode_client_stats(const struct rpci_ctrlnode_client *c,
			   struct rpci_ctrlnode_client_stats *stats)
{
	*stats = c->stats;
}

struct rpci_ctrl_chan *
rpci_ctrlnode_client_chan(const struct rpci_ctrlnode_client *c)
{
	return c->b.chan;
}
