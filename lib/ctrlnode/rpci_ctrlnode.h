/* SPDX-License-Identifier: BSD-3-Clause */

#ifndef RPCI_CTRLNODE_H
#define RPCI_CTRLNODE_H

/**
 * @file
 * The endpoints of the control plane: the conversations that lib/ctrl's
 * messages make between the hosts of a deployment, one endpoint per role.
 *
 * - the client endpoint (a client host's daemon, lib/proxy): asks the
 *   selector for devices by requirements, collects the attachments,
 *   renews, releases and reports on leases, keeps the failover attachments
 *   that replace lost devices, sends and receives texts between clients;
 * - the server agent (rpci-server): registers the host's devices, sends
 *   their status every heartbeat and when a session ends, takes the
 *   selector's attachments and detachments, and says which client may
 *   open which device;
 * - the selector node (rpci-selector, or rpci-server on a host that also
 *   has the selector role): lib/selector's state machine driven by the
 *   messages, its decisions sent back as messages.
 *
 * Every endpoint owns a control channel (lib/ctrl: reliable send, ACKs,
 * retries) secured with the host's keys (lib/auth) for its role, so that
 * only messages its role may take, from hosts that may send them, reach
 * it (doc/security.md); what the owner must do (open a device, drop a
 * session, answer a program) it is told through the callbacks it gave at
 * creation. Nothing here knows the owner's structures. The endpoints run
 * in the owner's poll loop (one thread): rx when a CTRL datagram arrives,
 * poll for the timers.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rpci_conf.h"
#include "rpci_ctrl.h"
#include "rpci_selector.h"

#ifdef __cplusplus
extern "C" {
#endif

struct rpci_auth;

/** Reliable messages are sent again this often by default, milliseconds... */
#define RPCI_CTRLNODE_RETRY_MS 50
/** ...at most this many times (2 s). */
#define RPCI_CTRLNODE_MAX_TRIES 40
/** A client asks again for an unanswered request this often, milliseconds... */
#define RPCI_CTRLNODE_REQUEST_RETRY_MS 250
/** ...and gives up after this long. */
#define RPCI_CTRLNODE_REQUEST_TIMEOUT_MS 5000
/** Requests of a client endpoint in flight at once. */
#define RPCI_CTRLNODE_REQUESTS_MAX 16
/** Devices one request may ask for (what REQUEST's "count" may say). */
#define RPCI_CTRLNODE_REQUEST_COUNT_MAX 16
/** Failover attachments a client endpoint keeps until they are taken. */
#define RPCI_CTRLNODE_FAILOVERS_MAX 16
/** Texts between clients a selector remembers, so that a retry is passed on once. */
#define RPCI_CTRLNODE_MSG_SEEN 64

/** What every endpoint is made from. */
struct rpci_ctrlnode_params {
	/** The deployment (must outlive the endpoint). */
	const struct rpci_conf *conf;
	/** The host of conf this endpoint plays. */
	const struct rpci_conf_host *host;
	/**
	 * The host's keys (rpci_auth_create(); must outlive the endpoint): the
	 * channel is secured with them for the endpoint's role.
	 */
	struct rpci_auth *auth;
	/**
	 * Where the datagrams leave (a link, or a function), and the clock of
	 * the channel and of the endpoint's timers (NULL: the TSC).
	 */
	struct rpci_ctrl_chan_io io;
	/** Reliable messages resent this often (0: RPCI_CTRLNODE_RETRY_MS). */
	uint32_t retry_ms;
	/** ...this many times at most (0: RPCI_CTRLNODE_MAX_TRIES). */
	uint32_t max_tries;
};

/* ----------------------------------------------------------- the selector */

struct rpci_ctrlnode_selector;

/** Counters of a selector node. */
struct rpci_ctrlnode_selector_stats {
	uint64_t registers;
	uint64_t statuses;
	uint64_t requests;
	uint64_t attaches;
	uint64_t rejects;
	uint64_t detaches;
	uint64_t failovers;
	uint64_t releases;
	uint64_t reports;
	uint64_t messages;         /**< texts passed on */
	uint64_t messages_refused; /**< from a host that is not a client, or not the one it names */
	uint64_t unexpected;       /**< control messages a selector does not take */
	uint64_t not_holder;       /**< RELEASE or REPORT of a lease its sender does not hold */
	uint64_t over_limit;       /**< REQUESTs refused: the client is at its limits */
};

