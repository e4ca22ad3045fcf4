/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * The server agent: registers the host's devices with the selector,
 * reports their status every heartbeat and when a session ends, takes the
 * selector's attachments (only an attached client may open a device) and
 * detachments. A host whose roles include "selector" runs the selector
 * node in the same process: the agent passes it what is its, and the
 * messages between the two stay in the process.
 */

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "ctrlnode_private.h"

/* Reliable messages of the agent waiting for ACKs at once. */
#define SERVER_PENDING_MAX 256

/* What the agent knows of each device of its host. */
struct server_dev {
	bool registered;         /* the selector acknowledged our REGISTER */
	uint64_t register_id;    /* id of the REGISTER in flight (0: none) */
	uint64_t register_us;    /* when it left first */
	uint64_t status_id;      /* id of the last STATUS */
	bool attached;           /* the selector attached it to client_mac... */
	uint64_t lease_id;       /* ...under this lease */
	uint8_t client_mac[6];
	uint64_t kernel_ns_last; /* for the load of the last heartbeat period */
	/* a session ended since the last poll: its client, number and figures */
	bool ended;
	uint8_t ended_mac[6];
	uint64_t ended_session;
	struct rpci_sel_usage ended_usage;
};

struct rpci_ctrlnode_server {
	struct ctrlnode_base b;
	struct rpci_ctrlnode_server_ops ops;
	void *arg;
	struct rpci_ctrlnode_selector *selector; /* in this process, or NULL */
	uint64_t heartbeat_us;
	uint64_t next_heartbeat_us;
	uint64_t last_heartbeat_us;
	unsigned int nb_devs;
	struct server_dev devs[RPCI_CONF_DEVICES_MAX];
	struct rpci_ctrlnode_server_stats stats;
};

/* ctrlnode_new() makes it, ctrlnode_delete() frees it. */
_Static_assert(offsetof(struct rpci_ctrlnode_server, b) == 0, "the base comes first");

static void server_local_rx(void *arg, const uint8_t src[6], const void *body, uint16_t len);

static void
send_register(struct rpci_ctrlnode_server *a, unsigned int i)
{
	const struct rpci_conf_device *cd = &a->b.host->devices[i];
	struct server_dev *d = &a->devs[i];
	struct rpci_ctrl_msg m;

	memset(&m, 0, sizeof(m));
	m.type = RPCI_CTRL_REGISTER;
	a->ops.device_info(a->arg, i, &m.u.reg);
	/* Who it is, as the deployment file says (the selector checks it so). */
	snprintf(m.u.reg.server, sizeof(m.u.reg.server), "%s", a->b.host->name);
	memcpy(m.u.reg.server_mac, a->b.host->mac, 6);
	snprintf(m.u.reg.device, sizeof(m.u.reg.device), "%s", cd->name);
	m.u.reg.function = (uint16_t)i;
	rpci_ctrl_chan_cancel(a->b.chan, d->register_id);
	/* Known before it leaves: a selector in this process answers within the call. */
	m.id = rpci_ctrl_chan_next_id(a->b.chan);
	d->register_id = m.id;
	d->register_us = ctrlnode_now_us(&a->b);
	a->stats.registers++;
	if (ctrlnode_to_selector(&a->b, &m, true) < 0) {
		d->register_id = 0;
	}
}

/* A device's status: what the owner says, under our names. */
static void
status_fill(struct rpci_ctrlnode_server *a, unsigned int i, struct rpci_ctrl_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->type = RPCI_CTRL_STATUS;
	a->ops.device_status(a->arg, i, &m->u.status.st);
	snprintf(m->u.status.server, sizeof(m->u.status.server), "%s", a->b.host->name);
	snprintf(m->u.status.device, sizeof(m->u.status.device), "%s",
		 a->b.host->devices[i].name);
}

/* The heartbeat of a device; load: the share of the period it spent running kernels. */
static void
send_status(struct rpci_ctrlnode_server *a, unsigned int i, uint64_t period_us)
{
	struct server_dev *d = &a->devs[i];
	struct rpci_sel_device_status *st;
	struct rpci_ctrl_msg m;

	status_fill(a, i, &m);
	st = &m.u.status.st;
	st->load = period_us > 0 && st->total.kernel_ns > d->kernel_ns_last ?
		   (double)(st->total.kernel_ns - d->kernel_ns_last) / (double)(period_us * 1000) :
		   0.0;
	d->kernel_ns_last = st->total.kernel_ns;
	m.id = rpci_ctrl_chan_next_id(a->b.chan);
	d->status_id = m.id;
	a->stats.statuses++;
	ctrlnode_to_selector(&a->b, &m, false);
}

