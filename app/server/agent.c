/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * rpci-server's selector agent: registers the host's devices with the
 * server selector, reports their status every heartbeat, takes the
 * selector's attachments (only an attached client may open a device) and
 * detachments. A host whose roles include "selector" runs the selector in
 * this process too; control messages between the two stay in the process.
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_log.h>

#include "server.h"

RTE_LOG_REGISTER(rpci_agent_logtype, rpci.app.server.agent, INFO);

#define AGENT_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_ ## level, rpci_agent_logtype, "rpci-server: " fmt "\n", ##__VA_ARGS__)

#define RETRY_MS 50
#define RETRY_MAX 40

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

static void
device_info(struct server *srv, struct server_dev *d, struct rpci_sel_device_info *info)
{
	struct rpci_gpu_info gi;
	uint32_t i;

	memset(info, 0, sizeof(*info));
	snprintf(info->server, sizeof(info->server), "%s", srv->host->name);
	memcpy(info->server_mac, srv->host->mac, 6);
	snprintf(info->device, sizeof(info->device), "%s", d->conf->name);
	info->function = (uint16_t)(d - srv->devs);
	server_dev_identity(d, &info->vendor_id, &info->device_id, &info->class_code);
	info->memory_bytes = d->conf->memory_bytes;
	if (d->pfn != NULL) {
		/* A plain PCI function: given only to who asks for backend "pci". */
		const struct rpci_conf_device *cd = d->conf;

		snprintf(info->backend, sizeof(info->backend), "pci");
		snprintf(info->device_name, sizeof(info->device_name), "%04x:%02x:%02x.%u",
			 cd->pci_domain, cd->pci_bus, cd->pci_dev, cd->pci_func);
	} else if (d->gpu->ops->info(d->gpu->priv, &gi) == 0) {
		snprintf(info->backend, sizeof(info->backend), "%.31s", gi.backend);
		info->module_kinds = gi.module_kinds;
		info->compute_units = gi.compute_units;
		snprintf(info->device_name, sizeof(info->device_name), "%.63s", gi.device_name);
		for (i = 0; i < gi.nb_builtins && i < RPCI_SEL_KERNELS_MAX; i++) {
			snprintf(info->kernels[i], sizeof(info->kernels[i]), "%.31s",
				 gi.builtins[i]);
		}
		info->nb_kernels = i;
	} else {
		snprintf(info->backend, sizeof(info->backend), "%s", d->conf->backend);
	}
}

static void
send_register(struct server *srv, struct server_dev *d)
{
	struct rpci_ctrl_msg m;

	memset(&m, 0, sizeof(m));
	m.type = RPCI_CTRL_REGISTER;
	device_info(srv, d, &m.u.reg);
	rpci_ctrl_chan_cancel(srv->chan, d->register_id);
	/* Known before it leaves: an embedded selector answers within the call. */
	m.id = rpci_ctrl_chan_next_id(srv->chan);
	d->register_id = m.id;
	if (rpci_ctrl_chan_send_reliable(srv->chan, srv->selector_mac, &m) < 0) {
		d->register_id = 0;
	}
}

/* A device's status: memory, its session, its identity now, its usage since start and the
 * session's. */
static void
status_fill(struct server *srv, struct server_dev *d, struct rpci_ctrl_msg *m)
{
	struct rpci_link_session *s = server_dev_session(d);
	struct rpci_sel_device_status *st = &m->u.status.st;

	memset(m, 0, sizeof(*m));
	m->type = RPCI_CTRL_STATUS;
	snprintf(m->u.status.server, sizeof(m->u.status.server), "%s", srv->host->name);
	snprintf(m->u.status.device, sizeof(m->u.status.device), "%s", d->conf->name);
	st->memory_free = d->vgpu != NULL ?
			  d->conf->memory_bytes - rpci_vgpu_mem_used(d->vgpu) : 0;
	server_dev_usage(d, &st->total, &st->usage);
	server_dev_identity(d, &st->vendor_id, &st->device_id, &st->class_code);
	st->in_use = s != NULL;
	if (s != NULL) {
		memcpy(st->client_mac, rpci_link_session_peer(s)->addr_bytes, 6);
		st->session = d->session_id;
	}
}

/* The heartbeat of a device; load: the share of the period it spent running kernels. */
static void
send_status(struct server *srv, struct server_dev *d, uint64_t period_ns)
{
	struct rpci_ctrl_msg m;

	status_fill(srv, d, &m);
	m.u.status.st.load = period_ns > 0 && m.u.status.st.total.kernel_ns > d->kernel_ns_last ?
		(double)(m.u.status.st.total.kernel_ns - d->kernel_ns_last) / (double)period_ns :
		0.0;
	d->kernel_ns_last = m.u.status.st.total.kernel_ns;
	m.id = rpci_ctrl_chan_next_id(srv->chan);
	d->status_id = m.id;
	rpci_ctrl_chan_send(srv->chan, srv->selector_mac, &m);
}

/*
 * A session ended: one more status at once, with that session's client,
 * number and last figures, so that the selector counts all of it for its
 * client (the device itself is described as it is now).
 */
