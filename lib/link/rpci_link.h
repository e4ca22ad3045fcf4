/* SPDX-License-Identifier: BSD-3-Clause */

#ifndef RPCI_LINK_H
#define RPCI_LINK_H

/**
 * @file
 * Reliable, ordered delivery of TLP-like messages between two endpoints
 * over an Ethernet port (rte_ethdev).
 *
 * A frame is Ethernet II with a configurable EtherType, then a 32-byte link
 * header (version, kind, session, sequence, cumulative ack, credits, payload
 * length, CRC32C), then for DATA frames one or more messages of lib/tlp
 * packed back to back, or (a "split" frame of attached payloads) their
 * headers back to back followed by their payloads. Frames may be larger
 * than the port's MTU where the port carries them (memif, kernel TCP): up to
 * frame_max bytes, several max_payload messages each. The link keeps sent
 * DATA frames in a bounded replay buffer until the peer acks them,
 * retransmits on NAK (selective repeat) or time-out, drops duplicates, and
 * hands the transaction layer every message exactly once and in order.
 *
 * A session joins two endpoints (a client and one device of a server).
 * The client opens it with rpci_link_open(); the server accepts it in its
 * open callback. Keepalives detect a silent peer; a session whose peer is
 * silent for dead_ms, or whose frames go unacked after retransmit_max
 * replays, is dead: sends fail with -ENOTCONN and its owner is told.
 *
 * Payloads above copy_threshold bytes are sent from where they live: they are
 * attached to the frame as an external buffer, so the sender must leave that
 * memory unchanged until the frame is acked (rpci_link_session_acked()).
 *
 * A link is used by one lcore at a time; nothing here locks.
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_mempool.h>

#include "rpci_conf.h"
#include "rpci_tlp.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Default EtherType of rpci frames (IEEE local experimental 1). */
#define RPCI_LINK_ETHERTYPE 0x88B5
/** Link header version. */
#define RPCI_LINK_VERSION 1
/** Link header length on the wire. */
#define RPCI_LINK_HDR_LEN 32
/** Most sessions one link holds. */
#define RPCI_LINK_SESSIONS_MAX 64
/** Largest body of a control (OPEN, CTRL...) frame. */
#define RPCI_LINK_CTRL_MAX 1400
/**
 * Largest frame (Ethernet header included, no FCS) a link sends or takes:
 * 65024 bytes (127 x 512) holds 15 messages of 4096 bytes with their headers
 * and fits an mbuf's 16-bit data room with its headroom.
 */
#define RPCI_LINK_FRAME_MAX 65024
/** Smallest frame_max: an MTU of 576. */
#define RPCI_LINK_FRAME_MIN 590
/** Segments of a frame the link builds, unless the port takes fewer. */
#define RPCI_LINK_SEGS_DEFAULT 32

/** Frame kinds. */
enum rpci_link_kind {
	RPCI_LINK_DATA = 1,      /**< sequenced messages */
	RPCI_LINK_ACK = 2,       /**< cumulative ack alone (also a keepalive) */
	RPCI_LINK_NAK = 3,       /**< a gap: resend from the ack field on (or it alone: F_KEPT) */
	RPCI_LINK_CTRL = 4,      /**< unsequenced control-plane datagram */
	RPCI_LINK_OPEN = 5,      /**< client asks for a session */
	RPCI_LINK_OPEN_ACK = 6,  /**< server accepts or refuses it */
	RPCI_LINK_CLOSE = 7,     /**< an end closes the session */
	RPCI_LINK_CLOSE_ACK = 8, /**< the other end agrees */
};

/** Link header flags. */
#define RPCI_LINK_F_CRC_PAYLOAD 0x0001 /**< the CRC covers the payload too */
/** DATA: bits 2:1 hold the frame's traffic class (enum rpci_link_class). */
#define RPCI_LINK_F_CLASS_SHIFT 1
#define RPCI_LINK_F_CLASS_MASK 0x0006
/**
 * NAK: the receiver kept the frames that arrived after the gap (selective
 * repeat): resend only the missing frame, at the ack field. Without it, a
 * NAK asks for everything from the ack field on.
 */
#define RPCI_LINK_F_KEPT 0x0008
/**
 * CLOSE of session 0: a port-stop notice, the sender's port stops next (a
 * memif peer stops polling until that port is down: doc/design.md, "The
 * memif hazard"). Answered by a CLOSE_ACK of session 0.
 */
#define RPCI_LINK_F_PORT_STOPS 0x0010
/**
 * DATA: a split frame. The messages' headers come first, back to back (the
 * header's split_len bytes), then their payloads in the same order, so that
 * payloads sent in place from contiguous memory travel as one segment.
 */
#define RPCI_LINK_F_SPLIT 0x0020
/**
 * DATA, ACK, NAK, CLOSE, CLOSE_ACK of an authenticated session: the frame
 * counter (8 bytes) and the AEAD tag (16) follow the link header
 * (RPCI_LINK_AUTH_LEN bytes, not counted in payload_len); the payload CRC
 * is off (the tag covers the payload).
 */
#define RPCI_LINK_F_AUTH 0x0040
/** DATA with F_AUTH: the payload is encrypted (the session's link.encrypt). */
#define RPCI_LINK_F_ENCRYPTED 0x0080
/** Bytes of an authenticated frame's counter and tag, after the link header. */
#define RPCI_LINK_AUTH_LEN 24
/** Bytes of the authentication block an OPEN or OPEN_ACK carries after its body. */
#define RPCI_LINK_OPEN_AUTH_LEN 80

