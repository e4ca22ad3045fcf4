/* SPDX-License-Identifier: BSD-3-Clause */

#ifndef RPCI_CTRL_H
#define RPCI_CTRL_H

/**
 * @file
 * Control-plane messages between servers, clients and the server selector.
 *
 * They travel in the link's CTRL frames (unsequenced datagrams) as JSON
 * objects encoded with cJSON, at most RPCI_CTRL_MAX bytes. Senders repeat
 * what matters until it is acknowledged or answered (a message carries an
 * id; answers and ACKs echo it). A message that is not valid JSON, of an
 * unknown type, oversized, or with a missing, mistyped or out-of-range
 * field is refused (and counted by the caller), never trusted.
 *
 * Wire format: one JSON object, e.g.
 *   {"v":1,"type":"request","id":7,"count":1,"req":{"min_memory":1048576,...}}
 * (doc/protocol.md lists every type and field).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rpci_selector.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Largest encoded message, bytes: with the authenticated envelope
 * (lib/auth, 48 bytes) it fits one CTRL frame (RPCI_LINK_CTRL_MAX, 1400).
 */
#define RPCI_CTRL_MAX 1352
/** Protocol version carried in "v". */
#define RPCI_CTRL_VERSION 1
/** Longest text of a MESSAGE. */
#define RPCI_CTRL_TEXT_MAX 256

/** Message types ("type" on the wire in lower case). */
enum rpci_ctrl_type {
	RPCI_CTRL_REGISTER = 1, /**< server -> selector: a device (info) */
	RPCI_CTRL_STATUS = 2,   /**< server -> selector: a device's status (heartbeat) */
	RPCI_CTRL_REQUEST = 3,  /**< client -> selector: requirements, count */
	RPCI_CTRL_ATTACH = 4,   /**< selector -> client and server: an attachment */
	RPCI_CTRL_REJECT = 5,   /**< selector -> client: why not */
	RPCI_CTRL_DETACH = 6,   /**< selector -> client and server: an attachment ends */
	RPCI_CTRL_RELEASE = 7,  /**< client -> selector: done with an attachment */
	RPCI_CTRL_RENEW = 8,    /**< client -> selector: still alive (renews its leases) */
	RPCI_CTRL_REPORT = 9,   /**< client -> selector: a finished job's time */
	RPCI_CTRL_MESSAGE = 10, /**< client -> selector -> client: a small text */
	RPCI_CTRL_ACK = 11,     /**< any: message id received (status) */
};

/** A decoded (or to-be-encoded) control message. */
struct rpci_ctrl_msg {
	enum rpci_ctrl_type type;
	uint64_t id; /**< sender's message id (answers echo it in ACK.acked / REJECT, ATTACH) */
	union {
		/** REGISTER */
		struct rpci_sel_device_info reg;
		/** STATUS */
		struct {
			char server[RPCI_SEL_NAME_MAX];
			char device[RPCI_SEL_NAME_MAX];
			struct rpci_sel_device_status st;
		} status;
		/** REQUEST */
		struct {
			struct rpci_sel_requirements req;
			uint32_t count;
		} request;
		/** ATTACH (request_id: the REQUEST it answers, 0 if none) */
		struct {
			uint64_t request_id;
			struct rpci_sel_attachment att;
			bool failover; /**< replaces an attachment whose server went down */
		} attach;
		/** REJECT */
		struct {
			uint64_t request_id;
			int32_t error;
			char reason[RPCI_SEL_REASON_MAX];
		} reject;
		/** DETACH */
		struct {
			uint64_t lease_id;
			int32_t error;
			char reason[RPCI_SEL_REASON_MAX];
			bool failover; /**< an ATTACH to another device follows */
		} detach;
		/** RELEASE */
		struct {
			uint64_t lease_id;
		} release;
		/** RENEW */
		struct {
			uint8_t client_mac[6];
		} renew;
		/** REPORT */
		struct {
			uint64_t lease_id;
			char job[RPCI_SEL_NAME_MAX];
			uint64_t job_size;
			uint64_t elapsed_us;
		} report;
		/** MESSAGE */
		struct {
			char from[RPCI_SEL_NAME_MAX];
			char to[RPCI_SEL_NAME_MAX];
			char text[RPCI_CTRL_TEXT_MAX];
		} message;
		/** ACK */
		struct {
			uint64_t acked_id;
			int32_t status;
		} ack;
	} u;
};

