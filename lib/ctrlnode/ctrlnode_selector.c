/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * The selector node: lib/selector's decisions, taken from the control
 * messages that arrive and sent back as control messages (ATTACH to both
 * ends, REJECT to the requester, DETACH to both ends). It runs alone
 * (rpci-selector) or in the process of a server whose host also has the
 * selector role (the server agent passes it what is its).
 */

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "ctrlnode_private.h"

#define ACTIONS_MAX 64
/* Reliable messages of the selector waiting for ACKs at once. */
#define SELECTOR_PENDING_MAX 1024

struct rpci_ctrlnode_selector {
	struct ctrlnode_base b;
	struct rpci_selector *sel;
	struct rpci_ctrlnode_selector_stats stats;
	/* texts between clients passed on lately: a sender's retry is not passed on twice */
	struct {
		uint8_t mac[6];
		uint64_t id;
	} msg_seen[RPCI_CTRLNODE_MSG_SEEN];
	unsigned int msg_seen_next;
};

/* ctrlnode_new() makes it, ctrlnode_delete() frees it. */
_Static_assert(offsetof(struct rpci_ctrlnode_selector, b) == 0, "the base comes first");

struct rpci_ctrlnode_selector *
rpci_ctrlnode_selector_create(const struct rpci_ctrlnode_params *params)
{
	const struct rpci_conf_selector *cs;
	struct rpci_ctrlnode_selector *n;
	struct rpci_sel_params sp;
	enum rpci_sel_policy policy;
	int ret;

	n = ctrlnode_new(sizeof(*n), params, "selector", RPCI_ROLE_SELECTOR, SELECTOR_PENDING_MAX,
			 20);
	if (n == NULL) {
		return NULL;
	}
	cs = &params->conf->selector;
	if (rpci_selector_policy_parse(cs->policy, &policy) < 0) {
		CTRLNODE_LOG(ERR, &n->b, "unknown policy '%s'", cs->policy);
		ret = -EINVAL;
		goto free_node;
	}
	memset(&sp, 0, sizeof(sp));
	sp.policy = policy;
	sp.heartbeat_us = (uint64_t)cs->heartbeat_ms * 1000;
	sp.missed_heartbeats = cs->missed_heartbeats;
	sp.lease_us = (uint64_t)cs->lease_ms * 1000;
	sp.explore = cs->explore;
	sp.seed = cs->seed;
	sp.client_max_devices = cs->client_max_devices;
	sp.client_max_requests = cs->client_max_requests;
	n->sel = rpci_selector_create(&sp);
	if (n->sel == NULL) {
		ret = -errno;
		CTRLNODE_LOG(ERR, &n->b, "cannot create the selector: %s", strerror(errno));
		goto free_node;
	}
	return n;

free_node:
	ctrlnode_delete(&n->b);
	errno = -ret;
	return NULL;
}

void
rpci_ctrlnode_selector_free(struct rpci_ctrlnode_selector *n)
{
	if (n == NULL) {
		return;
	}
	rpci_selector_free(n->sel);
	ctrlnode_delete(&n->b);
}