/**
 * Traffic classes, as in PCIe flow control. A DATA frame carries messages of
 * one class; each class has its own receive queue and credits, and delivery
 * keeps PCIe's ordering: posted writes may pass blocked reads and
 * completions, nothing passes an earlier posted write.
 */
enum rpci_link_class {
	RPCI_LINK_CLASS_P = 0,   /**< posted: MWr, Msg */
	RPCI_LINK_CLASS_NP = 1,  /**< non-posted: MRd, CfgRd, CfgWr */
	RPCI_LINK_CLASS_CPL = 2, /**< completions: Cpl, CplD */
	RPCI_LINK_CLASSES = 3,
};

/** Session states. */
enum rpci_link_state {
	RPCI_LINK_S_OPENING = 0, /**< OPEN sent, no answer yet */
	RPCI_LINK_S_OPEN = 1,    /**< exchanging DATA */
	RPCI_LINK_S_CLOSING = 2, /**< CLOSE sent, no answer yet */
	RPCI_LINK_S_CLOSED = 3,  /**< closed by either end */
	RPCI_LINK_S_DEAD = 4,    /**< peer silent or unreachable */
};

/**
 * How a session's frames are protected, asked for in an OPEN and given in
 * its OPEN_ACK (doc/security.md). With keys (auth "keys") the OPEN and
 * OPEN_ACK are always authenticated and derive the session's keys.
 */
enum rpci_link_security {
	RPCI_LINK_SEC_DEFAULT = 0, /**< OPEN: the link's (MAC, or ENCRYPT with link.encrypt) */
	/**
	 * Frames not authenticated (their payload CRC as without keys): only
	 * where the server's auth.sessions is "optional" (measuring the cost),
	 * and what every session of a link without keys gets.
	 */
	RPCI_LINK_SEC_NONE = 1,
	RPCI_LINK_SEC_MAC = 2,     /**< every frame carries a counter and an AEAD tag */
	RPCI_LINK_SEC_ENCRYPT = 3, /**< the same, and DATA payloads encrypted */
};

/** Body of OPEN and OPEN_ACK frames (host byte order here). */
struct rpci_link_open_msg {
	int32_t status;          /**< OPEN_ACK: 0 or a negative errno (why refused) */
	uint16_t function;       /**< which device of the server (function number) */
	uint16_t requester_id;   /**< OPEN: the client's id; OPEN_ACK: echoed */
	uint16_t completer_id;   /**< OPEN_ACK: the device's id */
	uint16_t max_payload;    /**< largest payload the sender accepts */
	/**
	 * Largest frame the sender of this message takes (Ethernet header
	 * included); 0: its link's MTU frame. Each end sends frames of at most
	 * the smaller of its own and its peer's.
	 */
	uint16_t max_frame;
	uint32_t replay_frames;  /**< the sender's replay window */
	/** Frames of each class the sender of this message can take in at once. */
	uint16_t credits[RPCI_LINK_CLASSES];
	char reason[64];         /**< OPEN_ACK: why refused, for people */
	/**
	 * OPEN: the attachment the server selector gave the client (0 when
	 * the deployment has no selector); the server checks it.
	 */
	uint64_t lease_id;
	/**
	 * enum rpci_link_security: OPEN, what the client asks for (the link
	 * fills in DEFAULT); OPEN_ACK, what the session got. Carried in the
	 * authentication block, not in the 96-byte body.
	 */
	uint8_t security;
};

/** The authentication of one session (rpci_link_session_auth_get()). */
struct rpci_link_session_auth {
	uint8_t security;      /**< enum rpci_link_security the session got */
	uint8_t cipher;        /**< lib/auth's enum rpci_auth_cipher (0: none) */
	uint64_t tx_sealed;    /**< frames sent with a tag */
	uint64_t rx_verified;  /**< frames whose tag verified */
	uint64_t rx_bad_tag;   /**< frames refused: the tag does not verify */
	uint64_t rx_replay;    /**< frames refused: replayed, or outside the window */
	uint64_t rx_missing;   /**< frames refused: no tag on a session that has keys */
};