static void
send_session_end(struct server *srv, struct server_dev *d)
{
	struct rpci_ctrl_msg m;

	status_fill(srv, d, &m);
	memcpy(m.u.status.st.client_mac, d->ended_mac, 6);
	m.u.status.st.session = d->ended_id;
	m.u.status.st.usage = d->session_final;
	m.id = rpci_ctrl_chan_next_id(srv->chan);
	rpci_ctrl_chan_send(srv->chan, srv->selector_mac, &m);
}

static void
on_ack(struct server *srv, const struct rpci_ctrl_msg *m)
{
	unsigned int i;

	for (i = 0; i < srv->nb_devs; i++) {
		struct server_dev *d = &srv->devs[i];

		if (m->u.ack.acked_id == d->register_id && m->u.ack.acked_id != 0) {
			if (m->u.ack.status == 0) {
				if (!d->registered) {
					AGENT_LOG(INFO, "%s registered with the selector",
						  d->conf->name);
				}
				d->registered = true;
			} else {
				AGENT_LOG(WARNING, "%s: the selector refused its registration: %s",
					  d->conf->name, strerror(-m->u.ack.status));
			}
			d->register_id = 0;
		} else if (m->u.ack.acked_id == d->status_id && m->u.ack.status == -ENOENT) {
			/* The selector does not know it (it restarted): register again. */
			d->registered = false;
			send_register(srv, d);
		}
	}
}

static void
on_attach(struct server *srv, const uint8_t src[6], const struct rpci_ctrl_msg *m)
{
	const struct rpci_sel_attachment *att = &m->u.attach.att;
	struct server_dev *d = server_dev_find(srv, att->device);
	struct rpci_link_session *s;
	char mac[18];

	if (d == NULL || strcmp(att->server, srv->host->name) != 0) {
		rpci_ctrl_chan_ack(srv->chan, src, m->id, -ENOENT);
		return;
	}
	if (d->attached && d->lease_id == att->lease_id) {
		rpci_ctrl_chan_ack(srv->chan, src, m->id, 0); /* a repeat */
		return;
	}
	s = server_dev_session(d);
	if (s != NULL && memcmp(rpci_link_session_peer(s)->addr_bytes, att->client_mac, 6) != 0) {
		/* The selector gave the device to someone else: the old lease is over. */
		AGENT_LOG(INFO, "%s: dropping the session of a client whose lease ended",
			  d->conf->name);
		server_drop_session(srv, d);
	}
	d->attached = true;
	d->lease_id = att->lease_id;
	memcpy(d->client_mac, att->client_mac, 6);
	AGENT_LOG(INFO, "%s: lease %" PRIu64 " for client %s", d->conf->name, att->lease_id,
		  rpci_ctrl_mac_str(att->client_mac, mac));
	rpci_ctrl_chan_ack(srv->chan, src, m->id, 0);
}

static void
on_detach(struct server *srv, const uint8_t src[6], const struct rpci_ctrl_msg *m)
{
	unsigned int i;

	for (i = 0; i < srv->nb_devs; i++) {
		struct server_dev *d = &srv->devs[i];

		if (!d->attached || d->lease_id != m->u.detach.lease_id) {
			continue;
		}
		AGENT_LOG(INFO, "%s: lease %" PRIu64 " ended by the selector: %s", d->conf->name,
			  d->lease_id, m->u.detach.reason);
		d->attached = false;
		if (server_dev_session(d) != NULL) {
			server_drop_session(srv, d);
		}
	}
	/* Acknowledged even when unknown: it is over either way. */
	rpci_ctrl_chan_ack(srv->chan, src, m->id, 0);
}

/* A control message for this process, from the port or from within it. */
static void
agent_dispatch(struct server *srv, const uint8_t src[6], const void *body, uint16_t len)
{
	struct rte_ether_addr from;
	struct rpci_ctrl_msg m;
	int type;

	/* Routed by type only; the channel that takes it checks everything. */
	type = rpci_ctrl_chan_peek_type(srv->chan, body, len);
	if (type > 0) {
		if (srv->selnode != NULL &&
		    (for_selector((enum rpci_ctrl_type)type) || type == RPCI_CTRL_ACK)) {
			/* ACKs go to both: each looks for its own message ids. */
			memcpy(from.addr_bytes, src, 6);
			selnode_rx(srv->selnode, &from, body, len);
			if (type != RPCI_CTRL_ACK) {
				return;
			}
		}
		/* The others are refused (and counted) by the agent's channel: not a server's. */
	}
	/* Decoded again (and counted) by the agent's own channel. */
	if (rpci_ctrl_chan_rx(srv->chan, src, body, len, &m) < 0) {
		return;
	}
	switch (m.type) {
	case RPCI_CTRL_ACK:
		on_ack(srv, &m);
		break;
	case RPCI_CTRL_ATTACH:
		on_attach(srv, src, &m);
		break;
	case RPCI_CTRL_DETACH:
		on_detach(srv, src, &m);
		break;
	default:
		break;
	}
}