/**
 * Encode a message as JSON.
 *
 * @param msg
 *   The message.
 * @param buf
 *   Where to write it (not NUL-terminated on the wire; a NUL is written
 *   after it if there is room).
 * @param size
 *   Room in buf.
 * @return
 *   Bytes written, -EINVAL (bad message: unknown type, string not
 *   terminated...), -EMSGSIZE (longer than size or RPCI_CTRL_MAX), -ENOMEM.
 */
int rpci_ctrl_encode(const struct rpci_ctrl_msg *msg, char *buf, size_t size);

/**
 * Decode and validate a message.
 *
 * @param buf
 *   The bytes received (need not be NUL-terminated).
 * @param len
 *   Their number.
 * @param msg
 *   Filled with the message.
 * @param why
 *   If not NULL, set to a static string saying what is wrong.
 * @return
 *   0, -EMSGSIZE (over RPCI_CTRL_MAX), -EBADMSG (not JSON, not an object,
 *   wrong version, missing or bad field), -EPROTO (unknown type), -ENOMEM.
 */
int rpci_ctrl_decode(const void *buf, size_t len, struct rpci_ctrl_msg *msg, const char **why);

/**
 * Name of a type on the wire ("register", ...).
 *
 * @return
 *   The name, or NULL for an unknown type.
 */
const char *rpci_ctrl_type_name(enum rpci_ctrl_type type);

/**
 * Format a MAC address as "xx:xx:xx:xx:xx:xx".
 *
 * @param mac
 *   The address.
 * @param buf
 *   Output, at least 18 bytes.
 * @return
 *   buf.
 */
char *rpci_ctrl_mac_str(const uint8_t mac[6], char *buf);

/**
 * Parse "xx:xx:xx:xx:xx:xx".
 *
 * @return
 *   0, or -EINVAL.
 */
int rpci_ctrl_mac_parse(const char *s, uint8_t mac[6]);

struct rpci_conf;
struct rpci_conf_host;

/** What rpci_ctrl_check() says of a message. */
enum rpci_ctrl_verdict {
	RPCI_CTRL_ALLOWED = 0, /**< it may come from that sender */
	RPCI_CTRL_ROLE = 1,    /**< its type may not come from the sender's roles to ours */
	RPCI_CTRL_FORGED = 2,  /**< it names another host, address or device than the sender's */
};

/**
 * Whether a message may come from a host of the deployment to an endpoint
 * playing roles (the rules of rpci_ctrl_chan_secure()). Pure: no DPDK.
 *
 * @param conf
 *   The deployment.
 * @param sender
 *   One of its hosts: who (authentically) sent the message.
 * @param roles
 *   The receiving endpoint's roles (enum rpci_conf_role bits).
 * @param msg
 *   The decoded message.
 * @param why
 *   If not NULL, set to a static text saying what is wrong.
 * @return
 *   The verdict.
 */
enum rpci_ctrl_verdict rpci_ctrl_check(const struct rpci_conf *conf,
				       const struct rpci_conf_host *sender, unsigned int roles,
				       const struct rpci_ctrl_msg *msg, const char **why);

/*
 * A control channel: control messages over a link's CTRL frames (which are
 * datagrams), with retries for the ones that must arrive. This part uses
 * lib/link (DPDK); the codec above does not.
 */

struct rpci_link;
struct rpci_ctrl_chan;
struct rpci_auth;
struct rpci_auth_stats;
struct rpci_conf_host;