/* Send what the selector decided. dst: the requester, for a REJECT. */
static void
selector_act(struct rpci_ctrlnode_selector *n, const struct rpci_sel_action *a,
	     const uint8_t *dst)
{
	struct rpci_ctrl_msg m;
	char mac[18];

	memset(&m, 0, sizeof(m));
	switch (a->kind) {
	case RPCI_SEL_ACT_ATTACH:
		m.type = RPCI_CTRL_ATTACH;
		m.u.attach.request_id = a->request_id;
		m.u.attach.att = a->att;
		m.u.attach.failover = a->failover;
		n->stats.attaches++;
		if (a->failover) {
			n->stats.failovers++;
		}
		CTRLNODE_LOG(INFO, &n->b, "lease %" PRIu64 ": %s/%s attached to client %s%s",
			     a->att.lease_id, a->att.server, a->att.device,
			     rpci_ctrl_mac_str(a->att.client_mac, mac),
			     a->failover ? " (failover)" : "");
		/* Both ends must know: retried until each acknowledges. */
		rpci_ctrl_chan_send_reliable(n->b.chan, a->att.server_mac, &m);
		m.id = 0;
		rpci_ctrl_chan_send_reliable(n->b.chan, a->att.client_mac, &m);
		break;
	case RPCI_SEL_ACT_REJECT:
		m.type = RPCI_CTRL_REJECT;
		m.u.reject.request_id = a->request_id;
		m.u.reject.error = a->error;
		memcpy(m.u.reject.reason, a->reason, sizeof(m.u.reject.reason));
		n->stats.rejects++;
		CTRLNODE_LOG(INFO, &n->b, "request %" PRIu64 " of %s rejected: %s", a->request_id,
			     dst != NULL ? rpci_ctrl_mac_str(dst, mac) : "?", a->reason);
		/* The client asks again until it has an answer. */
		if (dst != NULL) {
			rpci_ctrl_chan_send(n->b.chan, dst, &m);
		}
		break;
	case RPCI_SEL_ACT_DETACH:
		m.type = RPCI_CTRL_DETACH;
		m.u.detach.lease_id = a->att.lease_id;
		m.u.detach.error = a->error;
		m.u.detach.failover = a->failover;
		memcpy(m.u.detach.reason, a->reason, sizeof(m.u.detach.reason));
		n->stats.detaches++;
		CTRLNODE_LOG(INFO, &n->b, "lease %" PRIu64 ": %s/%s detached from client %s: %s",
			     a->att.lease_id, a->att.server, a->att.device,
			     rpci_ctrl_mac_str(a->att.client_mac, mac), a->reason);
		rpci_ctrl_chan_send_reliable(n->b.chan, a->att.server_mac, &m);
		m.id = 0;
		rpci_ctrl_chan_send_reliable(n->b.chan, a->att.client_mac, &m);
		break;
	}
}

const struct rpci_conf_host *
rpci_ctrlnode_message_sender(const struct rpci_conf *conf, const uint8_t src[6],
			     const struct rpci_ctrl_msg *m, const char **why)
{
	const struct rpci_conf_host *from = rpci_conf_host_by_mac(conf, src);

	if (from == NULL) {
		*why = "its sender is no host of the deployment";
		return NULL;
	}
	if (!(from->roles & RPCI_ROLE_CLIENT)) {
		*why = "its sender is not a client host";
		return NULL;
	}
	if (strcmp(m->u.message.from, from->name) != 0) {
		*why = "it names another sender than the host that sent it";
		return NULL;
	}
	*why = NULL;
	return from;
}

/*
 * A text from one client to another: passed on only from the sender the
 * source address says (rpci_ctrlnode_message_sender()), refused otherwise
 * (ACK -EPERM) and counted. The sender's retries (the same id from the
 * same address) are acknowledged but passed on once.
 */
static void
selector_message(struct rpci_ctrlnode_selector *n, const uint8_t src[6], struct rpci_ctrl_msg *m)
{
	const struct rpci_conf_host *to = rpci_conf_host_find(n->b.conf, m->u.message.to);
	uint64_t id = m->id;
	const char *why;
	unsigned int i;
	char mac[18];

	if (rpci_ctrlnode_message_sender(n->b.conf, src, m, &why) == NULL) {
		n->stats.messages_refused++;
		CTRLNODE_LOG(WARNING, &n->b, "message from %s claiming '%s' refused: %s",
			     rpci_ctrl_mac_str(src, mac), m->u.message.from, why);
		rpci_ctrl_chan_ack(n->b.chan, src, id, -EPERM);
		return;
	}
	if (to == NULL || !(to->roles & RPCI_ROLE_CLIENT)) {
		rpci_ctrl_chan_ack(n->b.chan, src, id, -ENOENT);
		return;
	}
	for (i = 0; i < RPCI_CTRLNODE_MSG_SEEN; i++) {
		if (n->msg_seen[i].id == id && id != 0 && memcmp(n->msg_seen[i].mac, src, 6) == 0) {
			rpci_ctrl_chan_ack(n->b.chan, src, id, 0); /* a retry: passed on already */
			return;
		}
	}
	memcpy(n->msg_seen[n->msg_seen_next].mac, src, 6);
	n->msg_seen[n->msg_seen_next].id = id;
	n->msg_seen_next = (n->msg_seen_next + 1) % RPCI_CTRLNODE_MSG_SEEN;
	n->stats.messages++;
	/* Passed on as a new message of ours, from the sender's own name. */
	m->id = 0;
	rpci_ctrl_chan_send_reliable(n->b.chan, to->mac, m);
	rpci_ctrl_chan_ack(n->b.chan, src, id, 0);
}

