/* SPDX-License-Identifier: BSD-3-Clause */

#ifndef RPCI_APP_SERVER_H
#define RPCI_APP_SERVER_H

/* rpci-server's state, shared by its files (main.c, agent.c, devices.c). */

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>

#include "app_console.h"
#include "app_security.h"
#include "rpci_conf.h"
#include "rpci_ctrl.h"
#include "rpci_ctrlnode.h"
#include "rpci_gpu.h"
#include "rpci_link.h"
#include "rpci_pci_host.h"
#include "rpci_selector.h"
#include "rpci_vgpu.h"

/* Clients whose usage a server keeps (the least recently seen go). */
#define SERVER_CLIENTS_MAX 64

/* A client's usage of this server's devices, over its sessions. */
struct server_client {
	uint8_t mac[6];
	bool used;
	uint64_t sessions;
	struct rpci_sel_usage usage;
	uint64_t last_tsc;
};

struct server_dev {
	const struct rpci_conf_device *conf;
	/* a virtual GPU (kind "vgpu") ... */
	struct rpci_gpu *gpu;
	struct rpci_vgpu *vgpu;
	/* ... or a PCI function of this host (kind "pci") */
	struct rpci_pci_fn *pfn;
	uint16_t completer_id;
	/* the session now: its client, its number, the device's usage when it began */
	uint8_t session_mac[6];
	uint64_t session_id;
	struct rpci_sel_usage session_base;
	bool session_ended;     /* ended since the last STATUS: its last report is due */
	uint8_t ended_mac[6];   /* that session's client, number and usage */
	uint64_t ended_id;
	struct rpci_sel_usage session_final;
	char profile[RPCI_CONF_NAME_MAX]; /* the personality's profile ("" : the file's own) */
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
	/* the selector: ours to report to (lib/ctrlnode's agent), or in this process too */
	bool with_selector;
	struct rpci_ctrlnode_server *agent;
	struct rpci_ctrlnode_selector *selector; /* this host runs the selector too */
	struct app_console console;
	struct app_security security; /* refusals; the keys of a control plane (with a selector) */
	int file_dir_fd;         /* the host's file_dir, or -1 */
	struct server_client clients[SERVER_CLIENTS_MAX];
};

/*
 * agent.c: the server's side of lib/ctrlnode's agent (what it asks of the
 * devices) and the selector this process runs too.
 */

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
 * selector attached it to, under that lease; without, only a client host of
 * the file whose server is this one (the host whose key authenticated the
 * OPEN, peer_host; without keys the host of the peer's address). 0, or a
 * negative errno with reason filled.
 */
int agent_open_allowed(struct server *srv, struct server_dev *d, int peer_host,
		       const struct rpci_link_open_msg *req, const struct rte_ether_addr *peer,
		       char *reason, size_t len);

/* Device d's session ended (closed or dead): its lease is over. */
void agent_session_ended(struct server *srv, struct server_dev *d);

/* The lease d is attached under, or 0. */
uint64_t agent_dev_lease(const struct server *srv, const struct server_dev *d);

/* Drop d's session (if any) and clear the device. */
void server_drop_session(struct server *srv, struct server_dev *d);

/* devices.c: the devices of either kind, their sessions, usage and console. */

/* Create every device of the host (before EAL: backends keep the CPU set). 0 or -1. */
int devices_create(struct server *srv);

/* Free them. */
void devices_free(struct server *srv);

/* The session that holds d, or NULL. */
struct rpci_link_session *server_dev_session(const struct server_dev *d);

/* A message of d's session. */
int server_dev_rx(struct server_dev *d, const struct rpci_tlp *msg);

/* Give d to a session: 0, -EAGAIN (still being cleared), -EBUSY. */
int server_dev_bind(struct server *srv, struct server_dev *d, struct rpci_link_session *s,
		    uint16_t requester_id);

/* Take d back from its session (accounts its client's usage). */
void server_dev_unbind(struct server *srv, struct server_dev *d);

/* Whether d is still being cleared after its last client. */
bool server_dev_resetting(const struct server_dev *d);

/* d's usage since start, and its current session's (zero without one). */
void server_dev_usage(const struct server_dev *d, struct rpci_sel_usage *total,
		      struct rpci_sel_usage *session);

/* d's identity now: vendor, device, class. */
void server_dev_identity(const struct server_dev *d, uint16_t *vendor, uint16_t *device,
			 uint32_t *class_code);

/* Device d by name, or NULL. */
struct server_dev *server_dev_find(struct server *srv, const char *name);

/* The console's server commands and the /rpci/devices, /rpci/clients telemetry. */
void devices_console_setup(struct server *srv);
int devices_telemetry_register(struct server *srv);

/* The counters printed at exit. */
void devices_print_stats(struct server *srv);

#endif /* RPCI_APP_SERVER_H */