/*
 * A session ended: one more status at once, with that session's client,
 * number and last figures, so that the selector counts all of it for its
 * client (the device itself is described as it is now).
 */
static void
send_session_end(struct rpci_ctrlnode_server *a, unsigned int i)
{
	const struct server_dev *d = &a->devs[i];
	struct rpci_ctrl_msg m;

	status_fill(a, i, &m);
	memcpy(m.u.status.st.client_mac, d->ended_mac, 6);
	m.u.status.st.session = d->ended_session;
	m.u.status.st.usage = d->ended_usage;
	m.id = rpci_ctrl_chan_next_id(a->b.chan);
	a->stats.statuses++;
	ctrlnode_to_selector(&a->b, &m, false);
}

static void
on_ack(struct rpci_ctrlnode_server *a, const struct rpci_ctrl_msg *m)
{
	unsigned int i;

	for (i = 0; i < a->nb_devs; i++) {
		struct server_dev *d = &a->devs[i];
		const char *name = a->b.host->devices[i].name;

		if (m->u.ack.acked_id == d->register_id && m->u.ack.acked_id != 0) {
			if (m->u.ack.status == 0) {
				if (!d->registered) {
					CTRLNODE_LOG(INFO, &a->b, "%s registered with the selector",
						     name);
				}
				d->registered = true;
				a->stats.registered++;
			} else {
				CTRLNODE_LOG(WARNING, &a->b, "%s: the selector refused its "
					     "registration: %s", name, strerror(-m->u.ack.status));
				a->stats.register_refused++;
			}
			d->register_id = 0;
		} else if (m->u.ack.acked_id == d->status_id && m->u.ack.status == -ENOENT) {
			/* The selector does not know it (it restarted): register again. */
			d->registered = false;
			send_register(a, i);
		}
	}
}

static int
dev_find(const struct rpci_ctrlnode_server *a, const char *name)
{
	unsigned int i;

	for (i = 0; i < a->nb_devs; i++) {
		if (strcmp(a->b.host->devices[i].name, name) == 0) {
			return (int)i;
		}
	}
	return -1;
}

static void
on_attach(struct rpci_ctrlnode_server *a, const uint8_t src[6], const struct rpci_ctrl_msg *m)
{
	const struct rpci_sel_attachment *att = &m->u.attach.att;
	int i = dev_find(a, att->device);
	struct server_dev *d;
	char mac[18];

	if (i < 0 || strcmp(att->server, a->b.host->name) != 0) {
		a->stats.attach_unknown++;
		rpci_ctrl_chan_ack(a->b.chan, src, m->id, -ENOENT);
		return;
	}
	d = &a->devs[i];
	if (d->attached && d->lease_id == att->lease_id) {
		rpci_ctrl_chan_ack(a->b.chan, src, m->id, 0); /* a repeat */
		return;
	}
	a->stats.attaches++;
	d->attached = true;
	d->lease_id = att->lease_id;
	memcpy(d->client_mac, att->client_mac, 6);
	CTRLNODE_LOG(INFO, &a->b, "%s: lease %" PRIu64 " for client %s", att->device,
		     att->lease_id, rpci_ctrl_mac_str(att->client_mac, mac));
	/* A session of another client ends: the selector gave the device away. */
	a->ops.attached(a->arg, (unsigned int)i, att);
	rpci_ctrl_chan_ack(a->b.chan, src, m->id, 0);
}

static void
on_detach(struct rpci_ctrlnode_server *a, const uint8_t src[6], const struct rpci_ctrl_msg *m)
{
	unsigned int i;

	for (i = 0; i < a->nb_devs; i++) {
		struct server_dev *d = &a->devs[i];

		if (!d->attached || d->lease_id != m->u.detach.lease_id) {
			continue;
		}
		CTRLNODE_LOG(INFO, &a->b, "%s: lease %" PRIu64 " ended by the selector: %s",
			     a->b.host->devices[i].name, d->lease_id, m->u.detach.reason);
		d->attached = false;
		a->stats.detaches++;
		a->ops.detached(a->arg, i, m->u.detach.lease_id, m->u.detach.reason);
	}
	/* Acknowledged even when unknown: it is over either way. */
	rpci_ctrl_chan_ack(a->b.chan, src, m->id, 0);
}