/** Counters of a link (all sessions). */
struct rpci_link_stats {
	uint64_t rx_frames;         /**< frames received and accepted as ours */
	uint64_t rx_bytes;          /**< their bytes */
	uint64_t tx_frames;         /**< frames handed to the port (retransmits included) */
	uint64_t tx_bytes;
	uint64_t rx_data;           /**< DATA frames delivered in order */
	uint64_t rx_msgs;           /**< messages delivered to the transaction layer */
	uint64_t tx_data;           /**< new DATA frames sent */
	uint64_t tx_msgs;           /**< messages sent */
	uint64_t rx_not_ours;       /**< other EtherType or destination */
	uint64_t rx_bad_header;     /**< bad version, kind, length */
	uint64_t rx_bad_crc;        /**< CRC mismatch */
	/**
	 * Chained frames dropped because the chain was malformed: segment
	 * lengths that do not add up to the frame's, or the Ethernet and link
	 * headers not in the first segment.
	 */
	uint64_t rx_bad_chain;
	uint64_t rx_unknown_session;/**< frame for no session of ours */
	uint64_t rx_duplicate;      /**< DATA already delivered */
	uint64_t rx_out_of_order;   /**< DATA past a gap (kept, or dropped beyond the window) */
	uint64_t rx_kept;           /**< of those, kept until the gap filled (selective repeat) */
	uint64_t rx_queue_full;     /**< DATA dropped: past the credits we gave */
	uint64_t tx_no_credit;      /**< sends that waited for the peer's credits */
	uint64_t rx_malformed_msg;  /**< messages that failed to decode, dropped */
	uint64_t rx_refused_msg;    /**< messages the transaction layer refused */
	uint64_t tx_retransmit;     /**< DATA frames sent again */
	uint64_t timeouts;          /**< replay timer expiries */
	uint64_t nak_sent;
	uint64_t nak_rcvd;
	uint64_t ack_sent;          /**< standalone ACK frames */
	uint64_t tx_dropped;        /**< frames the port did not take and were dropped */
	uint64_t no_mbuf;           /**< mbuf allocation failures */
	uint64_t zero_copy;         /**< payloads attached as external buffers */
	uint64_t tx_split;          /**< split frames sent (headers first, then payloads) */
	uint64_t rx_gathered;       /**< message parts that straddled segments, copied to read */
	uint64_t copied;            /**< payloads copied into frames */
	uint64_t sessions_dead;     /**< sessions declared dead */
	/*
	 * Authenticated sessions (doc/security.md). Frames of sessions refused,
	 * and why (the tag checked first, so the replays counted are genuine
	 * frames sent again): on a port that corrupts frames (af_packet without
	 * the payload CRC) a corrupted frame counts as a bad tag.
	 */
	uint64_t tx_sealed;         /**< frames sent with a counter and a tag */
	uint64_t rx_verified;       /**< frames whose tag verified */
	uint64_t rx_auth_bad_tag;   /**< refused: forged, altered or corrupted */
	uint64_t rx_auth_replay;    /**< refused: seen already, or outside the window */
	uint64_t rx_auth_missing;   /**< refused: no tag, on a session that has keys */
	/** OPENs refused before a session was made, and OPEN_ACKs ignored. */
	uint64_t open_unsigned;     /**< no authentication block, where keys are on */
	uint64_t open_bad_tag;      /**< the block's tag does not verify */
	uint64_t open_stale;        /**< stamped outside auth.window_ms */
	uint64_t open_replay;       /**< an OPEN taken already, sent again */
	uint64_t open_unknown_host; /**< not a host of the file, not for us, another's address */
	uint64_t open_refused;      /**< verified, and refused: no lease, not its server... */
	uint64_t open_ack_refused;  /**< OPEN_ACKs that did not verify (or had no block) */
	uint64_t log_suppressed;    /**< refusals not logged (rate limit) */
	/** Faults the built-in injector made, per direction (0 TX, 1 RX). */
	uint64_t fault_drop[2];
	uint64_t fault_dup[2];
	uint64_t fault_reorder[2];
	uint64_t fault_corrupt[2];
};

/** Fault rates of one direction (probabilities per frame, 0..1). */
struct rpci_link_faults {
	double drop;    /**< frame lost */
	double dup;     /**< frame sent (or received) twice */
	double reorder; /**< frame held back behind the next one */
	double corrupt; /**< one bit flipped past the Ethernet header */
};

struct rpci_link;
struct rpci_link_session;
struct rpci_port_info;
struct rte_mbuf;

/** Callbacks of a link's owner. */
struct rpci_link_ops {
	/**
	 * A message arrived in order on a session. Return 0 when consumed,
	 * -EAGAIN to be called again with the same message later (no room to
	 * answer now), any other negative errno to refuse it (dropped and
	 * counted). Required.
	 */
	int (*rx_msg)(struct rpci_link_session *s, const struct rpci_tlp *msg, void *arg);
	/**
	 * Server: a peer asks for a session. Fill ack (completer_id, reason)
	 * and return 0 to accept, a negative errno to refuse. NULL refuses
	 * every OPEN.
	 */
	int (*open)(struct rpci_link_session *s, const struct rpci_link_open_msg *req,
		    struct rpci_link_open_msg *ack, void *arg);
	/**
	 * A session left the OPEN state: closed by the peer, or dead. The
	 * session stays valid until rpci_link_session_free(). May be NULL.
	 */
	void (*down)(struct rpci_link_session *s, enum rpci_link_state state, void *arg);
	/** A CTRL datagram arrived. May be NULL. */
	void (*rx_ctrl)(struct rpci_link *link, const struct rte_ether_addr *src, const void *body,
			uint16_t len, void *arg);
	/**
	 * A frame that is not the link's arrived: another EtherType, another
	 * destination, or shorter than a link header (check its length). Return
	 * 0 to take it: the mbuf is the callee's then (free it, or send it
	 * with rpci_link_tx_raw()); a negative errno leaves it to the link,
	 * which drops and counts it (rx_not_ours). Called from
	 * rpci_link_poll(); frames of the link never come here, so it costs the
	 * link's own traffic nothing. rpci-server answers rpci-bench's raw
	 * frames (EtherType 0x88B6) this way. May be NULL.
	 */
	int (*rx_other)(struct rpci_link *link, struct rte_mbuf *m, void *arg);
	/**
	 * A peer said that its port stops next (rpci_link_port_stop_notice()).
	 * May be NULL.
	 */
	void (*peer_port_stops)(struct rpci_link *link, const struct rte_ether_addr *src,
				void *arg);
};