/** Counters of a control channel. */
struct rpci_ctrl_chan_stats {
	uint64_t rx;       /**< messages received, authenticated, decoded and allowed */
	uint64_t rx_bad;   /**< refused: malformed, unknown, oversized */
	uint64_t tx;       /**< messages sent (retries included) */
	uint64_t tx_fail;  /**< could not be encoded or sent */
	uint64_t retries;  /**< sent again for want of an ACK */
	uint64_t given_up; /**< never acknowledged */
	uint32_t pending;  /**< waiting for an ACK now */
	/* refusals of a secured channel (rpci_ctrl_chan_secure()) */
	uint64_t rx_unauth;   /**< refused by the envelope (rpci_ctrl_chan_auth_stats() says why) */
	uint64_t rx_unknown;  /**< from no host of the deployment, or from another address than
			       *   its authenticated sender's */
	uint64_t rx_role;     /**< a type its sender's role may not send, or we do not take */
	uint64_t rx_forged;   /**< names another host, address or device than its sender's own */
	uint64_t rx_refused;  /**< refused by the endpoint (rpci_ctrl_chan_refuse(): a lease
			       *   that is not the sender's, a limit) */
	uint64_t log_suppressed; /**< refusals not logged (rate limit) */
	uint64_t tx_no_host;  /**< not sent: the address is no host of the deployment */
};

/**
 * Create a channel on a link.
 *
 * @param link
 *   The link (its rx_ctrl callback passes datagrams to rpci_ctrl_chan_rx()).
 * @param retry_ms
 *   Reliable messages are sent again this often until acknowledged...
 * @param max_tries
 *   ...at most this many times.
 * @param pending_max
 *   Reliable messages waiting for an ACK at once.
 * @param id_base
 *   First message id (make it differ between processes; 0: 1).
 * @return
 *   The channel, or NULL with errno EINVAL or ENOMEM.
 */
struct rpci_ctrl_chan *rpci_ctrl_chan_create(struct rpci_link *link, uint32_t retry_ms,
					     uint32_t max_tries, uint32_t pending_max,
					     uint64_t id_base);

/**
 * Where a channel's datagrams leave, and its clock: a link, or a function
 * that sends them (another transport; the unit tests' fake fabric).
 */
struct rpci_ctrl_chan_io {
	/** The link whose CTRL frames carry the datagrams (NULL: tx)... */
	struct rpci_link *link;
	/**
	 * ...or this (NULL: link): send one datagram (at most RPCI_LINK_CTRL_MAX
	 * bytes) to dst. 0 or a negative errno.
	 */
	int (*tx)(void *arg, const uint8_t dst[6], const void *body, uint16_t len);
	/** Microseconds of a monotonic clock for the retries (NULL: the TSC). */
	uint64_t (*now_us)(void *arg);
	/** Argument of tx and now_us. */
	void *arg;
};

/**
 * Create a channel on a link or another transport.
 *
 * @param io
 *   Where its datagrams leave (exactly one of link and tx), its clock;
 *   copied.
 * @param retry_ms, max_tries, pending_max, id_base
 *   As rpci_ctrl_chan_create().
 * @return
 *   The channel, or NULL with errno EINVAL (no io, both or neither of link
 *   and tx, a zero limit) or ENOMEM.
 */
struct rpci_ctrl_chan *rpci_ctrl_chan_create_io(const struct rpci_ctrl_chan_io *io,
						uint32_t retry_ms, uint32_t max_tries,
						uint32_t pending_max, uint64_t id_base);

/**
 * Free a channel; NULL is ignored.
 */
void rpci_ctrl_chan_free(struct rpci_ctrl_chan *c);

/**
 * Make a channel check who sends what (doc/security.md). From then on:
 * with auth mode "keys" every message leaves sealed for its receiver
 * (lib/auth) and only messages that open (authentic, fresh, from a host of
 * the deployment, from that host's address) are taken; with "none" the
 * sender is the host whose address the frame came from. Either way a
 * message is taken only if its type may go from its sender's roles to this
 * channel's (REGISTER and STATUS from servers, REQUEST, RELEASE, RENEW and
 * REPORT from clients, ATTACH, REJECT and DETACH from the deployment's
 * selector host, MESSAGE from clients to the selector and from it to
 * clients, ACK from anyone) and if what it says about its sender is true
 * (a REGISTER or STATUS names the sender, its address and one of its
 * devices as the file has it; a RENEW the sender's address; a client's
 * MESSAGE the sender's name). Refusals are counted and logged, at most
 * ten lines a second.
 *
 * @param c
 *   The channel.
 * @param auth
 *   The host's keys (rpci_auth_create(); must outlive the channel).
 * @param roles
 *   The roles this channel takes messages for (enum rpci_conf_role bits).
 * @return
 *   0, -EINVAL, -ENOMEM, -EIO.
 */