/**
 * Create a selector node: lib/selector with the deployment's selector
 * section (policy, heartbeats, leases, a client's limits), on a channel
 * secured for the selector role.
 *
 * @param params
 *   The endpoint's making; params->host must be the deployment's selector.
 * @return
 *   The node, or NULL with errno EINVAL (a missing parameter, a host that
 *   is not the selector, an unknown policy), ENOMEM, or the channel's
 *   error (logged).
 */
struct rpci_ctrlnode_selector *
rpci_ctrlnode_selector_create(const struct rpci_ctrlnode_params *params);

/**
 * Free a selector node; NULL is ignored.
 */
void rpci_ctrlnode_selector_free(struct rpci_ctrlnode_selector *n);

/**
 * A CTRL datagram arrived: checked by the channel, then REGISTER, STATUS,
 * REQUEST, RELEASE, RENEW, REPORT and MESSAGE go to the selector, whose
 * decisions (ATTACH, REJECT, DETACH) leave at once. A RELEASE or REPORT
 * of a lease its sender does not hold is refused (ACK -EPERM, counted).
 *
 * @param n
 *   The node.
 * @param src
 *   The frame's source address.
 * @param body, len
 *   The datagram.
 */
void rpci_ctrlnode_selector_rx(struct rpci_ctrlnode_selector *n, const uint8_t src[6],
			       const void *body, uint16_t len);

/**
 * Timers: the channel's retries, heartbeats missed, leases expired (and
 * what the selector decides of them).
 *
 * @return
 *   The work done (messages sent or decided).
 */
int rpci_ctrlnode_selector_poll(struct rpci_ctrlnode_selector *n);

/**
 * The operator attaches a device to a client (console "attach").
 *
 * @param msg, len
 *   Receives what was done, or why not.
 * @return
 *   0, or lib/selector's error: -ENOENT (no such device), -EBUSY (not free).
 */
int rpci_ctrlnode_selector_attach(struct rpci_ctrlnode_selector *n, const char *server,
				  const char *device, const uint8_t client_mac[6], char *msg,
				  size_t len);

/**
 * The operator ends a lease (console "detach").
 *
 * @return
 *   0, or -ENOENT (no such lease), with msg filled.
 */
int rpci_ctrlnode_selector_detach(struct rpci_ctrlnode_selector *n, uint64_t lease_id,
				  char *msg, size_t len);

/**
 * The operator drains a server, or puts it back in service (console "drain").
 *
 * @return
 *   0, or -ENOENT (no such server), with msg filled.
 */
int rpci_ctrlnode_selector_drain(struct rpci_ctrlnode_selector *n, const char *server, bool on,
				 char *msg, size_t len);

/**
 * The selector itself, for reading its table and policy (console,
 * telemetry) from the poll loop's thread.
 */
struct rpci_selector *rpci_ctrlnode_selector_logic(const struct rpci_ctrlnode_selector *n);

/**
 * The time of the node's clock, microseconds (the selector's times are on it).
 */
uint64_t rpci_ctrlnode_selector_now_us(const struct rpci_ctrlnode_selector *n);

/**
 * Copy the node's counters.
 */
void rpci_ctrlnode_selector_stats(const struct rpci_ctrlnode_selector *n,
				  struct rpci_ctrlnode_selector_stats *stats);

/**
 * The node's channel (its counters, its refusals).
 */
struct rpci_ctrl_chan *rpci_ctrlnode_selector_chan(const struct rpci_ctrlnode_selector *n);

/**
 * Who sent a MESSAGE: the client host of conf whose address is src, when
 * the message names that host as its sender (the selector node's check,
 * after the channel's).
 *
 * @param why
 *   Set to what is wrong, or NULL.
 * @return
 *   The host, or NULL (no such host, not a client, another name).
 */
const struct rpci_conf_host *rpci_ctrlnode_message_sender(const struct rpci_conf *conf,
							  const uint8_t src[6],
							  const struct rpci_ctrl_msg *m,
							  const char **why);

/* ------------------------------------------------------------ the server */

struct rpci_ctrlnode_server;

/**
 * What a server agent asks of its owner. A device is named by its index
 * among the host's devices in the deployment file (its PCI function).
 */