static void
agent_local_rx(void *arg, const uint8_t src[6], const void *body, uint16_t len)
{
	agent_dispatch(arg, src, body, len);
}

void
agent_rx_ctrl(struct rpci_link *link, const struct rte_ether_addr *src, const void *body,
	      uint16_t len, void *arg)
{
	RTE_SET_USED(link);
	agent_dispatch(arg, src->addr_bytes, body, len);
}

int
agent_init(struct server *srv)
{
	const struct rpci_conf_selector *cs = &srv->conf->selector;
	const struct rpci_conf_host *sh;
	unsigned int i;

	if (!cs->present) {
		return 0;
	}
	sh = rpci_conf_host_find(srv->conf, cs->host);
	if (sh == NULL) {
		return -1;
	}
	srv->with_selector = true;
	memcpy(srv->selector_mac, sh->mac, 6);
	srv->chan = rpci_ctrl_chan_create(srv->link, RETRY_MS, RETRY_MAX, 256,
					  (rte_get_timer_cycles() & 0xffffffffull) << 24);
	if (srv->chan == NULL) {
		fprintf(stderr, "rpci-server: cannot create the control channel\n");
		return -1;
	}
	if (app_security_add_chan(&srv->security, "server", srv->chan, RPCI_ROLE_SERVER) < 0) {
		rpci_ctrl_chan_free(srv->chan);
		srv->chan = NULL;
		return -1;
	}
	rpci_ctrl_chan_set_local(srv->chan, srv->host->mac, agent_local_rx, srv);
	if (srv->host->roles & RPCI_ROLE_SELECTOR) {
		if (selnode_init(&srv->selnode_storage, srv->conf, srv->link) < 0) {
			rpci_ctrl_chan_free(srv->chan);
			srv->chan = NULL;
			return -1;
		}
		srv->selnode = &srv->selnode_storage;
		srv->security.node = srv->selnode;
		if (app_security_add_chan(&srv->security, "selector", srv->selnode->chan,
					  RPCI_ROLE_SELECTOR) < 0) {
			return -1; /* agent_fini() frees what was made */
		}
		rpci_ctrl_chan_set_local(srv->selnode->chan, srv->host->mac, agent_local_rx, srv);
	}
	srv->heartbeat_tsc = rte_get_timer_hz() * cs->heartbeat_ms / 1000;
	srv->last_heartbeat_tsc = rte_get_timer_cycles();
	srv->next_heartbeat_tsc = srv->last_heartbeat_tsc + srv->heartbeat_tsc;
	for (i = 0; i < srv->nb_devs; i++) {
		send_register(srv, &srv->devs[i]);
	}
	return 0;
}

void
agent_fini(struct server *srv)
{
	if (srv->selnode != NULL) {
		selnode_fini(srv->selnode);
		srv->selnode = NULL;
	}
	rpci_ctrl_chan_free(srv->chan);
	srv->chan = NULL;
}

int
agent_poll(struct server *srv)
{
	uint64_t now;
	unsigned int i;
	int work = 0;

	if (!srv->with_selector) {
		return 0;
	}
	work += rpci_ctrl_chan_poll(srv->chan);
	if (srv->selnode != NULL) {
		work += selnode_poll(srv->selnode);
	}
	for (i = 0; i < srv->nb_devs; i++) {
		if (srv->devs[i].session_ended) {
			srv->devs[i].session_ended = false;
			if (srv->devs[i].registered) {
				send_session_end(srv, &srv->devs[i]);
				work++;
			}
		}
	}
	now = rte_get_timer_cycles();
	if (now >= srv->next_heartbeat_tsc) {
		uint64_t period_ns = (now - srv->last_heartbeat_tsc) * 1000000000ull /
				     rte_get_timer_hz();

		for (i = 0; i < srv->nb_devs; i++) {
			struct server_dev *d = &srv->devs[i];

			if (d->registered) {
				send_status(srv, d, period_ns);
			} else if (d->register_id == 0) {
				/* Refused or given up: try again each heartbeat. */
				send_register(srv, d);
			}
		}
		srv->last_heartbeat_tsc = now;
		srv->next_heartbeat_tsc = now + srv->heartbeat_tsc;
		work++;
	}
	return work;
}

int
agent_open_allowed(struct server *srv, struct server_dev *d, const struct rpci_link_open_msg *req,
		   const struct rte_ether_addr *peer, char *reason, size_t len)
{
	if (!srv->with_selector) {
		return 0;
	}
	if (!d->attached || d->lease_id != req->lease_id ||
	    memcmp(d->client_mac, peer->addr_bytes, 6) != 0) {
		/* The selector's ATTACH may still be on its way: worth another try. */
		snprintf(reason, len, "%.24s is not attached to this client by the selector",
			 d->conf->name);
		return -EAGAIN;
	}
	return 0;
}

void
agent_session_ended(struct server *srv, struct server_dev *d)
{
	RTE_SET_USED(srv);
	/* Its client released it, or is gone: the lease is over here. */
	d->attached = false;
}