/*
 * Whether the sender of a RELEASE or REPORT holds the lease; a refusal is
 * counted, logged and answered (-EPERM). An unknown lease passes (-ENOENT
 * is the selector's answer).
 */
static bool
selector_holder(struct rpci_ctrlnode_selector *n, const uint8_t from[6],
		const struct rpci_ctrl_msg *m, uint64_t lease_id, const char *sender)
{
	uint8_t holder[6];
	char mac[18];

	if (rpci_selector_lease_holder(n->sel, lease_id, holder) < 0 ||
	    memcmp(holder, from, 6) == 0) {
		return true;
	}
	n->stats.not_holder++;
	rpci_ctrl_chan_refuse(n->b.chan, "%s of lease %" PRIu64 " from host '%s', which does "
			      "not hold it (client %s does)", rpci_ctrl_type_name(m->type),
			      lease_id, sender, rpci_ctrl_mac_str(holder, mac));
	rpci_ctrl_chan_ack(n->b.chan, from, m->id, -EPERM);
	return false;
}

void
rpci_ctrlnode_selector_rx(struct rpci_ctrlnode_selector *n, const uint8_t src[6],
			  const void *body, uint16_t len)
{
	struct rpci_sel_action acts[ACTIONS_MAX];
	const struct rpci_conf_host *sender;
	struct rpci_ctrl_msg m;
	const uint8_t *from;
	uint64_t now;
	int ret, i, nb;

	/* Secured, the channel names the sender of what it takes. */
	if (rpci_ctrl_chan_rx_from(n->b.chan, src, body, len, &m, &sender) < 0 || sender == NULL) {
		return;
	}
	/* Its address is the file's. */
	from = sender->mac;
	now = ctrlnode_now_us(&n->b);
	switch (m.type) {
	case RPCI_CTRL_REGISTER:
		n->stats.registers++;
		/* The server's address is its sender's (the channel checked the body says so). */
		memcpy(m.u.reg.server_mac, from, 6);
		ret = rpci_selector_register(n->sel, &m.u.reg, now);
		if (ret == 0) {
			CTRLNODE_LOG(INFO, &n->b, "%s/%s registered (%s backend, %" PRIu64 " MiB)",
				     m.u.reg.server, m.u.reg.device, m.u.reg.backend,
				     m.u.reg.memory_bytes >> 20);
		}
		rpci_ctrl_chan_ack(n->b.chan, from, m.id, ret);
		break;
	case RPCI_CTRL_STATUS:
		n->stats.statuses++;
		ret = rpci_selector_status(n->sel, m.u.status.server, m.u.status.device,
					   &m.u.status.st, now);
		if (ret < 0) {
			/* Unknown (we restarted): the server registers again. */
			rpci_ctrl_chan_ack(n->b.chan, from, m.id, ret);
		}
		break;
	case RPCI_CTRL_REQUEST:
		n->stats.requests++;
		nb = rpci_selector_request(n->sel, m.id, from, &m.u.request.req,
					   m.u.request.count, now, acts, ACTIONS_MAX);
		if (nb == 1 && acts[0].kind == RPCI_SEL_ACT_REJECT && acts[0].error == -EDQUOT) {
			n->stats.over_limit++;
			rpci_ctrl_chan_refuse(n->b.chan, "REQUEST %" PRIu64 " of host '%s': %s",
					      m.id, sender->name, acts[0].reason);
		}
		for (i = 0; i < nb; i++) {
			selector_act(n, &acts[i], from);
		}
		break;
	case RPCI_CTRL_RELEASE:
		if (!selector_holder(n, from, &m, m.u.release.lease_id, sender->name)) {
			break;
		}
		n->stats.releases++;
		ret = rpci_selector_release(n->sel, m.u.release.lease_id, now);
		rpci_ctrl_chan_ack(n->b.chan, from, m.id, ret);
		break;
	case RPCI_CTRL_RENEW:
		rpci_selector_renew(n->sel, from, now);
		break;
	case RPCI_CTRL_REPORT:
		if (!selector_holder(n, from, &m, m.u.report.lease_id, sender->name)) {
			break;
		}
		n->stats.reports++;
		ret = rpci_selector_report(n->sel, m.u.report.lease_id, m.u.report.job,
					   m.u.report.job_size, m.u.report.elapsed_us);
		rpci_ctrl_chan_ack(n->b.chan, from, m.id, ret);
		break;
	case RPCI_CTRL_MESSAGE:
		selector_message(n, from, &m);
		break;
	case RPCI_CTRL_ACK:
		break;
	default:
		n->stats.unexpected++;
		break;
	}
}