/** Parameters of a link. */
struct rpci_link_params {
	uint16_t port_id;             /**< started ethdev port */
	uint16_t queue_id;            /**< RX and TX queue used */
	struct rte_ether_addr mac;    /**< our address */
	uint16_t ethertype;           /**< 0 = RPCI_LINK_ETHERTYPE */
	bool crc_payload;             /**< CRC covers payloads too */
	uint32_t mtu;                 /**< port MTU (frame payload bytes) */
	/**
	 * Largest frame sent and taken, Ethernet header included (no FCS), at
	 * most RPCI_LINK_FRAME_MAX; 0: mtu + 14. Frames above the MTU need a
	 * port that carries them (rpci_port_info.frame_max).
	 */
	uint32_t frame_max;
	/** Segments a frame the link builds may have; 0: RPCI_LINK_SEGS_DEFAULT. */
	uint32_t tx_segs_max;
	uint32_t max_payload;         /**< TLP max payload; 0 = from the MTU */
	uint32_t replay_frames;       /**< replay window per session (rounded to a power of 2) */
	uint32_t rx_queue_frames;     /**< in-order queue per session; 0 = 2 x replay_frames */
	uint32_t retransmit_us;       /**< first replay time-out */
	uint32_t retransmit_max;      /**< replays without progress before dead */
	uint32_t keepalive_ms;        /**< idle keepalive period */
	uint32_t dead_ms;             /**< silence before a peer is dead */
	uint32_t burst;               /**< RX/TX burst */
	uint32_t copy_threshold;      /**< payloads up to this are copied */
	/**
	 * Run bursts under the fault guard (rpci_port_rx_burst_guarded()):
	 * for ports whose PMD may fault when the peer goes away (memif).
	 */
	bool guard_bursts;
	struct rte_mempool *pool;     /**< mbufs for frame headers (and RX, without rx_pool) */
	struct rte_mempool *ext_pool; /**< data-less mbufs for external payloads */
	/**
	 * The pool the port receives into, when not pool (frames larger than
	 * pool's mbufs); freed with a link that owns its port. May be NULL.
	 */
	struct rte_mempool *rx_pool;
	const struct rpci_link_ops *ops;
	void *ops_arg;
	/**
	 * The host's keys (lib/auth; NULL or auth "none": sessions are not
	 * authenticated). Kept by reference: they must outlive the link.
	 */
	struct rpci_auth *auth;
	/** With auth: the AEAD our OPENs ask for (lib/auth's cipher; 0: AES-128-GCM). */
	uint8_t cipher;
	/** With auth: our OPENs ask for encryption; as a server, every session gets it. */
	bool encrypt;
	/** With auth, as a server: also take sessions whose frames are not authenticated. */
	bool sessions_optional;
};

/** Flags of rpci_link_send(). */
#define RPCI_LINK_SEND_COPY 0x1  /**< copy the payload even if large */
/**
 * Only the enabled bytes of the payload may be read: a partial first or
 * last DW is copied byte by byte, never read whole.
 */
#define RPCI_LINK_SEND_EXACT 0x2

/**
 * Largest TLP payload that fits a frame of an MTU: a multiple of 64 bytes,
 * at most RPCI_TLP_MAX_PAYLOAD.
 *
 * @param mtu
 *   The port's MTU.
 * @return
 *   The payload size, or 0 if the MTU is too small for any.
 */
uint32_t rpci_link_max_payload_for_mtu(uint32_t mtu);

/**
 * Create the pool a port receives frames of up to frame_max bytes into, one
 * mbuf each (frames larger than the header pool's mbufs).
 *
 * @param name
 *   Prefix of the pool's name (unique in the process).
 * @param nb_mbufs
 *   Number of mbufs.
 * @param frame_max
 *   Largest frame, Ethernet header included (at most RPCI_LINK_FRAME_MAX).
 * @param socket_id
 *   NUMA socket.
 * @return
 *   The pool, or NULL with rte_errno set (EINVAL, ENOMEM, EEXIST).
 */
struct rte_mempool *rpci_link_rx_pool_create(const char *name, uint32_t nb_mbufs,
					     uint32_t frame_max, int socket_id);

/**
 * Create the mempools a link needs, sized from the link parameters.
 *
 * @param name
 *   Prefix of the pools' names (unique in the process).
 * @param nb_mbufs
 *   Number of mbufs of each pool.
 * @param mtu
 *   The port's MTU (sets the data room of the header/RX pool).
 * @param socket_id
 *   NUMA socket.
 * @param pool
 *   Set to the RX/header pool.
 * @param ext_pool
 *   Set to the pool of mbufs for external buffers.
 * @return
 *   0, or -ENOMEM / -EEXIST / -EINVAL (rte_errno of the failed create).
 */
int rpci_link_pools_create(const char *name, uint32_t nb_mbufs, uint32_t mtu, int socket_id,
			   struct rte_mempool **pool, struct rte_mempool **ext_pool);

/**
 * Create a link on a started port.
 *
 * @param params
 *   The parameters (copied).
 * @return
 *   The link, or NULL with rte_errno set: EINVAL (bad parameter, message
 *   logged), ENOMEM.
 */
struct rpci_link *rpci_link_create(const struct rpci_link_params *params);