int rpci_ctrl_chan_secure(struct rpci_ctrl_chan *c, struct rpci_auth *auth, unsigned int roles);

/**
 * The type of a received datagram, for routing between the channels of
 * one process; nothing is checked (the channel that takes it checks).
 *
 * @return
 *   The type, or a negative errno.
 */
int rpci_ctrl_chan_peek_type(const struct rpci_ctrl_chan *c, const void *body, uint16_t len);

/**
 * Deliver messages to our own MAC address in the process (the port would
 * not bring them back): for a selector that runs in another role's process.
 *
 * @param c
 *   The channel.
 * @param own_mac
 *   Our address.
 * @param rx
 *   Called with each such message (encoded, as it would have arrived).
 * @param arg
 *   Its argument.
 */
void rpci_ctrl_chan_set_local(struct rpci_ctrl_chan *c, const uint8_t own_mac[6],
			      void (*rx)(void *arg, const uint8_t src[6], const void *body,
					 uint16_t len),
			      void *arg);

/**
 * A fresh message id.
 */
uint64_t rpci_ctrl_chan_next_id(struct rpci_ctrl_chan *c);

/**
 * Send a message once (msg->id is set if 0).
 *
 * @return
 *   0, -EINVAL, or the encoder's or the link's error.
 */
int rpci_ctrl_chan_send(struct rpci_ctrl_chan *c, const uint8_t dst[6],
			struct rpci_ctrl_msg *msg);

/**
 * Send a message and again until dst acknowledges its id (msg->id is set
 * if 0).
 *
 * @return
 *   0, -EINVAL, -ENOSPC (too many waiting).
 */
int rpci_ctrl_chan_send_reliable(struct rpci_ctrl_chan *c, const uint8_t dst[6],
				 struct rpci_ctrl_msg *msg);

/**
 * Acknowledge a message.
 *
 * @return
 *   As rpci_ctrl_chan_send().
 */
int rpci_ctrl_chan_ack(struct rpci_ctrl_chan *c, const uint8_t dst[6], uint64_t acked_id,
		       int32_t status);

/**
 * Take a received datagram: open and check it (a secured channel), decode
 * it (counting what is refused); an ACK ends the retries of what it
 * acknowledges.
 *
 * @return
 *   0 and msg filled, the decoder's error, or -EACCES (refused: not
 *   authentic, not fresh, not allowed); the datagram is then dropped.
 */
int rpci_ctrl_chan_rx(struct rpci_ctrl_chan *c, const uint8_t src[6], const void *body,
		      uint16_t len, struct rpci_ctrl_msg *msg);

/**
 * rpci_ctrl_chan_rx(), and who sent it.
 *
 * @param sender
 *   Receives the sending host of the deployment (NULL for a channel that
 *   is not secured).
 * @return
 *   As rpci_ctrl_chan_rx().
 */
int rpci_ctrl_chan_rx_from(struct rpci_ctrl_chan *c, const uint8_t src[6], const void *body,
			   uint16_t len, struct rpci_ctrl_msg *msg,
			   const struct rpci_conf_host **sender);

/**
 * Count and log (rate-limited) a message the endpoint refuses after the
 * channel took it (a lease that is not its sender's, a limit).
 *
 * @param c
 *   The channel.
 * @param fmt
 *   What was refused and why, printf-style.
 */
void rpci_ctrl_chan_refuse(struct rpci_ctrl_chan *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/**
 * Copy the counters of a secured channel's envelope (zeros if none).
 */
void rpci_ctrl_chan_auth_stats(const struct rpci_ctrl_chan *c, struct rpci_auth_stats *stats);

/**
 * Stop retrying a reliable message.
 */
void rpci_ctrl_chan_cancel(struct rpci_ctrl_chan *c, uint64_t id);

/**
 * Send again what is due.
 *
 * @return
 *   Messages sent.
 */
int rpci_ctrl_chan_poll(struct rpci_ctrl_chan *c);

/**
 * Copy a channel's counters.
 */
void rpci_ctrl_chan_stats(const struct rpci_ctrl_chan *c, struct rpci_ctrl_chan_stats *stats);

#ifdef __cplusplus
}
#endif

#endif /* RPCI_CTRL_H */
