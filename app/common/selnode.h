/* SPDX-License-Identifier: BSD-3-Clause */

#ifndef RPCI_APP_SELNODE_H
#define RPCI_APP_SELNODE_H

/*
 * The server selector as a node on the fabric: lib/selector's decisions,
 * taken from control messages that arrive on a link and sent back as
 * control messages. Runs alone (rpci-selector) or inside another role's
 * process (a host whose roles include "selector"). Private to app/.
 */

#include <stdint.h>

#include <rte_ether.h>

#include "rpci_conf.h"
#include "rpci_ctrl.h"
#include "rpci_link.h"
#include "rpci_selector.h"

/* Counters of a selector node. */
struct selnode_stats {
	uint64_t registers;
	uint64_t statuses;
	uint64_t requests;
	uint64_t attaches;
	uint64_t rejects;
	uint64_t detaches;
	uint64_t failovers;
	uint64_t releases;
	uint64_t reports;
	uint64_t messages;          /* passed on */
	uint64_t messages_refused;  /* from a host that is not a client, or not the one it names */
	uint64_t unexpected; /* control messages a selector does not take */
	uint64_t not_holder; /* RELEASE or REPORT of a lease its sender does not hold */
	uint64_t over_limit; /* REQUESTs refused: the client is at its limits */
};

/* Messages between clients passed on lately: a sender's retry is not passed on twice. */
#define SELNODE_MSG_SEEN 64

struct selnode {
	const struct rpci_conf *conf;
	struct rpci_selector *sel;
	struct rpci_ctrl_chan *chan;
	struct selnode_stats stats;
	uint64_t last_tick_tsc;
	struct {
		uint8_t mac[6];
		uint64_t id;
	} msg_seen[SELNODE_MSG_SEEN];
	unsigned int msg_seen_next;
};

/*
 * Set up a node on a link (the link's rx_ctrl callback must pass CTRL
 * datagrams to selnode_rx()). The caller secures n->chan for the selector
 * role (app_security_add_chan()). 0 or a negative errno (message printed).
 */
int selnode_init(struct selnode *n, const struct rpci_conf *conf, struct rpci_link *link);

/* Free what selnode_init() made. */
void selnode_fini(struct selnode *n);

/* A CTRL datagram arrived. */
void selnode_rx(struct selnode *n, const struct rte_ether_addr *src, const void *body,
		uint16_t len);

/* Timers: heartbeats, leases, retries. Returns the work done. */
int selnode_poll(struct selnode *n);

/* Operator actions (console): they send what the selector decides. */
int selnode_attach(struct selnode *n, const char *server, const char *device,
		   const uint8_t client_mac[6], char *msg, size_t len);
int selnode_detach(struct selnode *n, uint64_t lease_id, char *msg, size_t len);
int selnode_drain(struct selnode *n, const char *server, bool on, char *msg, size_t len);

/*
 * Who sent a MESSAGE: the client host of conf whose MAC is the frame's
 * source src, when the message names that host as its sender. NULL, and
 * why set, otherwise (no such host, not a client, another name).
 */
const struct rpci_conf_host *selnode_message_sender(const struct rpci_conf *conf,
						    const uint8_t src[6],
						    const struct rpci_ctrl_msg *m,
						    const char **why);

/* Microseconds of the monotonic clock the selector runs on. */
uint64_t selnode_now_us(void);

#endif /* RPCI_APP_SELNODE_H */