/* Control messages the selector takes; the rest are for the server role. */
static bool
for_selector(enum rpci_ctrl_type t)
{
	switch (t) {
	case RPCI_CTRL_REGISTER:
	case RPCI_CTRL_STATUS:
	case RPCI_CTRL_REQUEST:
	case RPCI_CTRL_RELEASE:
	case RPCI_CTRL_RENEW:
	case RPCI_CTRL_REPORT:
	case RPCI_CTRL_MESSAGE:
		return true;
	default:
		return false;
	}
}

void
rpci_ctrlnode_server_rx(struct rpci_ctrlnode_server *a, const uint8_t src[6], const void *body,
			uint16_t len)
{
	struct rpci_ctrl_msg m;
	int type;

	/* Routed by type only; the channel that takes it checks everything. */
	type = rpci_ctrl_chan_peek_type(a->b.chan, body, len);
	if (type > 0 && a->selector != NULL &&
	    (for_selector((enum rpci_ctrl_type)type) || type == RPCI_CTRL_ACK)) {
		/* ACKs go to both: each looks for its own message ids. */
		rpci_ctrlnode_selector_rx(a->selector, src, body, len);
		if (type != RPCI_CTRL_ACK) {
			return;
		}
	}
	/* The others are refused (and counted) by the agent's channel: not a server's. */
	if (rpci_ctrl_chan_rx(a->b.chan, src, body, len, &m) < 0) {
		return;
	}
	switch (m.type) {
	case RPCI_CTRL_ACK:
		on_ack(a, &m);
		break;
	case RPCI_CTRL_ATTACH:
		on_attach(a, src, &m);
		break;
	case RPCI_CTRL_DETACH:
		on_detach(a, src, &m);
		break;
	default:
		break;
	}
}

static void
server_local_rx(void *arg, const uint8_t src[6], const void *body, uint16_t len)
{
	rpci_ctrlnode_server_rx(arg, src, body, len);
}

struct rpci_ctrlnode_server *
rpci_ctrlnode_server_create(const struct rpci_ctrlnode_params *params,
			    const struct rpci_ctrlnode_server_ops *ops, void *arg,
			    struct rpci_ctrlnode_selector *local_selector)
{
	struct rpci_ctrlnode_server *a;
	unsigned int i;

	if (ops == NULL || ops->device_info == NULL || ops->device_status == NULL ||
	    ops->attached == NULL || ops->detached == NULL) {
		errno = EINVAL;
		return NULL;
	}
	a = ctrlnode_new(sizeof(*a), params, "server", RPCI_ROLE_SERVER, SERVER_PENDING_MAX, 24);
	if (a == NULL) {
		return NULL;
	}
	a->ops = *ops;
	a->arg = arg;
	a->selector = local_selector;
	a->nb_devs = params->host->nb_devices;
	/* Messages to our own address (the selector's, or ours from it) stay here. */
	rpci_ctrl_chan_set_local(a->b.chan, params->host->mac, server_local_rx, a);
	if (local_selector != NULL) {
		rpci_ctrl_chan_set_local(rpci_ctrlnode_selector_chan(local_selector),
					 params->host->mac, server_local_rx, a);
	}
	a->heartbeat_us = (uint64_t)params->conf->selector.heartbeat_ms * 1000;
	a->last_heartbeat_us = ctrlnode_now_us(&a->b);
	a->next_heartbeat_us = a->last_heartbeat_us + a->heartbeat_us;
	for (i = 0; i < a->nb_devs; i++) {
		send_register(a, i);
	}
	return a;
}

void
rpci_ctrlnode_server_free(struct rpci_ctrlnode_server *a)
{
	if (a != NULL) {
		ctrlnode_delete(&a->b);
	}
}