struct rpci_ctrlnode_server_ops {
	/**
	 * What REGISTER says of a device: backend, identity, memory, kernels.
	 * The agent has filled server, server_mac, device and function, and
	 * keeps them.
	 */
	void (*device_info)(void *arg, unsigned int dev, struct rpci_sel_device_info *info);
	/**
	 * A device's status now (a heartbeat): free memory, usage since start
	 * and the session's, identity, its session's client and number. The
	 * agent computes the load from the kernel time.
	 */
	void (*device_status)(void *arg, unsigned int dev, struct rpci_sel_device_status *st);
	/**
	 * The selector attached a device to a client under a lease: a session
	 * of another client on it must end. Called once per lease.
	 */
	void (*attached)(void *arg, unsigned int dev, const struct rpci_sel_attachment *att);
	/**
	 * The selector ended a device's lease: its session (if any) must end.
	 */
	void (*detached)(void *arg, unsigned int dev, uint64_t lease_id, const char *reason);
};

/** Counters of a server agent. */
struct rpci_ctrlnode_server_stats {
	uint64_t registers;      /**< REGISTERs sent */
	uint64_t registered;     /**< acknowledged with 0 */
	uint64_t register_refused; /**< acknowledged with an error */
	uint64_t statuses;       /**< STATUS sent (heartbeats and session ends) */
	uint64_t attaches;       /**< ATTACHes taken (repeats not counted) */
	uint64_t attach_unknown; /**< ATTACHes of a device this host does not have (-ENOENT) */
	uint64_t detaches;       /**< leases ended by a DETACH */
};

/**
 * Create a server agent on a channel secured for the server role, and send
 * a REGISTER for each of the host's devices.
 *
 * @param params
 *   The endpoint's making; params->host must have the server role, and
 *   the deployment a selector.
 * @param ops
 *   What the owner does (every member set; copied).
 * @param arg
 *   The callbacks' argument.
 * @param local_selector
 *   The selector node of this process (the host has the selector role
 *   too), or NULL. Messages for the selector that arrive through the
 *   agent's rx go to it, and the messages of either to this host stay in
 *   the process. It must outlive the agent.
 * @return
 *   The agent, or NULL with errno EINVAL (a missing parameter or op, no
 *   selector, not a server), ENOMEM, or the channel's error (logged).
 */
struct rpci_ctrlnode_server *
rpci_ctrlnode_server_create(const struct rpci_ctrlnode_params *params,
			    const struct rpci_ctrlnode_server_ops *ops, void *arg,
			    struct rpci_ctrlnode_selector *local_selector);

/**
 * Free a server agent; NULL is ignored.
 */
void rpci_ctrlnode_server_free(struct rpci_ctrlnode_server *a);

/**
 * A CTRL datagram arrived (for this process: the local selector's are
 * passed to it, ACKs to both).
 */
void rpci_ctrlnode_server_rx(struct rpci_ctrlnode_server *a, const uint8_t src[6],
			     const void *body, uint16_t len);

/**
 * Timers: retries; the STATUS of each session that ended since the last
 * poll (rpci_ctrlnode_server_session_ended()); each heartbeat a STATUS of
 * each registered device and a REGISTER again of each one the selector
 * refused or never acknowledged (once the channel gave up on it); the
 * local selector's timers.
 *
 * @return
 *   The work done.
 */
int rpci_ctrlnode_server_poll(struct rpci_ctrlnode_server *a);

/**
 * Whether a client may open a device of a server of a deployment without a
 * selector: only a client host of the file whose "server" is that server.
 *
 * @param conf
 *   The deployment.
 * @param server
 *   The server host.
 * @param client
 *   The client's host index, as the link authenticated it
 *   (rpci_link_session_peer_host()); -1: the host at client_mac (a link
 *   without keys).
 * @param client_mac
 *   The client's address.
 * @param reason, len
 *   Receives why not.
 * @return
 *   0, or -EACCES.
 */
int rpci_ctrlnode_open_direct_allowed(const struct rpci_conf *conf,
				      const struct rpci_conf_host *server, int client,
				      const uint8_t client_mac[6], char *reason, size_t len);

/**
 * Whether a client may open a device: only the client the selector
 * attached it to, under that lease.
 *
 * @param reason, len
 *   Receives why not.
 * @return
 *   0; -EAGAIN (not attached to that client and lease: the ATTACH may
 *   still be on its way), -ENODEV (no such device).
 */