/**
 * Bring up a host's port and its link as the deployment file says: mbuf
 * pools sized from the link section, the host's port (rpci_port_init())
 * with its MAC, and a link with the file's parameters. Payloads are copied
 * on ports that take no mbuf chains; memif ports get the burst fault
 * guard. The link owns the pools and the port: rpci_link_free() closes the
 * port and frees the pools.
 *
 * @param conf
 *   The deployment.
 * @param host
 *   This host (one of conf's).
 * @param ops
 *   The link's callbacks.
 * @param ops_arg
 *   Their argument.
 * @param wait_up_ms
 *   Wait this long for the port's link to come up (0: do not wait).
 * @param info
 *   If not NULL, filled with what the port can do.
 * @param err
 *   Receives a message on failure.
 * @param err_len
 *   Size of err.
 * @return
 *   The link, or NULL with rte_errno set: EINVAL, ENOMEM (pools), ENODEV
 *   (no such port: check the host's vdevs), EIO (the port would not start
 *   or come up).
 */
struct rpci_link *rpci_link_create_for_host(const struct rpci_conf *conf,
					    const struct rpci_conf_host *host,
					    const struct rpci_link_ops *ops, void *ops_arg,
					    uint32_t wait_up_ms, struct rpci_port_info *info,
					    char *err, size_t err_len);

/**
 * Free a link: every session is dropped without a CLOSE and every mbuf it
 * holds is freed; a link made by rpci_link_create_for_host() also closes its
 * port and frees its pools. Stop polling the port first.
 *
 * @param link
 *   The link; NULL is ignored.
 */
void rpci_link_free(struct rpci_link *link);

/**
 * Give the mbufs the link keeps for reuse (header mbufs and mbufs of
 * payloads sent in place, taken back from acked frames and refilled in
 * bulk, at most a few dozen) back to their pools: before counting what a
 * pool has, or to leave more to other users of the pools.
 *
 * @param link
 *   The link.
 */
void rpci_link_release_cache(struct rpci_link *link);

/**
 * Do the link's work once: receive a burst, deliver messages in order,
 * answer with acks, run the timers (retransmission, keepalive, dead
 * peers), and send what is queued.
 *
 * @param link
 *   The link.
 * @return
 *   The number of frames received and sent (0 when there was nothing to
 *   do: a poll loop may then back off).
 */
int rpci_link_poll(struct rpci_link *link);

/**
 * Send what is queued now (rpci_link_poll() does it too).
 *
 * @param link
 *   The link.
 * @return
 *   Number of frames handed to the port.
 */
int rpci_link_flush(struct rpci_link *link);

/**
 * Send frames the caller built, Ethernet header and all, on the link's port
 * and queue, as they are: no link header, no sequence number, no replay,
 * no fault injection, not counted in the link's stats. For traffic that is
 * not the link's (see rpci_link_ops.rx_other), on the lcore that polls the
 * link.
 *
 * @param link
 *   The link.
 * @param pkts
 *   The frames.
 * @param n
 *   How many.
 * @return
 *   The number of frames the port took (the first ones); the caller still
 *   owns the others.
 */
uint16_t rpci_link_tx_raw(struct rpci_link *link, struct rte_mbuf **pkts, uint16_t n);

/**
 * Largest frame this link sends and takes (a session may use smaller ones:
 * the smaller of both ends').
 *
 * @param link
 *   The link.
 * @return
 *   Bytes, Ethernet header included.
 */
uint32_t rpci_link_frame_max(const struct rpci_link *link);

/**
 * Largest TLP payload this link sends and accepts.
 *
 * @param link
 *   The link.
 * @return
 *   Bytes (a multiple of 64).
 */
uint32_t rpci_link_max_payload(const struct rpci_link *link);

/**
 * Our MAC address.
 *
 * @param link
 *   The link.
 * @return
 *   The address.
 */
const struct rte_ether_addr *rpci_link_mac(const struct rpci_link *link);

/**
 * Copy the link's counters.
 *
 * @param link
 *   The link.
 * @param stats
 *   Filled with the counters.
 */
void rpci_link_stats_get(const struct rpci_link *link, struct rpci_link_stats *stats);

/**
 * Open a session to a server's device and wait for the answer, polling the
 * link meanwhile (the OPEN is resent every keepalive period).
 *
 * @param link
 *   The link.
 * @param peer
 *   The server's MAC address.
 * @param req
 *   What to ask (function, requester_id; the rest is filled in).
 * @param ack
 *   Filled with the server's answer (completer id, or why it refused).
 * @param timeout_ms
 *   How long to wait for an answer.
 * @return
 *   The open session, or NULL with rte_errno set: ETIMEDOUT (no answer),
 *   ECONNREFUSED or the server's reason as errno (refused; ack->reason says
 *   why), ENOSPC (too many sessions), ENOMEM.
 */
struct rpci_link_session *rpci_link_open(struct rpci_link *link, const struct rte_ether_addr *peer,
					 const struct rpci_link_open_msg *req,
					 struct rpci_link_open_msg *ack, uint32_t timeout_ms);

/**
 * Start opening a session without waiting: the OPEN is sent now and again
 * each keepalive period while the link is polled;
 * rpci_link_session_answer() tells when the server has answered.
 *
 * @param link
 *   The link.
 * @param peer
 *   The server's MAC address.
 * @param req
 *   What to ask (function, requester_id).
 * @return
 *   The session, in state RPCI_LINK_S_OPENING, or NULL with rte_errno set:
 *   EINVAL, ENOSPC (too many sessions), ENOMEM.
 */