int
rpci_ctrlnode_server_poll(struct rpci_ctrlnode_server *a)
{
	uint64_t now;
	unsigned int i;
	int work;

	work = rpci_ctrl_chan_poll(a->b.chan);
	if (a->selector != NULL) {
		work += rpci_ctrlnode_selector_poll(a->selector);
	}
	for (i = 0; i < a->nb_devs; i++) {
		if (a->devs[i].ended) {
			a->devs[i].ended = false;
			if (a->devs[i].registered) {
				send_session_end(a, i);
				work++;
			}
		}
	}
	now = ctrlnode_now_us(&a->b);
	if (now < a->next_heartbeat_us) {
		return work;
	}
	for (i = 0; i < a->nb_devs; i++) {
		struct server_dev *d = &a->devs[i];

		if (d->registered) {
			send_status(a, i, now - a->last_heartbeat_us);
		} else if (d->register_id == 0 || now - d->register_us >= a->b.given_up_us) {
			/* Refused, or never acknowledged (the channel gave up): again. */
			send_register(a, i);
		}
	}
	a->last_heartbeat_us = now;
	a->next_heartbeat_us = now + a->heartbeat_us;
	return work + 1;
}

int
rpci_ctrlnode_open_direct_allowed(const struct rpci_conf *conf,
				  const struct rpci_conf_host *server, int client,
				  const uint8_t client_mac[6], char *reason, size_t len)
{
	const struct rpci_conf_host *c;

	if (client >= 0 && (unsigned int)client < conf->nb_hosts) {
		c = &conf->hosts[client];
	} else {
		c = rpci_conf_host_by_mac(conf, client_mac);
	}
	if (c == NULL) {
		snprintf(reason, len, "%02x:%02x:%02x:%02x:%02x:%02x is no host of the deployment",
			 client_mac[0], client_mac[1], client_mac[2], client_mac[3],
			 client_mac[4], client_mac[5]);
		return -EACCES;
	}
	if (!(c->roles & RPCI_ROLE_CLIENT) || strcmp(c->server, server->name) != 0) {
		snprintf(reason, len, "host '%.24s' is not a client of %.24s", c->name,
			 server->name);
		return -EACCES;
	}
	return 0;
}

int
rpci_ctrlnode_server_open_allowed(const struct rpci_ctrlnode_server *a, unsigned int dev,
				  uint64_t lease_id, const uint8_t client_mac[6], char *reason,
				  size_t len)
{
	const struct server_dev *d;

	if (dev >= a->nb_devs) {
		snprintf(reason, len, "no device %u", dev);
		return -ENODEV;
	}
	d = &a->devs[dev];
	if (!d->attached || d->lease_id != lease_id || memcmp(d->client_mac, client_mac, 6) != 0) {
		/* The selector's ATTACH may still be on its way: worth another try. */
		snprintf(reason, len, "%.24s is not attached to this client by the selector",
			 a->b.host->devices[dev].name);
		return -EAGAIN;
	}
	return 0;
}

void
rpci_ctrlnode_server_session_ended(struct rpci_ctrlnode_server *a, unsigned int dev,
				   const uint8_t client_mac[6], uint64_t session,
				   const struct rpci_sel_usage *usage)
{
	struct server_dev *d;

	if (dev >= a->nb_devs) {
		return;
	}
	/* Sent from the next poll, not from inside the owner's teardown. */
	d = &a->devs[dev];
	d->ended = true;
	memcpy(d->ended_mac, client_mac, 6);
	d->ended_session = session;
	d->ended_usage = *usage;
}

void
rpci_ctrlnode_server_lease_ended(struct rpci_ctrlnode_server *a, unsigned int dev)
{
	if (dev < a->nb_devs) {
		a->devs[dev].attached = false;
	}
}

uint64_t
rpci_ctrlnode_server_lease(const struct rpci_ctrlnode_server *a, unsigned int dev)
{
	if (dev >= a->nb_devs || !a->devs[dev].attached) {
		return 0;
	}
	return a->devs[dev].lease_id;
}

bool
rpci_ctrlnode_server_registered(const struct rpci_ctrlnode_server *a, unsigned int dev)
{
	return dev < a->nb_devs && a->devs[dev].registered;
}

void
rpci_ctrlnode_server_stats(const struct rpci_ctrlnode_server *a,
			   struct rpci_ctrlnode_server_stats *stats)
{
	*stats = a->stats;
}

struct rpci_ctrl_chan *
rpci_ctrlnode_server_chan(const struct rpci_ctrlnode_server *a)
{
	return a->b.chan;
}
