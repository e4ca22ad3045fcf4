/* SPDX-License-Identifier: BSD-3-Clause */

#ifndef RPCI_PROXY_H
#define RPCI_PROXY_H

/**
 * @file
 * The client daemon's core (seed 004's proxy): on a client host it owns the
 * port, the link and every session, talks to the server selector (requests,
 * leases, renewals, reports, failover), and serves the programs of the host
 * that use remote devices through librpci.
 *
 * Each program is a function of its own on the fabric (its own requester
 * id) and holds its devices alone. It talks to the core through shared
 * memory (lib/ipc): a request ring, a completion ring and its heap, which
 * the core maps; the core forwards the program's requests to the device's
 * session (posted writes from the program's memory without a copy), routes
 * completions and the device's DMA and MSIs back to the program that owns
 * the device, and answers locally what never changes during a session
 * (the identity part of the configuration space, read once at attach, and
 * the read-only registers of an rpci virtual GPU).
 *
 * rpci-proxy is a thin daemon around this core; a process that owns a port
 * itself (rpci-run --config, rpci-bench) embeds the same core and uses it
 * through rpci_proxy_client_create().
 *
 * A core is used by one thread at a time (its poll loop).
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "rpci_conf.h"

#ifdef __cplusplus
extern "C" {
#endif

struct rpci_proxy;
struct rpci_client;
struct rpci_link;

/** Counters of a core. */
struct rpci_proxy_stats {
	uint64_t programs;        /**< programs served since start */
	uint64_t programs_refused;/**< HELLOs refused (bad, too many) */
	uint64_t program_violations; /**< programs cut off for breaking the protocol */
	uint64_t requests;        /**< requests taken from the rings */
	uint64_t requests_refused;/**< answered with an error (bad device, not open...) */
	uint64_t cfg_local;       /**< configuration reads answered from the cache */
	uint64_t cfg_forwarded;   /**< configuration requests forwarded */
	uint64_t mrd_local;       /**< register reads answered from the cache */
	uint64_t mrd_forwarded;   /**< memory reads forwarded */
	uint64_t mwr_forwarded;   /**< posted-write requests forwarded */
	uint64_t bytes_to_devices;   /**< bytes of posted writes */
	uint64_t bytes_from_devices; /**< bytes the devices wrote into programs' memory */
	uint64_t dma_reads_served;   /**< bytes the devices read from programs' memory */
	uint64_t dma_refused;     /**< device DMA outside its program's memory */
	uint64_t msi;             /**< MSIs routed to programs */
	uint64_t wakeups;         /**< eventfd signals to sleeping programs */
	uint64_t sessions_opened; /**< device sessions opened */
	uint64_t failovers;       /**< devices reconnected where the selector moved them */
	uint64_t resets;          /**< function-level resets devices announced */
};

/** One program, as telemetry and the console show it. */
struct rpci_proxy_app_info {
	uint32_t id;              /**< its number at this core */
	char name[32];            /**< what it calls itself */
	int pid;                  /**< its process (0: embedded) */
	uint32_t uid;             /**< its user */
	uint16_t requester_id;    /**< its id on the fabric */
	uint32_t devices;         /**< device slots in use */
	uint64_t shm_bytes;       /**< its shared memory */
	uint64_t requests;        /**< requests taken */
	uint64_t bytes_out;       /**< bytes it wrote to devices */
	uint64_t bytes_in;        /**< bytes its devices wrote to it */
	uint64_t errors;          /**< requests answered with an error */
};

/** One device slot of a program, as telemetry and the console show it. */
struct rpci_proxy_dev_info {
	uint32_t app_id;          /**< its program */
	uint32_t slot;            /**< the slot */
	const char *state;        /**< "connecting", "open", "lost", "closing"... */
	char server[32];
	char device[32];
	uint64_t lease_id;
	uint16_t completer_id;
	uint32_t vendor_device;   /**< configuration dword 0, 0 until read */
	uint32_t class_rev;       /**< configuration dword 2 */
};

/**
 * Create a core for a client host of a deployment: the host's port (as
 * rpci_link_create_for_host() brings it up), its link, and the control
 * channel to the selector if the deployment has one. Call after
 * rte_eal_init().
 *
 * @param conf
 *   The deployment (must outlive the core).
 * @param host
 *   Name of a client host of conf.
 * @param err
 *   Receives a message on failure.
 * @param err_len
 *   Size of err.
 * @return
 *   The core, or NULL with rte_errno set: EINVAL (not a client host),
 *   ENODEV (its port does not exist), EIO (the port would not start),
 *   ENOMEM.
 */
struct rpci_proxy *rpci_proxy_create(const struct rpci_conf *conf, const char *host, char *err,
				     size_t err_len);

/**
 * Listen for programs on the host's socket (its "proxy" group: path,
 * owner, group, mode). A stale socket of a dead daemon is replaced; one a
 * live daemon listens on is not.
 *
 * @param p
 *   The core.
 * @return
 *   0, -EADDRINUSE (a live daemon listens there), -ENOENT (no such owner
 *   or group), -ENAMETOOLONG, or the negative errno of the socket, bind,
 *   chown, chmod or listen that failed.
 */