struct rpci_link_session *rpci_link_connect(struct rpci_link *link,
					    const struct rte_ether_addr *peer,
					    const struct rpci_link_open_msg *req);

/**
 * The server's answer to a session started by rpci_link_connect().
 *
 * @param s
 *   The session.
 * @param ack
 *   If not NULL and answered, filled with the answer.
 * @return
 *   - 0: accepted; the session is open.
 *   - -EINPROGRESS: no answer yet.
 *   - the server's reason as a negative errno (or -ECONNREFUSED): refused;
 *     free the session.
 *   - -EINVAL: not a session this end opened.
 */
int rpci_link_session_answer(const struct rpci_link_session *s, struct rpci_link_open_msg *ack);

/**
 * Close a session in order: wait until everything sent is acked, send
 * CLOSE, wait for CLOSE_ACK, then free the session.
 *
 * @param s
 *   The session (freed by this call whatever it returns).
 * @param timeout_ms
 *   How long to wait in all.
 * @return
 *   0, -ETIMEDOUT (the peer did not answer; the session is freed anyway),
 *   -ENOTCONN (it was already dead or closed).
 */
int rpci_link_close(struct rpci_link_session *s, uint32_t timeout_ms);

/**
 * Start closing a session without waiting: once everything sent is acked
 * the link sends CLOSE, again until the peer's CLOSE_ACK; poll the link
 * and rpci_link_close_poll(), then free the session.
 *
 * @param s
 *   An open session.
 * @return
 *   0, -ENOTCONN (not open: free it), -EINVAL.
 */
int rpci_link_close_start(struct rpci_link_session *s);

/**
 * Where a close started by rpci_link_close_start() is.
 *
 * @param s
 *   The session.
 * @return
 *   0 (closed in order: free it), -EINPROGRESS, -ETIMEDOUT (the peer fell
 *   silent first: free it), -EINVAL (no close started).
 */
int rpci_link_close_poll(const struct rpci_link_session *s);

/**
 * Tell peers that our port stops next, and wait (polling the link) until
 * each acknowledged or the time is up: a memif peer then stops polling
 * until the port has gone down, so that DPDK 22.11's memif cannot unmap its
 * rings under a burst. Call it on the way out of a process, after closing
 * the sessions.
 *
 * @param link
 *   The link.
 * @param peers
 *   The peers (those this process had sessions with).
 * @param nb_peers
 *   How many (at most RPCI_LINK_SESSIONS_MAX).
 * @param timeout_ms
 *   How long to wait in all.
 * @return
 *   The number of peers that acknowledged, or -EINVAL.
 */
int rpci_link_port_stop_notice(struct rpci_link *link, const struct rte_ether_addr *peers,
			       unsigned int nb_peers, uint32_t timeout_ms);

/**
 * Free a session that is closed or dead (after the down callback), or drop
 * an open one without telling the peer.
 *
 * @param s
 *   The session; NULL is ignored.
 */
void rpci_link_session_free(struct rpci_link_session *s);

/**
 * Queue a message on a session. Small messages are packed together into
 * one frame; a payload larger than copy_threshold is attached, not copied.
 * Frames leave on rpci_link_flush() or the next poll.
 *
 * @param s
 *   An open session.
 * @param msg
 *   The message (valid, with rpci_tlp_payload_len() bytes of payload).
 * @param payload
 *   The payload, DW-aligned to the message (NULL if it has none).
 * @param flags
 *   RPCI_LINK_SEND_* flags.
 * @return
 *   - 0 on success.
 *   - -EAGAIN: the replay window or the mbuf pool is full; poll and retry.
 *   - -ENOTCONN: the session is not open.
 *   - -EINVAL: the message is not valid or too large for the link.
 */
int rpci_link_send(struct rpci_link_session *s, const struct rpci_tlp *msg, const void *payload,
		   unsigned int flags);

/**
 * How many more DATA frames a session may send now.
 *
 * @param s
 *   The session.
 * @return
 *   Free frames in the replay window (0 if the session is not open).
 */
uint32_t rpci_link_tx_room(const struct rpci_link_session *s);

/**
 * How many more DATA frames of a message type's class a session may send
 * now: the room in the replay window and the peer's credits for the class.
 *
 * @param s
 *   The session.
 * @param type
 *   A message type (enum rpci_tlp_type): its class counts.
 * @return
 *   Frames (0 if the session is not open).
 */
uint32_t rpci_link_tx_room_for(const struct rpci_link_session *s, uint8_t type);

/**
 * Sequence number that the next DATA frame of a session will carry; every
 * message queued so far travels in a frame numbered below it once flushed.
 *
 * @param s
 *   The session.
 * @return
 *   The sequence number.
 */
uint32_t rpci_link_session_tx_seq(struct rpci_link_session *s);

/**
 * Whether every DATA frame numbered below seq has been acked by the peer
 * (so memory those frames were sent from may change).
 *
 * @param s
 *   The session.
 * @param seq
 *   A value of rpci_link_session_tx_seq().
 * @return
 *   true if acked.
 */
bool rpci_link_session_acked(const struct rpci_link_session *s, uint32_t seq);

/**
 * State of a session.
 *
 * @param s
 *   The session.
 * @return
 *   enum rpci_link_state.
 */
enum rpci_link_state rpci_link_session_state(const struct rpci_link_session *s);

/**
 * How a session's frames are protected, and its refusals.
 *
 * @param s
 *   The session.
 * @param st
 *   Filled.
 */
