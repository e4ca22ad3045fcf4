/* SPDX-License-Identifier: BSD-3-Clause */

#ifndef RPCI_BENCH_H
#define RPCI_BENCH_H

/*
 * rpci-bench's raw frames on the client's own port (raw.c): the ceiling of
 * the link, measured with no protocol at all on the same port, lcore and
 * memif as rpci's frames. Used while the client has no session open, so
 * that nothing of rpci's is on the wire meanwhile.
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_mempool.h>

#include "rpci_conf.h"

/* Smallest raw frame (Ethernet header included, no FCS). */
#define RAW_FRAME_MIN 60

/* The client's port, used raw. */
struct raw_port {
	uint16_t port_id;
	bool guard;                 /* memif: bursts under the fault guard, as the link's */
	struct rte_mempool *pool;   /* our frames (RX mbufs come from the link's pool) */
	struct rte_ether_addr mac;  /* ours */
	struct rte_ether_addr peer; /* the server's */
	uint32_t max_frame;         /* largest frame: the link's bulk frame */
	bool idle_adaptive;         /* wait as the client library waits (the host's idle) */
	uint32_t spin_polls;
	uint32_t sleep_max_us;
	uint64_t timeout_tsc;       /* an answer that takes longer is an error */
	uint64_t seq;
	uint64_t stray;             /* frames received that were not the answer awaited */
};

/*
 * Set up raw access to a client host's port (already started by
 * rpci_client_create()): a pool for our frames of up to max_frame bytes
 * (one mbuf each), the addresses (ours: the host's; the peer's: the server
 * host's). 0, or a negative errno with a message in err.
 */
int raw_port_init(struct raw_port *rp, const struct rpci_conf *conf,
		  const struct rpci_conf_host *host, const struct rpci_conf_host *server,
		  uint32_t max_frame, char *err, size_t err_len);

/* Free the pool (the port stays the client's). */
void raw_port_fini(struct raw_port *rp);

/* Receive and free whatever arrives for ms milliseconds. */
void raw_drain(struct raw_port *rp, uint32_t ms);

/*
 * One ECHO round trip of a frame_len-byte frame: *cycles is the TSC time
 * from handing it to the port to having its echo. 0, -ETIMEDOUT (no
 * answer), -ENOMEM (no mbuf).
 */
int raw_rtt_once(struct raw_port *rp, uint32_t frame_len, uint64_t *cycles);

/*
 * Send SINK frames of frame_len bytes as fast as the port takes them for
 * `cycles` TSC cycles, between a RESET and a COUNT: *delivered is what the
 * server counted, *elapsed the TSC time from the first frame to the COUNT's
 * answer, *sent what we sent. 0, -ETIMEDOUT, -ENOMEM.
 */
int raw_rate_once(struct raw_port *rp, uint32_t frame_len, uint64_t cycles, uint64_t *sent,
		  uint64_t *delivered, uint64_t *elapsed);

#endif /* RPCI_BENCH_H */