int rpci_ctrlnode_server_open_allowed(const struct rpci_ctrlnode_server *a, unsigned int dev,
				      uint64_t lease_id, const uint8_t client_mac[6],
				      char *reason, size_t len);

/**
 * A device's session ended (closed, dead, or dropped): at the next poll
 * the selector hears (a STATUS, if the device is registered) of that
 * session's client, number and last figures, so that it counts all of it
 * for its client.
 *
 * @param dev
 *   The device.
 * @param client_mac
 *   The session's client.
 * @param session
 *   The session's number.
 * @param usage
 *   The session's figures.
 */
void rpci_ctrlnode_server_session_ended(struct rpci_ctrlnode_server *a, unsigned int dev,
					const uint8_t client_mac[6], uint64_t session,
					const struct rpci_sel_usage *usage);

/**
 * A device's client released it or is gone: its lease is over here (a
 * new OPEN needs a new ATTACH).
 */
void rpci_ctrlnode_server_lease_ended(struct rpci_ctrlnode_server *a, unsigned int dev);

/**
 * The lease a device is attached under.
 *
 * @return
 *   The lease id, or 0 (not attached, or no such device).
 */
uint64_t rpci_ctrlnode_server_lease(const struct rpci_ctrlnode_server *a, unsigned int dev);

/**
 * Whether the selector acknowledged a device's REGISTER.
 */
bool rpci_ctrlnode_server_registered(const struct rpci_ctrlnode_server *a, unsigned int dev);

/**
 * Copy the agent's counters.
 */
void rpci_ctrlnode_server_stats(const struct rpci_ctrlnode_server *a,
				struct rpci_ctrlnode_server_stats *stats);

/**
 * The agent's channel (its counters, its refusals).
 */
struct rpci_ctrl_chan *rpci_ctrlnode_server_chan(const struct rpci_ctrlnode_server *a);

/* ------------------------------------------------------------ the client */

struct rpci_ctrlnode_client;

/** What a client endpoint asks of its owner. */
struct rpci_ctrlnode_client_ops {
	/**
	 * Every attachment of a request is in (count of them, in the order
	 * they came): open the devices. The request is over for the endpoint.
	 *
	 * @param req_arg
	 *   What the owner gave rpci_ctrlnode_client_request().
	 */
	void (*attached)(void *arg, void *req_arg, uint64_t request_id,
			 const struct rpci_sel_attachment *att, uint32_t count);
	/**
	 * A request failed: the selector refused it (error from its REJECT, or
	 * -ENODEV) or did not answer in time (-ETIMEDOUT); the attachments
	 * that had come are released. The request is over for the endpoint.
	 *
	 * @param reason
	 *   Why, for a person.
	 */
	void (*request_failed)(void *arg, void *req_arg, uint64_t request_id, int error,
			       const char *reason);
	/**
	 * The selector ended a lease (DETACH).
	 *
	 * @param failover
	 *   A failover ATTACH to another device follows
	 *   (rpci_ctrlnode_client_take_failover()).
	 */
	void (*lease_lost)(void *arg, uint64_t lease_id, const char *reason, bool failover);
	/**
	 * A text from another client host, passed on by the selector.
	 */
	void (*text)(void *arg, const char *from, const char *text);
	/**
	 * Whether the owner holds a lease now: renewals are sent only then.
	 */
	bool (*holds_leases)(void *arg);
};

/** Counters of a client endpoint. */
struct rpci_ctrlnode_client_stats {
	uint64_t requests;        /**< REQUESTs made (retries not counted) */
	uint64_t attachments;     /**< ATTACHes taken for a request (repeats not counted) */
	uint64_t attach_unknown;  /**< ATTACHes of no request of ours (acknowledged, ignored) */
	uint64_t failovers;       /**< failover ATTACHes kept */
	uint64_t rejects;         /**< requests refused by the selector */
	uint64_t timeouts;        /**< requests the selector did not answer */
	uint64_t detaches;        /**< DETACHes taken */
	uint64_t renewals;        /**< RENEWs sent */
	uint64_t texts;           /**< texts received */
};

