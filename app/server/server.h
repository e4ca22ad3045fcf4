/* SPDX-License-Identifier: BSD-3-Clause */

#ifndef RPCI_APP_SERVER_H
#define RPCI_APP_SERVER_H

/* rpci-server's state, shared by its files (main.c, agent.c). */

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>

#include "app_console.h"
#include "app_security.h"
#include "rpci_conf.h"
#include "rpci_ctrl.h"
#include "rpci_gpu.h"
#include "rpci_link.h"
#include "rpci_vgpu.h"
#include "selnode.h"

struct server_dev {
	const struct rpci_conf_device *conf;
	struct rpci_gpu *gpu;
	struct rpci_vgpu *vgpu;
	uint16_t completer_id;
	/* with a selector */
	bool registered;        /* the selector acknowledged our REGISTER */
	uint64_t register_id;   /* id of the REGISTER in flight */
	uint64_t status_id;     /* id of the last STATUS */
	bool attached;          /* the selector attached it to client_mac */
	uint64_t lease_id;
	uint8_t client_mac[6];
	uint64_t kernel_ns_last;/* for the load of the last heartbeat period */
};

struct server {
	const struct rpci_conf *conf;
	const struct rpci_conf_host *host;
	uint16_t host_index;
	struct server_dev devs[RPCI_CONF_DEVICES_MAX];
	unsigned int nb_devs;
	struct rpci_link *link;
	struct rpci_port_info port_info;
	/* memif: stop polling while a departing peer's link goes down */
	bool quiesce;
	uint64_t quiesce_deadline;
	uint64_t quiesce_resume;
	/* the selector: ours to report to, or in this process too */
	bool with_selector;
	uint8_t selector_mac[6];
	struct rpci_ctrl_chan *chan;
	uint64_t heartbeat_tsc;
	uint64_t next_heartbeat_tsc;
	uint64_t last_heartbeat_tsc;
	struct selnode *selnode; /* this host runs the selector too */
	struct selnode selnode_storage;
	struct app_console console;
	struct app_security security; /* keys and refusals (with a selector) */
};

/* Set up the selector agent (and the embedded selector). 0 or -1. */
int agent_init(struct server *srv);

/* Free what agent_init() made. */
void agent_fini(struct server *srv);

/* A CTRL datagram arrived (the link's rx_ctrl). */
void agent_rx_ctrl(struct rpci_link *link, const struct rte_ether_addr *src, const void *body,
		   uint16_t len, void *arg);

/* Registrations, heartbeats, retries; the embedded selector's timers. */
int agent_poll(struct server *srv);

/*
 * Whether a client may open device d: with a selector, only the client the
 * selector attached it to, under that lease. 0, or a negative errno with
 * reason filled.
 */
int agent_open_allowed(struct server *srv, struct server_dev *d,
		       const struct rpci_link_open_msg *req, const struct rte_ether_addr *peer,
		       char *reason, size_t len);

/* Device d's session ended (closed or dead). */
void agent_session_ended(struct server *srv, struct server_dev *d);

/* Drop d's session (if any) and clear the device. */
void server_drop_session(struct server_dev *d);

#endif /* RPCI_APP_SERVER_H */