void rpci_link_session_auth_get(const struct rpci_link_session *s,
				struct rpci_link_session_auth *st);

/**
 * The host of the deployment at the other end of a session: the one whose
 * key authenticated its OPEN (or OPEN_ACK), or, without keys, the one whose
 * MAC address it comes from.
 *
 * @param s
 *   The session.
 * @return
 *   The host's index in the deployment file, or -1 (the link has no keys
 *   and the address is no host's).
 */
int rpci_link_session_peer_host(const struct rpci_link_session *s);

/**
 * The link's port.
 *
 * @param link
 *   The link.
 * @return
 *   Its ethdev port id.
 */
uint16_t rpci_link_port_id(const struct rpci_link *link);

/**
 * Whether the link authenticates its sessions (it has keys).
 *
 * @param link
 *   The link.
 * @return
 *   true or false.
 */
bool rpci_link_auth_on(const struct rpci_link *link);

/**
 * Called from an rx_ctrl callback: the CTRL frame being delivered
 * authenticated (lib/ctrl's envelope verified, fresh and new). A
 * kernel-TCP port then keeps the connection it came on in place of the
 * one it has (rpci_port_tcp.h).
 *
 * @param link
 *   The link.
 */
void rpci_link_rx_authentic(struct rpci_link *link);

/**
 * Session id (chosen by the client, unique on the link).
 *
 * @param s
 *   The session.
 * @return
 *   The id.
 */
uint32_t rpci_link_session_id(const struct rpci_link_session *s);

/**
 * MAC address of the session's peer.
 *
 * @param s
 *   The session.
 * @return
 *   The address.
 */
const struct rte_ether_addr *rpci_link_session_peer(const struct rpci_link_session *s);

/**
 * The link a session belongs to.
 *
 * @param s
 *   The session.
 * @return
 *   The link.
 */
struct rpci_link *rpci_link_session_link(const struct rpci_link_session *s);

/**
 * Attach the owner's context to a session.
 *
 * @param s
 *   The session.
 * @param priv
 *   The context.
 */
void rpci_link_session_set_priv(struct rpci_link_session *s, void *priv);

/**
 * The owner's context of a session.
 *
 * @param s
 *   The session.
 * @return
 *   What rpci_link_session_set_priv() stored, or NULL.
 */
void *rpci_link_session_priv(const struct rpci_link_session *s);

/**
 * Send a CTRL datagram (unsequenced; the control plane retries itself).
 *
 * @param link
 *   The link.
 * @param dst
 *   Destination MAC (may be broadcast).
 * @param body
 *   The body.
 * @param len
 *   Its length, at most RPCI_LINK_CTRL_MAX.
 * @return
 *   0, -EINVAL (too long), -EAGAIN (no mbuf or the port is full).
 */
int rpci_link_send_ctrl(struct rpci_link *link, const struct rte_ether_addr *dst,
			const void *body, uint16_t len);

/** Kinds of port, for the defaults that depend on them (doc/configuration.md). */
enum rpci_port_kind {
	RPCI_PORT_OTHER = 0,   /**< any other PMD (net_ring, null, tap, pcap...) */
	RPCI_PORT_MEMIF = 1,   /**< memif: shared memory between two processes */
	RPCI_PORT_TCP = 2,     /**< rpci's kernel-TCP port (net_rpci_tcp) */
	RPCI_PORT_AF_PACKET = 3, /**< af_packet: a kernel interface */
	RPCI_PORT_PCI = 4,     /**< a device on the PCI bus: a NIC */
};

/** What a port can do, as the link needs it. */
struct rpci_port_info {
	char driver[32];  /**< PMD name, e.g. "net_memif" */
	bool multi_seg;   /**< takes chained mbufs (external payloads) */
	bool is_memif;    /**< shared-memory port: see rpci_port_quiesce_needed() */
	enum rpci_port_kind kind;
	/**
	 * Largest frame it carries, Ethernet header included (no FCS): a
	 * memif port's buffer size (its vdev's bsize, 2048 by default; a frame
	 * must fit one buffer), RPCI_LINK_FRAME_MAX on a TCP port, the MTU's
	 * frame on the others.
	 */
	uint32_t frame_max;
	/** Segments a frame may have (the PMD's limit, or RPCI_LINK_SEGS_DEFAULT). */
	uint32_t tx_segs_max;
	/**
	 * Whether the link's CRC should cover payloads by default: false
	 * where something below checks every byte between the two processes
	 * (memif: shared memory, no wire; TCP: its checksum; a PCI NIC: the
	 * Ethernet FCS), true where the link cannot tell (af_packet, others).
	 */
	bool crc_payload;
};

/**
 * What a port can do, without configuring it (it must exist: a vdev of
 * EAL's, or a TCP port made by rpci_port_tcp_create()).
 *
 * @param port_id
 *   The port.
 * @param mtu
 *   The MTU it will have (its frame is frame_max where nothing larger fits).
 * @param info
 *   Filled.
 * @return
 *   0, -ENODEV (no such port), or the error of rte_eth_dev_info_get().
 */
int rpci_port_info_get(uint16_t port_id, uint32_t mtu, struct rpci_port_info *info);

