/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * rpci-server's selector agent: lib/ctrlnode's server agent registers the
 * host's devices with the server selector, reports their status every
 * heartbeat, takes the selector's attachments (only an attached client may
 * open a device) and detachments; this file answers what it asks of the
 * devices and ends the sessions it says are over. A host that is the
 * deployment's selector runs the selector node in this process too;
 * control messages between the two stay in the process.
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_log.h>

#include "server.h"

RTE_LOG_REGISTER(rpci_agent_logtype, rpci.app.server.agent, INFO);

#define AGENT_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_ ## level, rpci_agent_logtype, "rpci-server: " fmt "\n", ##__VA_ARGS__)

/* What REGISTER says of a device (the agent adds who and where it is). */
static void
agent_device_info(void *arg, unsigned int dev, struct rpci_sel_device_info *info)
{
	struct server *srv = arg;
	struct server_dev *d = &srv->devs[dev];
	struct rpci_gpu_info gi;
	uint32_t i;

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

/* A device's status: memory, its session, its identity now, its usage since start and the
 * session's. */
static void
agent_device_status(void *arg, unsigned int dev, struct rpci_sel_device_status *st)
{
	struct server *srv = arg;
	struct server_dev *d = &srv->devs[dev];
	struct rpci_link_session *s = server_dev_session(d);

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

/* The selector gave a device to a client: another client's session on it is over. */
static void
agent_attached(void *arg, unsigned int dev, const struct rpci_sel_attachment *att)
{
	struct server *srv = arg;
	struct server_dev *d = &srv->devs[dev];
	struct rpci_link_session *s = server_dev_session(d);

	if (s != NULL && memcmp(rpci_link_session_peer(s)->addr_bytes, att->client_mac, 6) != 0) {
		AGENT_LOG(INFO, "%s: dropping the session of a client whose lease ended",
			  d->conf->name);
		server_drop_session(srv, d);
	}
}

/* The selector ended a device's lease: its session is over. */
static void
agent_detached(void *arg, unsigned int dev, uint64_t lease_id, const char *reason)
{
	struct server *srv = arg;
	struct server_dev *d = &srv->devs[dev];

	RTE_SET_USED(lease_id);
	RTE_SET_USED(reason);
	if (server_dev_session(d) != NULL) {
		server_drop_session(srv, d);
	}
}

static const struct rpci_ctrlnode_server_ops g_agent_ops = {
	.device_info = agent_device_info,
	.device_status = agent_device_status,
	.attached = agent_attached,
	.detached = agent_detached,
};

void
agent_rx_ctrl(struct rpci_link *link, const struct rte_ether_addr *src, const void *body,
	      uint16_t len, void *arg)
{
	struct server *srv = arg;

	RTE_SET_USED(link);
	if (srv->agent != NULL) {
		rpci_ctrlnode_server_rx(srv->agent, src->addr_bytes, body, len);
	}
}

int
agent_init(struct server *srv)
{
	struct rpci_ctrlnode_params params;

	if (!srv->conf->selector.present) {
		return 0;
	}
	memset(&params, 0, sizeof(params));
	params.conf = srv->conf;
	params.host = srv->host;
	params.auth = srv->security.auth;
	params.io.link = srv->link;
	if (strcmp(srv->conf->selector.host, srv->host->name) == 0) {
		srv->selector = rpci_ctrlnode_selector_create(&params);
		if (srv->selector == NULL) {
			fprintf(stderr, "rpci-server: cannot start the selector: %s\n",
				strerror(errno));
			return -1;
		}
	}
	srv->agent = rpci_ctrlnode_server_create(&params, &g_agent_ops, srv, srv->selector);
	if (srv->agent == NULL) {
		fprintf(stderr, "rpci-server: cannot start the selector agent: %s\n",
			strerror(errno));
		return -1; /* agent_fini() frees what was made */
	}
	srv->with_selector = true;
	if (app_security_add_chan(&srv->security, "server",
				  rpci_ctrlnode_server_chan(srv->agent)) < 0) {
		return -1;
	}
	if (srv->selector != NULL) {
		srv->security.node = srv->selector;
		if (app_security_add_chan(&srv->security, "selector",
					  rpci_ctrlnode_selector_chan(srv->selector)) < 0) {
			return -1;
		}
	}
	return 0;
}

void
agent_fini(struct server *srv)
{
	rpci_ctrlnode_server_free(srv->agent);
	srv->agent = NULL;
	rpci_ctrlnode_selector_free(srv->selector);
	srv->selector = NULL;
}

int
agent_poll(struct server *srv)
{
	unsigned int i;

	if (srv->agent == NULL) {
		return 0;
	}
	for (i = 0; i < srv->nb_devs; i++) {
		struct server_dev *d = &srv->devs[i];

		if (d->session_ended) {
			d->session_ended = false;
			rpci_ctrlnode_server_session_ended(srv->agent, i, d->ended_mac, d->ended_id,
							   &d->session_final);
		}
	}
	return rpci_ctrlnode_server_poll(srv->agent);
}

int
agent_open_allowed(struct server *srv, struct server_dev *d, int peer_host,
		   const struct rpci_link_open_msg *req, const struct rte_ether_addr *peer,
		   char *reason, size_t len)
{
	if (srv->agent == NULL) {
		return rpci_ctrlnode_open_direct_allowed(srv->conf, srv->host, peer_host,
							 peer->addr_bytes, reason, len);
	}
	return rpci_ctrlnode_server_open_allowed(srv->agent, (unsigned int)(d - srv->devs),
						 req->lease_id, peer->addr_bytes, reason, len);
}

void
agent_session_ended(struct server *srv, struct server_dev *d)
{
	/* Its client released it, or is gone: the lease is over here. */
	if (srv->agent != NULL) {
		rpci_ctrlnode_server_lease_ended(srv->agent, (unsigned int)(d - srv->devs));
	}
}

uint64_t
agent_dev_lease(const struct server *srv, const struct server_dev *d)
{
	if (srv->agent == NULL) {
		return 0;
	}
	return rpci_ctrlnode_server_lease(srv->agent, (unsigned int)(d - srv->devs));
}
