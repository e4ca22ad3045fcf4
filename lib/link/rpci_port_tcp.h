/* SPDX-License-Identifier: BSD-3-Clause */

#ifndef RPCI_PORT_TCP_H
#define RPCI_PORT_TCP_H

/**
 * @file
 * Kernel-TCP ports: the link's frames over a TCP connection, for hosts
 * without a DPDK-capable port (doc/design.md, "Kernel-TCP transport").
 *
 * A host selects one in its deployment file with a vdev string that names
 * it, in place of a DPDK vdev:
 *
 *     vdevs = [ "net_rpci_tcp0,listen=127.0.0.1:7300" ];   // the server
 *     vdevs = [ "net_rpci_tcp0,connect=127.0.0.1:7300" ];  // the client
 *
 * (optional `,mac=xx:xx:xx:xx:xx:xx`). EAL never sees these strings
 * (rpci_conf_eal_argv() leaves them out); rpci_link_create_for_host()
 * creates the port after rte_eal_init(), as a net_ring ethdev whose burst
 * callbacks carry the frames over the socket, so that it has a port id like
 * any other port. It is the host's `port` when it is the host's only vdev.
 * Bursts, and rpci_port_is_up(), must come from one thread.
 */

#include <stdbool.h>
#include <stdint.h>

#include "rpci_conf.h"

struct rpci_conf_host;
struct rte_mbuf;
struct rte_mempool;

/** The name prefix of a kernel-TCP port's vdev string (the file's, lib/conf). */
#define RPCI_PORT_TCP_PREFIX RPCI_CONF_TCP_VDEV_PREFIX

/**
 * Longest frame a TCP port carries (Ethernet header included): the link's
 * largest (RPCI_LINK_FRAME_MAX, 65024 bytes); a longer length prefix, which
 * the 2 bytes could say, is a broken stream.
 */
#define RPCI_PORT_TCP_FRAME_MAX 65024

/** Counters of a TCP port. */
struct rpci_port_tcp_stats {
	uint64_t ipackets;    /**< frames received */
	uint64_t opackets;    /**< frames taken for sending */
	uint64_t ibytes;      /**< their bytes, length prefixes excluded */
	uint64_t obytes;
	uint64_t ierrors;     /**< bad length prefixes (each drops the connection) */
	uint64_t oerrors;     /**< frames too short or too long to send (dropped) */
	uint64_t rx_nombuf;   /**< RX bursts cut short for want of an mbuf */
	uint64_t tx_partial;  /**< frames the kernel took in part (the rest sent later) */
	uint64_t connects;    /**< connections made */
	uint64_t disconnects; /**< connections lost */
	/**
	 * Listening side with authentication: new connections that carried a
	 * frame that verified (an OPEN, a CTRL message, a session's frame) and
	 * took the port over, and those dropped without one (too many frames,
	 * too long, or pushed out by newer ones).
	 */
	uint64_t takeovers;
	uint64_t takeovers_refused;
};

/**
 * Whether a vdev string names a kernel-TCP port ("net_rpci_tcp...").
 */
bool rpci_port_tcp_is_spec(const char *vdev);

/**
 * Create a kernel-TCP port (after rte_eal_init()). The listening side binds
 * and listens at once (port 0: any free one, see
 * rpci_port_tcp_local_port()); the connecting side connects when polled.
 *
 * @param spec
 *   "net_rpci_tcpN,listen=A.B.C.D:PORT" or "net_rpci_tcpN,connect=A.B.C.D:PORT",
 *   optionally ",mac=MAC". N: any name characters, 19 characters at most in all.
 * @param port_id
 *   Its ethdev port id.
 * @return
 *   0, -EINVAL (bad string, logged), -EADDRINUSE and other socket errors,
 *   -ENOMEM, or the error of the ethdev's creation (e.g. the name exists).
 */
int rpci_port_tcp_create(const char *spec, uint16_t *port_id);

/**
 * Create the kernel-TCP ports a host's vdevs name, those not created yet,
 * in the order of the list.
 *
 * @return
 *   How many were created, or a negative errno (rpci_port_tcp_create()).
 */
int rpci_port_tcp_create_for_host(const struct rpci_conf_host *host);

/** Whether a port is a kernel-TCP port. */
bool rpci_port_is_tcp(uint16_t port_id);

/**
 * A TCP port's counters.
 *
 * @return
 *   0, or -ENODEV (not a TCP port).
 */
int rpci_port_tcp_stats_get(uint16_t port_id, struct rpci_port_tcp_stats *st);

/**
 * The TCP port number a TCP port listens on (the one the kernel chose for
 * port 0), or connects to.
 *
 * @return
 *   0, or -ENODEV.
 */
int rpci_port_tcp_local_port(uint16_t port_id, uint16_t *tcp_port);

/**
 * Drop a TCP port's connection now (the connecting side connects again
 * after its back-off; the listening side waits for a peer). For tests.
 *
 * @return
 *   0, or -ENODEV.
 */
int rpci_port_tcp_disconnect(uint16_t port_id);

/**
 * Whether a listening port keeps its connection while a new peer proves
 * itself (the link turns it on when it authenticates its sessions): a new
 * connection is then a candidate, whose frames are delivered (each marked
 * with it), and it replaces the current one only once the link says that
 * one of them verified (rpci_port_tcp_frame_verified()). A candidate that
 * has sent RPCI_PORT_TCP_PROBATION_FRAMES frames, or been connected
 * RPCI_PORT_TCP_PROBATION_MS, without one is dropped and counted; so is
 * the oldest of RPCI_PORT_TCP_CANDIDATES when one more connects. Without
 * a current connection a new one is taken at once (it takes nothing from
 * anyone). Off: a new connection replaces the current one at once.
 *
 * @return
 *   0, or -ENODEV (not a TCP port).
 */
int rpci_port_tcp_set_probation(uint16_t port_id, bool on);

/** Frames a candidate connection may send before one of them must verify. */
#define RPCI_PORT_TCP_PROBATION_FRAMES 64
/** How long a candidate connection may wait for a frame that verifies. */
#define RPCI_PORT_TCP_PROBATION_MS 3000
/** Candidate connections kept at once. */
#define RPCI_PORT_TCP_CANDIDATES 4

/**
 * A received frame verified (the link calls it): if it came on a candidate
 * connection, that connection takes the port over (the current one is
 * dropped).
 *
 * @param port_id
 *   The port (nothing happens if it is not a TCP port).
 * @param m
 *   The frame, as the port delivered it (or a copy with its mark).
 */
void rpci_port_tcp_frame_verified(uint16_t port_id, const struct rte_mbuf *m);

/*
 * For port.c only: rpci_port_init() attaches the callbacks (the RX pool),
 * rpci_port_is_up() asks, rpci_port_close() detaches then destroys.
 */
int link_tcp_port_attach(uint16_t port_id, struct rte_mempool *pool);
bool link_tcp_port_up(uint16_t port_id);
void link_tcp_port_detach(uint16_t port_id);
void link_tcp_port_destroy(uint16_t port_id);

#endif /* RPCI_PORT_TCP_H */