/**
 * Create a client endpoint on a channel secured for the client role.
 *
 * @param params
 *   The endpoint's making; params->host must have the client role, and
 *   the deployment a selector.
 * @param ops
 *   What the owner does (every member set; copied).
 * @param arg
 *   The callbacks' argument.
 * @return
 *   The endpoint, or NULL with errno EINVAL (a missing parameter or op,
 *   no selector, not a client), ENOMEM, or the channel's error (logged).
 */
struct rpci_ctrlnode_client *
rpci_ctrlnode_client_create(const struct rpci_ctrlnode_params *params,
			    const struct rpci_ctrlnode_client_ops *ops, void *arg);

/**
 * Free a client endpoint; NULL is ignored.
 */
void rpci_ctrlnode_client_free(struct rpci_ctrlnode_client *c);

/**
 * A CTRL datagram arrived: ATTACH, REJECT, DETACH and MESSAGE from the
 * selector are taken (the channel refuses the rest, and those from other
 * hosts); ATTACH, DETACH and MESSAGE are acknowledged.
 */
void rpci_ctrlnode_client_rx(struct rpci_ctrlnode_client *c, const uint8_t src[6],
			     const void *body, uint16_t len);

/**
 * Timers: retries, unanswered requests asked again (same id) and timed
 * out, a RENEW every third of a lease while the owner holds leases.
 *
 * @return
 *   The work done.
 */
int rpci_ctrlnode_client_poll(struct rpci_ctrlnode_client *c);

/**
 * Ask the selector for count devices that meet req.
 *
 * @param req_arg
 *   Given back to the callbacks of this request.
 * @param request_id
 *   Receives the request's id.
 * @return
 *   0 (the answer comes through ops->attached or ops->request_failed),
 *   -EINVAL (count 0 or over RPCI_CTRLNODE_REQUEST_COUNT_MAX), -EAGAIN (too
 *   many requests in flight).
 */
int rpci_ctrlnode_client_request(struct rpci_ctrlnode_client *c,
				 const struct rpci_sel_requirements *req, uint32_t count,
				 void *req_arg, uint64_t *request_id);

/**
 * The owner gives up a request in flight: the attachments already in are
 * released, later ones are left to lapse. No callback follows.
 *
 * @return
 *   0, or -ENOENT (no such request in flight).
 */
int rpci_ctrlnode_client_request_cancel(struct rpci_ctrlnode_client *c, uint64_t request_id);

/**
 * Release a lease (RELEASE, reliable).
 *
 * @return
 *   0, -EINVAL (lease 0), or the channel's error (-ENOSPC).
 */
int rpci_ctrlnode_client_release(struct rpci_ctrlnode_client *c, uint64_t lease_id);

/**
 * Report a finished job's time on a lease (REPORT, reliable).
 *
 * @return
 *   0, -EINVAL, or the channel's error.
 */
int rpci_ctrlnode_client_report(struct rpci_ctrlnode_client *c, uint64_t lease_id,
				const char *job, uint64_t job_size, uint64_t elapsed_us);

/**
 * Send a text to another client host through the selector (MESSAGE,
 * reliable), signed with this host's name.
 *
 * @return
 *   0, -EINVAL (NULL, or a name or text too long), or the channel's error.
 */
int rpci_ctrlnode_client_message(struct rpci_ctrlnode_client *c, const char *to,
				 const char *text);

/**
 * Take the failover attachment the selector sent for a request (its
 * original request id), if it came.
 *
 * @return
 *   true and att filled, or false.
 */
bool rpci_ctrlnode_client_take_failover(struct rpci_ctrlnode_client *c, uint64_t request_id,
					struct rpci_sel_attachment *att);

/**
 * Reliable messages still waiting for their ACK (a daemon on its way out
 * polls until none are, or a while).
 */
uint32_t rpci_ctrlnode_client_pending(const struct rpci_ctrlnode_client *c);

/**
 * Copy the endpoint's counters.
 */
void rpci_ctrlnode_client_stats(const struct rpci_ctrlnode_client *c,
				struct rpci_ctrlnode_client_stats *stats);

/**
 * The endpoint's channel (its counters, its refusals).
 */
struct rpci_ctrl_chan *rpci_ctrlnode_client_chan(const struct rpci_ctrlnode_client *c);

#ifdef __cplusplus
}
#endif

#endif /* RPCI_CTRLNODE_H */