int rpci_proxy_listen(struct rpci_proxy *p);

/**
 * Listen for programs on a socket of the caller's choosing (a process that
 * embeds the core and serves programs of its own, as rpci-bench does).
 *
 * @param p
 *   The core.
 * @param path
 *   The socket.
 * @param mode
 *   Its permission bits.
 * @return
 *   0, -EALREADY (listening already), or as rpci_proxy_listen().
 */
int rpci_proxy_listen_at(struct rpci_proxy *p, const char *path, uint32_t mode);

/**
 * How the sessions the core opens from now on protect their frames
 * (rpci-bench --auth both measures with and without): the link's default
 * (authenticated, encrypted with link.encrypt), or not authenticated (the
 * OPEN still is; the server must have auth.sessions "optional").
 *
 * @param p
 *   The core.
 * @param security
 *   enum rpci_link_security.
 * @return
 *   0, or -EINVAL (an unknown value, or a protection the link cannot give:
 *   any but DEFAULT and NONE without keys).
 */
int rpci_proxy_set_session_security(struct rpci_proxy *p, uint8_t security);

/**
 * Do the core's work once: the link, the programs' rings, new programs and
 * programs gone, sessions opening and closing, the selector's timers.
 *
 * @param p
 *   The core.
 * @return
 *   Work done (0: nothing; the caller may back off).
 */
int rpci_proxy_poll(struct rpci_proxy *p);

/**
 * Back off after a poll that did nothing, as the host's idle mode says: in
 * "adaptive" mode, after the configured number of empty polls, sleep until
 * a program rings the core's doorbell, a socket has news, or the sleep
 * (doubling up to the link's sleep_max_us) ends; in "poll" mode, spin.
 *
 * @param p
 *   The core.
 * @param work
 *   What the last poll returned.
 */
void rpci_proxy_idle(struct rpci_proxy *p, int work);

/**
 * Stop: tell the programs, close every session in order, release every
 * lease, tell the servers the port stops, free the link and the core.
 *
 * @param p
 *   The core; NULL is ignored.
 */
void rpci_proxy_destroy(struct rpci_proxy *p);

/**
 * A client (librpci) in this process, served by this core: what a program
 * that owns its port uses (rpci-run --config, rpci-bench). Its waits poll
 * the core. Destroy it with rpci_client_destroy() before the core.
 *
 * @param p
 *   The core.
 * @param name
 *   The program's name, for people.
 * @return
 *   The client, or NULL with errno set (ENOMEM, EUSERS: the core serves
 *   as many programs as it may).
 */
struct rpci_client *rpci_proxy_client_create(struct rpci_proxy *p, const char *name);

/**
 * The core's link (for the console, telemetry, raw benchmarks).
 *
 * @param p
 *   The core.
 * @return
 *   The link.
 */
struct rpci_link *rpci_proxy_link(const struct rpci_proxy *p);

struct rpci_ctrl_chan;
struct rpci_auth;

/**
 * The core's control channel to the selector, secured with the host's keys
 * (for "show security" and /rpci/security).
 *
 * @param p
 *   The core.
 * @return
 *   The channel, or NULL when the deployment has no selector.
 */
struct rpci_ctrl_chan *rpci_proxy_ctrl_chan(const struct rpci_proxy *p);

/**
 * The host's keys the core loaded.
 *
 * @param p
 *   The core.
 * @return
 *   The keys, or NULL when the deployment has no selector.
 */
struct rpci_auth *rpci_proxy_auth(const struct rpci_proxy *p);

/**
 * The core's counters.
 *
 * @param p
 *   The core.
 * @param stats
 *   Filled in.
 */
void rpci_proxy_stats_get(const struct rpci_proxy *p, struct rpci_proxy_stats *stats);

/**
 * The programs the core serves.
 *
 * @param p
 *   The core.
 * @param out
 *   Filled with up to n programs.
 * @param n
 *   Room in out.
 * @return
 *   The number of programs (may be more than n).
 */
unsigned int rpci_proxy_apps(const struct rpci_proxy *p, struct rpci_proxy_app_info *out,
			     unsigned int n);

/**
 * The device slots in use of every program.
 *
 * @param p
 *   The core.
 * @param out
 *   Filled with up to n slots.
 * @param n
 *   Room in out.
 * @return
 *   The number of slots in use (may be more than n).
 */
unsigned int rpci_proxy_devices(const struct rpci_proxy *p, struct rpci_proxy_dev_info *out,
				unsigned int n);

/**
 * The socket programs connect to.
 *
 * @param p
 *   The core.
 * @return
 *   Its path ("" while not listening).
 */
const char *rpci_proxy_socket_path(const struct rpci_proxy *p);

#ifdef __cplusplus
}
#endif

#endif /* RPCI_PROXY_H */