int
rpci_ctrlnode_selector_poll(struct rpci_ctrlnode_selector *n)
{
	struct rpci_sel_action acts[ACTIONS_MAX];
	int nb, i, work;

	work = rpci_ctrl_chan_poll(n->b.chan);
	nb = rpci_selector_tick(n->sel, ctrlnode_now_us(&n->b), acts, ACTIONS_MAX);
	for (i = 0; i < nb; i++) {
		selector_act(n, &acts[i], NULL);
	}
	return work + (nb > 0 ? nb : 0);
}

int
rpci_ctrlnode_selector_attach(struct rpci_ctrlnode_selector *n, const char *server,
			      const char *device, const uint8_t client_mac[6], char *msg,
			      size_t len)
{
	struct rpci_sel_action a;
	int ret;

	ret = rpci_selector_attach(n->sel, server, device, client_mac, ctrlnode_now_us(&n->b),
				   &a);
	if (ret < 0) {
		snprintf(msg, len, "cannot attach %s/%s: %s", server, device,
			 ret == -EBUSY ? "not free" : ret == -ENOENT ? "no such device" :
			 strerror(-ret));
		return ret;
	}
	selector_act(n, &a, NULL);
	snprintf(msg, len, "lease %" PRIu64 ": %s/%s attached", a.att.lease_id, server, device);
	return 0;
}

int
rpci_ctrlnode_selector_detach(struct rpci_ctrlnode_selector *n, uint64_t lease_id, char *msg,
			      size_t len)
{
	struct rpci_sel_action a;
	int ret;

	ret = rpci_selector_detach(n->sel, lease_id, ctrlnode_now_us(&n->b), &a);
	if (ret < 0) {
		snprintf(msg, len, "no lease %" PRIu64, lease_id);
		return ret;
	}
	selector_act(n, &a, NULL);
	snprintf(msg, len, "lease %" PRIu64 " detached", lease_id);
	return 0;
}

int
rpci_ctrlnode_selector_drain(struct rpci_ctrlnode_selector *n, const char *server, bool on,
			     char *msg, size_t len)
{
	int ret = rpci_selector_drain(n->sel, server, on);

	if (ret < 0) {
		snprintf(msg, len, "no server '%s'", server);
		return ret;
	}
	snprintf(msg, len, "%s: %d devices %s", server, ret, on ? "draining" : "back in service");
	return 0;
}

struct rpci_selector *
rpci_ctrlnode_selector_logic(const struct rpci_ctrlnode_selector *n)
{
	return n->sel;
}

uint64_t
rpci_ctrlnode_selector_now_us(const struct rpci_ctrlnode_selector *n)
{
	return ctrlnode_now_us(&n->b);
}

void
rpci_ctrlnode_selector_stats(const struct rpci_ctrlnode_selector *n,
			     struct rpci_ctrlnode_selector_stats *stats)
{
	*stats = n->stats;
}

struct rpci_ctrl_chan *
rpci_ctrlnode_selector_chan(const struct rpci_ctrlnode_selector *n)
{
	return n->b.chan;
}