/**
 * The frame size and payload CRC a host's link uses on its port: the host's
 * own setting, else the file's link setting, else the port kind's default
 * (rpci_port_info).
 *
 * @param conf
 *   The deployment.
 * @param host
 *   The host.
 * @param info
 *   Its port (rpci_port_info_get()).
 * @param frame_max
 *   Set to the largest frame, Ethernet header included.
 * @param crc_payload
 *   Set to whether the CRC covers payloads.
 * @param err
 *   Receives a message on failure.
 * @param err_len
 *   Size of err.
 * @return
 *   0, or -EINVAL: the file asks for frames the port does not carry.
 */
int rpci_link_host_frame(const struct rpci_conf *conf, const struct rpci_conf_host *host,
			 const struct rpci_port_info *info, uint32_t *frame_max, bool *crc_payload,
			 char *err, size_t err_len);

/**
 * Configure and start a port for the link: one RX and one TX queue, the
 * MTU, our MAC address where the port lets us set it, promiscuous mode.
 *
 * @param port_id
 *   The port.
 * @param mtu
 *   Its MTU (1500 needs no change).
 * @param nb_desc
 *   Descriptors per queue.
 * @param pool
 *   RX mempool.
 * @param mac
 *   Our address (the frames' source, and the destination we accept).
 * @param info
 *   If not NULL, filled with what the port can do.
 * @return
 *   0, -ENODEV (no such port), or the ethdev error of the step that
 *   failed (logged).
 */
int rpci_port_init(uint16_t port_id, uint32_t mtu, uint16_t nb_desc, struct rte_mempool *pool,
		   const struct rte_ether_addr *mac, struct rpci_port_info *info);

/**
 * Whether a port's link is up.
 *
 * @param port_id
 *   The port.
 * @return
 *   true if up.
 */
bool rpci_port_is_up(uint16_t port_id);

/**
 * Wait for a port's link to come up.
 *
 * @param port_id
 *   The port.
 * @param timeout_ms
 *   How long.
 * @return
 *   0, or -ETIMEDOUT.
 */
int rpci_port_wait_up(uint16_t port_id, uint32_t timeout_ms);

/**
 * Stop and close a port. Nothing may poll it any more.
 *
 * @param port_id
 *   The port.
 */
void rpci_port_close(uint16_t port_id);

/**
 * Install the fault guard used by rpci_port_rx_burst_guarded() and
 * rpci_port_tx_burst_guarded() (a SIGSEGV/SIGBUS handler; faults outside a
 * guarded burst go to the handler installed before). Idempotent.
 *
 * @return
 *   0, or a negative errno from sigaction().
 */
int rpci_port_guard_install(void);

/**
 * rte_eth_rx_burst() that survives the PMD faulting on shared memory its
 * peer took away (DPDK 22.11 memif unmaps it under a running burst).
 *
 * @return
 *   Packets received; 0 after a fault (what the burst had taken leaks).
 */
uint16_t rpci_port_rx_burst_guarded(uint16_t port_id, uint16_t queue_id,
				    struct rte_mbuf **pkts, uint16_t n);

/**
 * rte_eth_tx_burst() that survives the PMD faulting (see
 * rpci_port_rx_burst_guarded()).
 *
 * @return
 *   Packets sent; n after a fault: the caller must not touch them again
 *   (references the PMD did not drop leak).
 */
uint16_t rpci_port_tx_burst_guarded(uint16_t port_id, uint16_t queue_id,
				    struct rte_mbuf **pkts, uint16_t n);

/**
 * Faults the guarded bursts survived, in this process.
 *
 * @return
 *   The count.
 */
uint64_t rpci_port_faults(void);

/**
 * Set the link's built-in fault injector (off by default): every frame the
 * link sends (tx) and receives (rx) is dropped, duplicated, reordered or
 * corrupted at these rates, drawn from a generator seeded with seed, so a
 * run is repeatable. Corruption works on a copy: frames kept for replay
 * stay intact. All rates 0 turns it off.
 *
 * @param link
 *   The link.
 * @param tx
 *   Rates for frames sent (NULL: none).
 * @param rx
 *   Rates for frames received (NULL: none).
 * @param seed
 *   Seed of the generator.
 * @return
 *   0, or -EINVAL (a rate outside 0..1).
 */
int rpci_link_set_faults(struct rpci_link *link, const struct rpci_link_faults *tx,
			 const struct rpci_link_faults *rx, uint64_t seed);

/** State of a poll loop's idle back-off. */
struct rpci_idle {
	bool adaptive;         /**< back off when idle (else spin) */
	uint32_t spin_polls;   /**< empty polls before the first sleep */
	uint32_t sleep_max_us; /**< longest sleep */
	uint32_t empty;        /**< empty polls in a row */
	uint32_t sleep_us;     /**< next sleep */
};

/**
 * Set up an idle back-off.
 *
 * @param idle
 *   The state.
 * @param adaptive
 *   Sleep when idle (true) or keep spinning (false).
 * @param spin_polls
 *   Empty polls before sleeping.
 * @param sleep_max_us
 *   Longest sleep, in microseconds.
 */
void rpci_idle_init(struct rpci_idle *idle, bool adaptive, uint32_t spin_polls,
		    uint32_t sleep_max_us);

/**
 * Account one poll: reset on work; after spin_polls empty polls sleep,
 * doubling the sleep up to sleep_max_us.
 *
 * @param idle
 *   The state.
 * @param work
 *   What the poll did (0 = nothing).
 */
void rpci_idle_account(struct rpci_idle *idle, int work);

#ifdef __cplusplus
}
#endif

#endif /* RPCI_LINK_H */
