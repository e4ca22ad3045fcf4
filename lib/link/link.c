/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * The link: framing over rte_ethdev, sessions, selective-repeat reliability.
 *
 * Sending: messages are packed into the session's open frame (an mbuf that
 * starts with the Ethernet and link headers), up to the session's frame
 * size. Small payloads are copied in after their message's header. A
 * payload above the copy threshold is sent in place, attached as an
 * external buffer in a segment of its own:
 *  - in a frame that holds copied messages, it ends the frame;
 *  - a frame whose first message is attached is a split frame: the headers
 *    of its messages go into the first segment, back to back, and their
 *    payloads follow in order, where a payload that continues the previous
 *    one in memory only lengthens its segment. A large copy thus travels as
 *    frames of two segments (headers, then up to 60 KiB of payload in
 *    place), whatever the number of messages in them.
 * A closed frame gets its sequence number, ack and CRC and goes into the
 * replay ring; frames leave the ring for the port in order (tx_sent), so a
 * retransmission is only "tx_sent = tx_acked". Acked frames go back in bulk:
 * the mbufs of attached payloads are kept attached for the next payload,
 * header mbufs are reset and reused, the rest freed in one call.
 *
 * Receiving: a DATA frame with the expected sequence number is acked and
 * kept in the session's in-order queue until every message in it has been
 * delivered; the transaction layer may ask to be called again (-EAGAIN)
 * when it has no room to answer. A frame may come in several segments (a
 * PMD's chain, or the sender's own on net_ring): messages are read where
 * they lie, and only a header or payload that straddles two segments is
 * copied to be read.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_branch_prediction.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <rte_memory.h>
#include <rte_mbuf.h>
#include <rte_random.h>

#include "link_private.h"
#include "rpci_auth.h"
#include "rpci_port_tcp.h"

RTE_LOG_REGISTER(rpci_link_logtype, rpci.lib.link, INFO);

#define ETH_LEN ((uint32_t)sizeof(struct rte_ether_hdr))
#define L2_HDRS (ETH_LEN + RPCI_LINK_HDR_LEN)
/* Longest replay time-out, whatever the back-off. */
#define RTO_MAX_US 200000u
/* Most frames a session puts in one TX burst. */
#define TX_BATCH_MAX 64
/* mbufs kept by the link for reuse (header mbufs, attached-payload mbufs). */
#define STASH_MAX 32
/* Refill of an empty stash, in one bulk allocation. */
#define STASH_REFILL 16
/* Segments given back in one bulk free. */
#define FREE_BATCH 64
/* A closed frame at least this long leaves at once, not at the next flush. */
#define TX_PUSH_BYTES 16384u
/* Counters of an authenticated session's frames other than DATA (DATA: the sequence). */
#define CTL_COUNTER_BIT (1ull << 63)
/* OPENs remembered to refuse their replays (their time window's worth, at most). */
#define OPEN_SEEN_MAX 256
/* Authenticated sessions the peer closed, kept to answer a CLOSE sent again. */
#define TOMBS_MAX 8

struct replay_ent {
	struct rte_mbuf *m;
	uint64_t sent_tsc; /* 0: never sent */
	bool retx;         /* sent more than once: no RTT sample (Karn) */
};

/* A place in a frame: a segment of its chain and an offset in that segment's data. */
struct chain_pos {
	const struct rte_mbuf *seg;
	uint32_t off;
};

/*
 * The messages of a received DATA frame still to deliver. The mbuf is only
 * read: a PMD may share it (net_ring hands over the sender's own mbufs).
 * Messages are read at hdr: headers and payloads back to back, or in a
 * split frame the headers only, their payloads at pay.
 */
struct rx_frame {
	struct rte_mbuf *m;
	struct chain_pos hdr;
	struct chain_pos pay;
	uint32_t hdr_left; /* bytes at hdr still to deliver */
	uint32_t pay_left; /* split frame: payload bytes at pay still to deliver */
	bool split;
};

/* A DATA frame accepted in order, waiting for delivery. */
struct rxq_ent {
	struct rx_frame f;
	uint32_t seq; /* its sequence number: orders the classes */
};

/* A DATA frame that arrived past a gap, kept until the gap fills. */
struct ooo_ent {
	struct rx_frame f; /* f.m NULL: not here (yet) */
	uint8_t cls;
};

/* The receive queue of one traffic class. */
struct rx_class {
	struct rxq_ent *q;
	uint32_t mask;
	uint32_t head;
	uint32_t tail;
	uint16_t freed; /* frames delivered and freed (mod 2^16): the credits given back */
	uint16_t cap;   /* frames it holds: the credits we give */
};

/* mbufs the link keeps for reuse, so that a frame costs no pool round trip. */
struct mbuf_stash {
	uint32_t n;
	struct rte_mbuf *m[STASH_MAX];
};

struct rpci_link_session {
	struct rpci_link *link;
	bool in_use;
	bool is_client;
	enum rpci_link_state state;
	uint32_t id;
	struct rte_ether_addr peer;
	void *priv;

	/* TX: [tx_acked, tx_sent) on the wire, [tx_sent, tx_next) waiting. */
	uint32_t tx_next;
	uint32_t tx_sent;
	uint32_t tx_acked;
	struct replay_ent *replay;
	uint32_t replay_mask;
	struct rte_mbuf *open_frame; /* frame being filled */
	struct rte_mbuf *open_last;  /* its last segment */
	uint32_t open_len;           /* L2 payload bytes in it (link header included) */
	uint32_t open_segs;          /* its segments */
	uint16_t open_split_len;     /* split frame: bytes of message headers in it */
	bool open_split;             /* its first message was attached: headers first */
	uint32_t tx_frame_l2;        /* largest frame to the peer, Ethernet header excluded */
	uint32_t retries;
	uint64_t rto_tsc;   /* current replay time-out, backed off */
	uint64_t srtt_tsc;  /* smoothed round trip (0: no sample yet) */
	uint64_t rttvar_tsc;
	bool probing;       /* the oldest frame was resent alone (time-out, KEPT NAK) */
	uint32_t probe_seq;
	uint32_t last_nak_ack;
	uint64_t last_resend_tsc; /* last NAK acted on: rate limit of NAKs */

	/* RX */
	uint32_t rx_next;
	bool ack_pending;
	bool nak_armed;
	uint32_t nak_seq;
	uint64_t nak_tsc;
	struct rx_class rxc[RPCI_LINK_CLASSES];
	bool credit_pending; /* frames were freed: tell the peer */
	/* Frames past a gap, by sequence (rx_next + 1 .. rx_next + window - 1). */
	struct ooo_ent *ooo;
	uint32_t ooo_mask;
	uint32_t ooo_count;

	/* TX credits per class: frames sent, and the peer's limit (mod 2^16) */
	uint16_t tx_consumed[RPCI_LINK_CLASSES];
	uint16_t tx_limit[RPCI_LINK_CLASSES];
	uint8_t open_class; /* class of the open frame */

	uint64_t last_rx_tsc;
	uint64_t last_tx_tsc;

	/* OPEN / CLOSE handshakes */
	struct rpci_link_open_msg open_req;
	struct rpci_link_open_msg open_ack;
	bool answered;
	/*
	 * Authentication (doc/security.md): the session's keys (NULL: its
	 * frames are not authenticated), whether they are derived, the
	 * header's room (link header, and counter and tag), the high halves
	 * of the 64-bit sequence numbers (the counters of DATA frames), the
	 * counter of the other frames sent, the window of those received.
	 */
	struct rpci_auth_sess *sec;
	bool sec_frames;
	bool ack_sealed;         /* server: the OPEN_ACK's block is made (open_auth) */
	bool peer_closed;        /* the peer's CLOSE was agreed to: kept as a tomb when freed */
	bool encrypt;
	int peer_host;           /* the peer's host index, authenticated (or by MAC): -1 unknown */
	uint32_t hdr_len;
	uint32_t tx_wraps;
	uint32_t rx_wraps;
	uint32_t peer_window;    /* the peer's replay window: older DATA is a replay */
	uint64_t tx_ctl;
	struct rpci_auth_window rx_ctl_win;
	uint8_t open_auth[RPCI_LINK_OPEN_AUTH_LEN]; /* server: the OPEN_ACK's block, for repeats */
	uint8_t open_offer_id[RPCI_AUTH_KEY_LEN + 16]; /* server: the OPEN's key and nonce */
	struct rpci_link_session_auth auth_st;
	bool close_acked;
	bool close_started;      /* rpci_link_close_start(): CLOSE once all is acked */
	uint64_t close_sent_tsc; /* last CLOSE sent */
};

struct rpci_link {
	struct rpci_link_params p;
	struct rpci_tlp_limits limits;
	uint32_t max_payload;
	uint32_t frame_max; /* Ethernet header included */
	uint32_t segs_max;  /* segments of a frame we build */
	uint64_t hz;
	uint64_t rto_base_tsc;
	uint64_t rto_max_tsc;
	uint64_t keepalive_tsc;
	uint64_t dead_tsc;
	bool iova_va;
	struct rpci_link_stats stats;
	struct rpci_link_session sessions[RPCI_LINK_SESSIONS_MAX];
	uint32_t nb_sessions;
	struct rpci_link_session *last_hit;
	struct rte_mbuf **rx_burst;
	bool owns_port; /* close the port and free the pools with the link */
	bool port_tcp;  /* a kernel-TCP port: tell it which connection's frames verify */
	uint16_t rx_cap[RPCI_LINK_CLASSES]; /* receive queue per class, frames */
	/* rpci_link_port_stop_notice(): the peers that acknowledged it */
	const struct rte_ether_addr *notice_peers;
	bool *notice_acked;
	unsigned int nb_notice_peers;
	/* built-in fault injector (tests) */
	bool faults_on;
	struct rpci_link_faults faults[2]; /* 0 TX, 1 RX */
	uint64_t fault_rng;
	struct rte_mbuf *fault_held[2];    /* a frame held back (reorder) */
	struct rte_mbuf **fault_rx;        /* RX burst after faults */
	/* TX mbufs for reuse: header mbufs, and payload mbufs still attached */
	struct mbuf_stash hdr_stash;
	struct mbuf_stash ext_stash;
	uint32_t nb_free;                  /* segments waiting in free_batch */
	struct rte_mbuf *free_batch[FREE_BATCH];
	/* where a message header or payload that straddles segments is copied */
	uint8_t rx_hdr_buf[RPCI_TLP_HDR_MAX_LEN];
	uint8_t rx_body_buf[RPCI_TLP_MAX_PAYLOAD];
	/* authentication: the keys (NULL: none), the OPENs taken lately, the refusals' log */
	struct rpci_auth *auth;
	bool owns_auth;
	uint8_t cipher;              /* what our OPENs ask for */
	struct {
		uint8_t id[RPCI_AUTH_KEY_LEN + 16]; /* ephemeral key and nonce */
		uint64_t time_us;
	} open_seen[OPEN_SEEN_MAX];
	uint32_t open_seen_next;
	struct rpci_auth_log_limit log_limit;
	/*
	 * Sessions with keys that the peer closed: a CLOSE sent again (our
	 * CLOSE_ACK was lost) is checked and answered with their keys.
	 */
	struct {
		uint32_t id;
		struct rte_ether_addr peer;
		struct rpci_auth_sess *sec; /* NULL: a free slot */
		uint64_t tx_ctl;
		struct rpci_auth_window rx_ctl_win;
		uint64_t until_tsc;
	} tombs[TOMBS_MAX];
	struct rte_mbuf *rx_cur;     /* the CTRL frame rx_ctrl has (rpci_link_rx_authentic()) */
};

/* ---------------------------------------------------------------- helpers */

uint32_t
rpci_link_max_payload_for_mtu(uint32_t mtu)
{
	uint32_t room;

	/* The room of a frame of an authenticated session: its counter and tag too. */
	if (mtu < RPCI_LINK_HDR_LEN + RPCI_LINK_AUTH_LEN + RPCI_TLP_HDR_MAX_LEN + 64) {
		return 0;
	}
	room = mtu - RPCI_LINK_HDR_LEN - RPCI_LINK_AUTH_LEN - RPCI_TLP_HDR_MAX_LEN;
	room &= ~63u;
	return RTE_MIN(room, (uint32_t)RPCI_TLP_MAX_PAYLOAD);
}

static uint32_t
align_pow2(uint32_t v)
{
	return rte_align32pow2(v < 2 ? 2 : v);
}

static inline uint64_t
now_tsc(void)
{
	return rte_get_timer_cycles();
}

/* Class of a message type (enum rpci_link_class). */
static inline uint8_t
msg_class(uint8_t type)
{
	switch (type) {
	case RPCI_TLP_MRD:
	case RPCI_TLP_CFGRD:
	case RPCI_TLP_CFGWR:
		return RPCI_LINK_CLASS_NP;
	case RPCI_TLP_CPL:
	case RPCI_TLP_CPLD:
		return RPCI_LINK_CLASS_CPL;
	default:
		return RPCI_LINK_CLASS_P;
	}
}

/* Credit counters compare modulo 2^16. */
static inline int16_t
credit_diff(uint16_t a, uint16_t b)
{
	return (int16_t)(uint16_t)(a - b);
}

/* Time from t to now; 0 if t is later (stamped after now was read). */
static inline uint64_t
tsc_since(uint64_t now, uint64_t t)
{
	return now > t ? now - t : 0;
}

static inline uint16_t
port_tx_burst(struct rpci_link *link, struct rte_mbuf **pkts, uint16_t n)
{
	if (link->p.guard_bursts) {
		return rpci_port_tx_burst_guarded(link->p.port_id, link->p.queue_id, pkts, n);
	}
	return rte_eth_tx_burst(link->p.port_id, link->p.queue_id, pkts, n);
}

static uint16_t faults_tx(struct rpci_link *link, struct rte_mbuf **pkts, uint16_t n);

static inline uint16_t
port_tx(struct rpci_link *link, struct rte_mbuf **pkts, uint16_t n)
{
	if (unlikely(link->faults_on)) {
		return faults_tx(link, pkts, n);
	}
	return port_tx_burst(link, pkts, n);
}

static void
mbuf_chain_ref(struct rte_mbuf *m)
{
	for (; m != NULL; m = m->next) {
		rte_mbuf_refcnt_update(m, 1);
	}
}

static void
extbuf_free_cb(void *addr, void *opaque)
{
	/* The memory belongs to the sender, who waits for the ack. */
	RTE_SET_USED(addr);
	RTE_SET_USED(opaque);
}

/* An mbuf of a pool, from the stash, which is refilled in bulk. NULL: the pool is empty. */
static inline struct rte_mbuf *
stash_get(struct mbuf_stash *st, struct rte_mempool *mp)
{
	if (unlikely(st->n == 0)) {
		if (rte_pktmbuf_alloc_bulk(mp, st->m, STASH_REFILL) == 0) {
			st->n = STASH_REFILL;
		} else {
			/* Fewer left than a refill: one at a time. */
			return rte_pktmbuf_alloc(mp);
		}
	}
	return st->m[--st->n];
}

static void
stash_free(struct mbuf_stash *st)
{
	while (st->n > 0) {
		rte_pktmbuf_free(st->m[--st->n]);
	}
}

/* Give the segments collected for freeing back to their pools, in one call. */
static void
free_batch_flush(struct rpci_link *link)
{
	if (link->nb_free > 0) {
		rte_pktmbuf_free_bulk(link->free_batch, link->nb_free);
		link->nb_free = 0;
	}
}

/*
 * Give back a frame nobody else holds any more (acked, and left by the
 * PMD): a segment that carried a payload in place stays attached, kept for
 * the next payload (rpci_link_send() only points it elsewhere); a header
 * mbuf is reset and kept; what the stashes have no room for is freed in
 * bulk. A frame the PMD still holds (refcnt above 1) only loses our
 * reference.
 */
static void
tx_frame_release(struct rpci_link *link, struct rte_mbuf *m)
{
	struct rte_mbuf *seg, *next;

	if (rte_mbuf_refcnt_read(m) != 1) {
		rte_pktmbuf_free(m);
		return;
	}
	for (seg = m; seg != NULL; seg = next) {
		next = seg->next;
		if (rte_mbuf_refcnt_read(seg) == 1) {
			if (RTE_MBUF_HAS_EXTBUF(seg) && seg->pool == link->p.ext_pool &&
			    seg->shinfo == rte_mbuf_to_priv(seg) &&
			    link->ext_stash.n < STASH_MAX) {
				seg->next = NULL;
				seg->nb_segs = 1;
				seg->data_len = 0;
				seg->pkt_len = 0;
				link->ext_stash.m[link->ext_stash.n++] = seg;
				continue;
			}
			if (RTE_MBUF_DIRECT(seg) && seg->pool == link->p.pool &&
			    link->hdr_stash.n < STASH_MAX) {
				rte_pktmbuf_reset(seg);
				link->hdr_stash.m[link->hdr_stash.n++] = seg;
				continue;
			}
		}
		seg->next = NULL;
		seg->nb_segs = 1;
		link->free_batch[link->nb_free++] = seg;
		if (link->nb_free == FREE_BATCH) {
			free_batch_flush(link);
		}
	}
}

struct rte_mempool *
rpci_link_rx_pool_create(const char *name, uint32_t nb_mbufs, uint32_t frame_max, int socket_id)
{
	char pname[RTE_MEMPOOL_NAMESIZE];

	if (name == NULL || nb_mbufs < 16 || frame_max < RTE_ETHER_MIN_LEN ||
	    frame_max > RPCI_LINK_FRAME_MAX) {
		rte_errno = EINVAL;
		return NULL;
	}
	snprintf(pname, sizeof(pname), "%s_rx", name);
	/* frame_max + headroom fits the 16-bit data room (RPCI_LINK_FRAME_MAX says so). */
	return rte_pktmbuf_pool_create(pname, nb_mbufs, RTE_MIN(64u, nb_mbufs / 8), 0,
				       (uint16_t)(RTE_PKTMBUF_HEADROOM + frame_max), socket_id);
}

int
rpci_link_pools_create(const char *name, uint32_t nb_mbufs, uint32_t mtu, int socket_id,
		       struct rte_mempool **pool, struct rte_mempool **ext_pool)
{
	char pname[RTE_MEMPOOL_NAMESIZE];
	uint32_t cache;
	uint16_t room;
	uint16_t priv;
	int ret;

	if (name == NULL || pool == NULL || ext_pool == NULL || nb_mbufs < 64 || mtu > 9600) {
		return -EINVAL;
	}
	/*
	 * Per-lcore cache: mempool refuses a cache whose flush threshold
	 * (1.5 x its size) exceeds the pool, so a fixed 256 failed every pool
	 * under 384 mbufs with EINVAL. Small pools get a small cache, which
	 * also keeps most of their mbufs in the common ring.
	 */
	cache = RTE_MIN(256u, nb_mbufs / 8);
	room = (uint16_t)RTE_MAX((uint32_t)RTE_MBUF_DEFAULT_BUF_SIZE,
				 RTE_PKTMBUF_HEADROOM + ETH_LEN + mtu + 64);
	snprintf(pname, sizeof(pname), "%s_pkt", name);
	*pool = rte_pktmbuf_pool_create(pname, nb_mbufs, cache, 0, room, socket_id);
	if (*pool == NULL) {
		ret = -rte_errno;
		goto fail;
	}
	priv = (uint16_t)RTE_ALIGN(sizeof(struct rte_mbuf_ext_shared_info), RTE_MBUF_PRIV_ALIGN);
	snprintf(pname, sizeof(pname), "%s_ext", name);
	*ext_pool = rte_pktmbuf_pool_create(pname, nb_mbufs, cache, priv, 0, socket_id);
	if (*ext_pool == NULL) {
		ret = -rte_errno;
		goto free_pool;
	}
	return 0;

free_pool:
	rte_mempool_free(*pool);
	*pool = NULL;
fail:
	return ret;
}

/* ---------------------------------------------------------- fault injector */

static inline double
fault_rand(struct rpci_link *link)
{
	/* xorshift64*: repeatable for a seed, cheap, good enough for tests */
	uint64_t x = link->fault_rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	link->fault_rng = x;
	return (double)((x * 0x2545f4914f6cdd1dull) >> 11) * (1.0 / 9007199254740992.0);
}

/*
 * A copy of a frame with one bit flipped past the Ethernet header (a chain
 * of the header pool's mbufs when the frame is larger than one).
 */
static struct rte_mbuf *
fault_corrupt_copy(struct rpci_link *link, struct rte_mbuf *m)
{
	struct rte_mbuf *c, *seg;
	uint32_t bit, off;

	if (m->pkt_len <= ETH_LEN) {
		return NULL;
	}
	c = rte_pktmbuf_copy(m, link->p.pool, 0, UINT32_MAX);
	if (c == NULL) {
		return NULL;
	}
	bit = (uint32_t)(fault_rand(link) * (m->pkt_len - ETH_LEN) * 8);
	off = ETH_LEN + bit / 8;
	for (seg = c; seg != NULL && off >= seg->data_len; seg = seg->next) {
		off -= seg->data_len;
	}
	if (seg == NULL) {
		rte_pktmbuf_free(c);
		return NULL;
	}
	*rte_pktmbuf_mtod_offset(seg, uint8_t *, off) ^= (uint8_t)(1u << (bit % 8));
	return c;
}

/*
 * Apply one direction's faults to a burst, writing the frames that go on
 * to out (room for 2 n + 1). Each input frame is consumed: passed on,
 * freed, copied or held.
 */
static uint16_t
faults_apply(struct rpci_link *link, int dir, struct rte_mbuf **in, uint16_t n,
	     struct rte_mbuf **out)
{
	const struct rpci_link_faults *f = &link->faults[dir];
	uint16_t i, k = 0;

	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = in[i];

		if (fault_rand(link) < f->drop) {
			link->stats.fault_drop[dir]++;
			rte_pktmbuf_free(m);
			continue;
		}
		if (fault_rand(link) < f->corrupt) {
			struct rte_mbuf *c = fault_corrupt_copy(link, m);

			if (c != NULL) {
				link->stats.fault_corrupt[dir]++;
				/* the original (maybe a replay's) stays intact */
				rte_pktmbuf_free(m);
				m = c;
			}
		}
		if (fault_rand(link) < f->dup) {
			link->stats.fault_dup[dir]++;
			mbuf_chain_ref(m);
			out[k++] = m;
		}
		if (link->fault_held[dir] == NULL && fault_rand(link) < f->reorder) {
			/* Held back: it goes after the next frame. */
			link->stats.fault_reorder[dir]++;
			link->fault_held[dir] = m;
			continue;
		}
		out[k++] = m;
		if (link->fault_held[dir] != NULL) {
			out[k++] = link->fault_held[dir];
			link->fault_held[dir] = NULL;
		}
	}
	return k;
}

/*
 * TX with faults: every frame counts as sent (a frame the port refuses is
 * lost, as on a full ring; the replay recovers it).
 */
static uint16_t
faults_tx(struct rpci_link *link, struct rte_mbuf **pkts, uint16_t n)
{
	struct rte_mbuf *out[2 * TX_BATCH_MAX + 1];
	uint16_t done = 0;

	while (done < n) {
		uint16_t chunk = (uint16_t)RTE_MIN(n - done, TX_BATCH_MAX);
		uint16_t k = faults_apply(link, 0, pkts + done, chunk, out);
		uint16_t sent = k > 0 ? port_tx_burst(link, out, k) : 0;

		while (sent < k) {
			rte_pktmbuf_free(out[sent++]);
			link->stats.tx_dropped++;
		}
		done += chunk;
	}
	return n;
}

int
rpci_link_set_faults(struct rpci_link *link, const struct rpci_link_faults *tx,
		     const struct rpci_link_faults *rx, uint64_t seed)
{
	const struct rpci_link_faults none = { 0 };
	const struct rpci_link_faults *f[2] = { tx ? tx : &none, rx ? rx : &none };
	int d;

	if (link == NULL) {
		return -EINVAL;
	}
	for (d = 0; d < 2; d++) {
		if (!(f[d]->drop >= 0 && f[d]->drop <= 1) || !(f[d]->dup >= 0 && f[d]->dup <= 1) ||
		    !(f[d]->reorder >= 0 && f[d]->reorder <= 1) ||
		    !(f[d]->corrupt >= 0 && f[d]->corrupt <= 1)) {
			return -EINVAL;
		}
	}
	for (d = 0; d < 2; d++) {
		link->faults[d] = *f[d];
		if (link->fault_held[d] != NULL) {
			rte_pktmbuf_free(link->fault_held[d]);
			link->fault_held[d] = NULL;
		}
	}
	link->fault_rng = seed != 0 ? seed : 0x9e3779b97f4a7c15ull;
	link->faults_on = false;
	for (d = 0; d < 2; d++) {
		if (f[d]->drop > 0 || f[d]->dup > 0 || f[d]->reorder > 0 || f[d]->corrupt > 0) {
			link->faults_on = true;
		}
	}
	if (link->faults_on) {
		LINK_LOG(INFO, "fault injector on: tx drop %g dup %g reorder %g corrupt %g, "
			 "rx drop %g dup %g reorder %g corrupt %g, seed %" PRIu64, f[0]->drop,
			 f[0]->dup, f[0]->reorder, f[0]->corrupt, f[1]->drop, f[1]->dup,
			 f[1]->reorder, f[1]->corrupt, seed);
	}
	return 0;
}

/* ------------------------------------------------------------- lifecycle */

struct rpci_link *
rpci_link_create(const struct rpci_link_params *params)
{
	struct rpci_link *link;
	const struct rpci_link_params *p = params;
	uint32_t frame_max;

	if (p == NULL || p->pool == NULL || p->ext_pool == NULL || p->ops == NULL ||
	    p->ops->rx_msg == NULL || p->replay_frames < 8 || p->replay_frames > 32768 ||
	    p->burst == 0 || p->burst > 512 || p->retransmit_us == 0 || p->retransmit_max == 0 ||
	    p->keepalive_ms == 0 || p->dead_ms <= p->keepalive_ms) {
		LINK_LOG(ERR, "bad link parameters");
		rte_errno = EINVAL;
		return NULL;
	}
	if (rpci_link_max_payload_for_mtu(p->mtu) == 0 ||
	    (p->frame_max != 0 &&
	     (p->frame_max < RPCI_LINK_FRAME_MIN || p->frame_max > RPCI_LINK_FRAME_MAX)) ||
	    (p->frame_max == 0 && p->mtu + ETH_LEN > RPCI_LINK_FRAME_MAX)) {
		LINK_LOG(ERR, "MTU %u and frame size %u do not fit (frames of %u..%u bytes)",
			 p->mtu, p->frame_max, RPCI_LINK_FRAME_MIN, RPCI_LINK_FRAME_MAX);
		rte_errno = EINVAL;
		return NULL;
	}
	frame_max = p->frame_max != 0 ? p->frame_max : p->mtu + ETH_LEN;
	if (p->max_payload != 0 &&
	    (p->max_payload % 64 != 0 ||
	     p->max_payload > rpci_link_max_payload_for_mtu(frame_max - ETH_LEN))) {
		LINK_LOG(ERR, "frames of %u bytes and max payload %u do not fit", frame_max,
			 p->max_payload);
		rte_errno = EINVAL;
		return NULL;
	}
	link = rte_zmalloc("rpci_link", sizeof(*link), RTE_CACHE_LINE_SIZE);
	if (link == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	link->p = *p;
	if (link->p.ethertype == 0) {
		link->p.ethertype = RPCI_LINK_ETHERTYPE;
	}
	link->p.replay_frames = align_pow2(p->replay_frames);
	if (link->p.rx_queue_frames == 0) {
		link->p.rx_queue_frames = 2 * link->p.replay_frames;
	}
	link->p.rx_queue_frames = align_pow2(link->p.rx_queue_frames);
	/*
	 * Half for posted writes (bulk data), a quarter each for requests and
	 * completions. Completions of the reads one requester keeps in flight
	 * (64 tags of 4 KiB, 4 frames each at most) fit in 256 frames.
	 */
	link->rx_cap[RPCI_LINK_CLASS_P] = (uint16_t)RTE_MAX(link->p.rx_queue_frames / 2, 2u);
	link->rx_cap[RPCI_LINK_CLASS_NP] = (uint16_t)RTE_MAX(link->p.rx_queue_frames / 4, 2u);
	link->rx_cap[RPCI_LINK_CLASS_CPL] = (uint16_t)RTE_MAX(link->p.rx_queue_frames / 4, 2u);
	if (link->p.rx_queue_frames > 32768) {
		LINK_LOG(ERR, "receive queue of %u frames: at most 32768", link->p.rx_queue_frames);
		rte_free(link);
		rte_errno = EINVAL;
		return NULL;
	}
	link->frame_max = frame_max;
	if (rpci_auth_enabled(p->auth)) {
		link->auth = p->auth;
		link->cipher = p->cipher != 0 ? p->cipher : RPCI_AUTH_CIPHER_AES128GCM;
		if (link->cipher >= RPCI_AUTH_NB_CIPHERS || link->cipher == RPCI_AUTH_CIPHER_NONE) {
			LINK_LOG(ERR, "unknown cipher %u", p->cipher);
			rte_free(link);
			rte_errno = EINVAL;
			return NULL;
		}
		/* a TCP port keeps its connection until a new one proves itself */
		rpci_port_tcp_set_probation(p->port_id, true);
	}
	link->port_tcp = rpci_port_is_tcp(p->port_id);
	/* a header mbuf takes the Ethernet, link and a message header at least */
	link->segs_max = p->tx_segs_max != 0 ? RTE_MAX(p->tx_segs_max, 2u) : RPCI_LINK_SEGS_DEFAULT;
	link->max_payload = p->max_payload ? p->max_payload :
		rpci_link_max_payload_for_mtu(frame_max - ETH_LEN);
	link->limits.max_payload = link->max_payload;
	link->limits.max_read_req = RPCI_TLP_MAX_PAYLOAD;
	link->hz = rte_get_timer_hz();
	link->rto_base_tsc = link->hz * p->retransmit_us / 1000000;
	if (link->rto_base_tsc == 0) {
		link->rto_base_tsc = 1;
	}
	link->rto_max_tsc = RTE_MAX(link->rto_base_tsc, link->hz * RTO_MAX_US / 1000000);
	link->keepalive_tsc = link->hz * p->keepalive_ms / 1000;
	link->dead_tsc = link->hz * p->dead_ms / 1000;
	link->iova_va = rte_eal_iova_mode() == RTE_IOVA_VA;
	link->rx_burst = rte_zmalloc("rpci_link_rx", sizeof(struct rte_mbuf *) * p->burst, 0);
	link->fault_rx = rte_zmalloc("rpci_link_frx",
				     sizeof(struct rte_mbuf *) * (2 * p->burst + 1), 0);
	if (link->rx_burst == NULL || link->fault_rx == NULL) {
		rte_free(link->rx_burst);
		rte_free(link->fault_rx);
		rte_free(link);
		rte_errno = ENOMEM;
		return NULL;
	}
	if (p->guard_bursts && rpci_port_guard_install() < 0) {
		LINK_LOG(ERR, "cannot install the burst fault guard");
		rte_free(link->rx_burst);
		rte_free(link->fault_rx);
		rte_free(link);
		rte_errno = EINVAL;
		return NULL;
	}
	return link;
}

static void
session_release_mbufs(struct rpci_link_session *s)
{
	uint32_t seq, c;

	for (seq = s->tx_acked; seq != s->tx_next; seq++) {
		struct replay_ent *e = &s->replay[seq & s->replay_mask];

		rte_pktmbuf_free(e->m);
		e->m = NULL;
	}
	s->tx_acked = s->tx_sent = s->tx_next;
	if (s->open_frame != NULL) {
		rte_pktmbuf_free(s->open_frame);
		s->open_frame = NULL;
		s->open_last = NULL;
	}
	for (c = 0; c < RPCI_LINK_CLASSES; c++) {
		struct rx_class *rc = &s->rxc[c];

		while (rc->head != rc->tail) {
			rte_pktmbuf_free(rc->q[rc->head & rc->mask].f.m);
			rc->head++;
		}
	}
	for (seq = 0; s->ooo_count > 0 && seq <= s->ooo_mask; seq++) {
		if (s->ooo[seq].f.m != NULL) {
			rte_pktmbuf_free(s->ooo[seq].f.m);
			s->ooo[seq].f.m = NULL;
			s->ooo_count--;
		}
	}
}

/* Keep the keys of a session the peer closed, for its CLOSE sent again. */
static void
tomb_add(struct rpci_link *link, struct rpci_link_session *s)
{
	uint64_t now = now_tsc();
	unsigned int i, k = 0;

	for (i = 0; i < TOMBS_MAX; i++) {
		if (link->tombs[i].sec == NULL || link->tombs[i].until_tsc < now) {
			k = i;
			break;
		}
		if (link->tombs[i].until_tsc < link->tombs[k].until_tsc) {
			k = i;
		}
	}
	rpci_auth_sess_free(link->tombs[k].sec);
	link->tombs[k].id = s->id;
	link->tombs[k].peer = s->peer;
	link->tombs[k].sec = s->sec;
	link->tombs[k].tx_ctl = s->tx_ctl;
	link->tombs[k].rx_ctl_win = s->rx_ctl_win;
	link->tombs[k].until_tsc = now + link->dead_tsc;
	s->sec = NULL;
}

void
rpci_link_session_free(struct rpci_link_session *s)
{
	struct rpci_link *link;
	uint32_t c;

	if (s == NULL || !s->in_use) {
		return;
	}
	link = s->link;
	session_release_mbufs(s);
	if (s->peer_closed && s->sec_frames) {
		tomb_add(link, s); /* takes s->sec */
	}
	rpci_auth_sess_free(s->sec);
	rte_free(s->replay);
	rte_free(s->ooo);
	for (c = 0; c < RPCI_LINK_CLASSES; c++) {
		rte_free(s->rxc[c].q);
	}
	if (link->last_hit == s) {
		link->last_hit = NULL;
	}
	memset(s, 0, sizeof(*s));
	link->nb_sessions--;
}

void
rpci_link_free(struct rpci_link *link)
{
	const struct rpci_link_stats *st;
	uint32_t i;

	if (link == NULL) {
		return;
	}
	st = &link->stats;
	LINK_LOG(DEBUG, "rx %" PRIu64 " tx %" PRIu64 " data in %" PRIu64 " out %" PRIu64
		 " retx %" PRIu64 " not-ours %" PRIu64 " bad-hdr %" PRIu64 " bad-crc %" PRIu64
		 " unknown-session %" PRIu64 " dup %" PRIu64 " ooo %" PRIu64 " malformed %" PRIu64
		 " refused %" PRIu64 " tx-dropped %" PRIu64 " timeouts %" PRIu64 " nak %" PRIu64
		 "/%" PRIu64,
		 st->rx_frames, st->tx_frames,
		 st->rx_data, st->tx_data, st->tx_retransmit, st->rx_not_ours, st->rx_bad_header,
		 st->rx_bad_crc, st->rx_unknown_session, st->rx_duplicate, st->rx_out_of_order,
		 st->rx_malformed_msg, st->rx_refused_msg, st->tx_dropped, st->timeouts,
		 st->nak_sent,
		 st->nak_rcvd);
	for (i = 0; i < RPCI_LINK_SESSIONS_MAX; i++) {
		rpci_link_session_free(&link->sessions[i]);
	}
	rpci_link_release_cache(link);
	if (link->owns_port) {
		/* The PMD gives its mbufs back to the pools as the port closes. */
		rpci_port_close(link->p.port_id);
		rte_mempool_free(link->p.pool);
		rte_mempool_free(link->p.ext_pool);
		rte_mempool_free(link->p.rx_pool);
	}
	for (i = 0; i < TOMBS_MAX; i++) {
		rpci_auth_sess_free(link->tombs[i].sec);
	}
	if (link->owns_auth) {
		rpci_auth_free(link->auth);
	}
	rte_pktmbuf_free(link->fault_held[0]);
	rte_pktmbuf_free(link->fault_held[1]);
	rte_free(link->rx_burst);
	rte_free(link->fault_rx);
	rte_free(link);
}

void
rpci_link_release_cache(struct rpci_link *link)
{
	stash_free(&link->hdr_stash);
	stash_free(&link->ext_stash);
	free_batch_flush(link);
}

void
link_take_port(struct rpci_link *link)
{
	link->owns_port = true;
}

void
link_take_auth(struct rpci_link *link)
{
	link->owns_auth = link->auth != NULL;
}

static struct rpci_link_session *
session_alloc(struct rpci_link *link, uint32_t id, const struct rte_ether_addr *peer,
	      bool is_client)
{
	struct rpci_link_session *s = NULL;
	uint32_t i, c;

	for (i = 0; i < RPCI_LINK_SESSIONS_MAX; i++) {
		if (!link->sessions[i].in_use) {
			s = &link->sessions[i];
			break;
		}
	}
	if (s == NULL) {
		rte_errno = ENOSPC;
		return NULL;
	}
	memset(s, 0, sizeof(*s));
	s->replay = rte_zmalloc("rpci_replay", sizeof(*s->replay) * link->p.replay_frames, 0);
	if (s->replay == NULL) {
		goto nomem;
	}
	/* The peer's window is as wide as ours: keep up to that many past a gap. */
	s->ooo = rte_zmalloc("rpci_ooo", sizeof(*s->ooo) * link->p.replay_frames, 0);
	if (s->ooo == NULL) {
		goto nomem;
	}
	for (c = 0; c < RPCI_LINK_CLASSES; c++) {
		struct rx_class *rc = &s->rxc[c];
		uint32_t n = align_pow2(link->rx_cap[c]);

		rc->q = rte_zmalloc("rpci_rxq", sizeof(*rc->q) * n, 0);
		if (rc->q == NULL) {
			goto nomem;
		}
		rc->mask = n - 1;
		rc->cap = link->rx_cap[c];
	}
	s->link = link;
	s->in_use = true;
	s->is_client = is_client;
	s->id = id;
	s->peer = *peer;
	s->replay_mask = link->p.replay_frames - 1;
	s->ooo_mask = link->p.replay_frames - 1;
	s->rto_tsc = link->rto_base_tsc;
	s->tx_frame_l2 = link->frame_max - ETH_LEN;
	s->hdr_len = RPCI_LINK_HDR_LEN;
	s->peer_host = -1;
	s->peer_window = link->p.replay_frames;
	rpci_auth_window_init(&s->rx_ctl_win, 0);
	s->last_rx_tsc = s->last_tx_tsc = now_tsc();
	link->nb_sessions++;
	return s;

nomem:
	rte_free(s->replay);
	rte_free(s->ooo);
	for (c = 0; c < RPCI_LINK_CLASSES; c++) {
		rte_free(s->rxc[c].q);
	}
	memset(s, 0, sizeof(*s));
	rte_errno = ENOMEM;
	return NULL;
}

static struct rpci_link_session *
session_find(struct rpci_link *link, uint32_t id, const struct rte_ether_addr *peer)
{
	struct rpci_link_session *s = link->last_hit;
	uint32_t i;

	if (s != NULL && s->in_use && s->id == id && rte_is_same_ether_addr(&s->peer, peer)) {
		return s;
	}
	for (i = 0; i < RPCI_LINK_SESSIONS_MAX; i++) {
		s = &link->sessions[i];
		if (s->in_use && s->id == id && rte_is_same_ether_addr(&s->peer, peer)) {
			link->last_hit = s;
			return s;
		}
	}
	return NULL;
}

static void
session_down(struct rpci_link_session *s, enum rpci_link_state state)
{
	struct rpci_link *link = s->link;
	enum rpci_link_state old = s->state;

	if (old == RPCI_LINK_S_CLOSED || old == RPCI_LINK_S_DEAD) {
		return;
	}
	s->state = state;
	if (state == RPCI_LINK_S_DEAD) {
		link->stats.sessions_dead++;
		LINK_LOG(WARNING, "session %08x: peer " RTE_ETHER_ADDR_PRT_FMT " is dead", s->id,
			 RTE_ETHER_ADDR_BYTES(&s->peer));
	}
	/* Nothing more will be sent or delivered. */
	session_release_mbufs(s);
	if ((old == RPCI_LINK_S_OPEN || old == RPCI_LINK_S_CLOSING) && link->p.ops->down != NULL) {
		link->p.ops->down(s, state, link->p.ops_arg);
	}
}

/* ---------------------------------------------------------------- TX side */

/* A frame of room bytes of link header (and counter and tag) so far. */
static struct rte_mbuf *
frame_new(struct rpci_link *link, const struct rte_ether_addr *dst, uint32_t room)
{
	struct rte_mbuf *m;
	struct rte_ether_hdr *eth;

	m = stash_get(&link->hdr_stash, link->p.pool);
	if (unlikely(m == NULL)) {
		link->stats.no_mbuf++;
		return NULL;
	}
	eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, (uint16_t)(ETH_LEN + room));
	rte_ether_addr_copy(dst, &eth->dst_addr);
	rte_ether_addr_copy(&link->p.mac, &eth->src_addr);
	eth->ether_type = rte_cpu_to_be_16(link->p.ethertype);
	return m;
}

/* Rate-limited WARNING of a refusal (a frame or an OPEN); counted by the caller. */
static void __attribute__((format(printf, 2, 3)))
link_log_refusal(struct rpci_link *link, const char *fmt, ...)
{
	uint64_t skipped = 0;
	char line[256];
	va_list ap;

	if (!rpci_auth_log_allow(&link->log_limit, now_tsc(), link->hz, &skipped)) {
		link->stats.log_suppressed++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (skipped > 0) {
		LINK_LOG(WARNING, "refused: %s (and %" PRIu64 " more refusals not logged)", line,
			 skipped);
	} else {
		LINK_LOG(WARNING, "refused: %s", line);
	}
}

/*
 * The counter and tag of an authenticated session's frame, its header
 * encoded (the CRC field zero): a DATA frame's counter is its 64-bit
 * sequence number (sealed once: a retransmission is the same bytes), the
 * others' count from 2^63 + 1. The tag covers the header, the counter and
 * the payload where it lies (segments sent in place are read, never
 * written); encrypted, the payload is in the link's own first segment
 * (rpci_link_send() attaches nothing) and is encrypted there.
 */
static void
frame_seal_auth(struct rpci_link_session *s, struct rte_mbuf *m, struct link_hdr *h, uint8_t *hdr)
{
	struct rpci_link *link = s->link;
	uint8_t *ext = hdr + RPCI_LINK_HDR_LEN;
	bool enc = s->encrypt && h->kind == RPCI_LINK_DATA;
	uint32_t off = L2_HDRS + RPCI_LINK_AUTH_LEN;
	struct rte_mbuf *seg;
	uint64_t counter;
	int ret;

	h->payload_len = (uint16_t)(m->pkt_len - off);
	h->flags = (uint16_t)(h->flags | RPCI_LINK_F_AUTH | (enc ? RPCI_LINK_F_ENCRYPTED : 0));
	counter = h->kind == RPCI_LINK_DATA ? ((uint64_t)s->tx_wraps << 32 | h->seq) :
		  (CTL_COUNTER_BIT | ++s->tx_ctl);
	link_hdr_encode(h, hdr);
	link_auth_counter_put(ext, counter);
	ret = rpci_auth_sess_seal_start(s->sec, counter, hdr, RPCI_LINK_HDR_LEN);
	for (seg = m; ret == 0 && seg != NULL; seg = seg->next, off = 0) {
		uint8_t *p = rte_pktmbuf_mtod_offset(seg, uint8_t *, off);

		if (enc && !RTE_MBUF_DIRECT(seg)) {
			ret = -EINVAL; /* never the sender's memory */
			break;
		}
		ret = rpci_auth_sess_seal_data(s->sec, p, enc ? p : NULL, seg->data_len - off);
	}
	if (ret == 0) {
		ret = rpci_auth_sess_seal_finish(s->sec, ext + 8);
	}
	if (unlikely(ret < 0)) {
		/* OpenSSL failed: the frame will not verify, the session dies of it */
		LINK_LOG(ERR, "session %08x: cannot seal a frame: %s", s->id, strerror(-ret));
	}
	s->auth_st.tx_sealed++;
	link->stats.tx_sealed++;
}

/*
 * Fill in the link header of a frame and its CRC; a frame of a session
 * whose frames are authenticated (s, may be NULL) gets its counter and tag.
 */
static void
frame_seal(struct rpci_link *link, struct rpci_link_session *s, struct rte_mbuf *m,
	   struct link_hdr *h)
{
	uint8_t *hdr = rte_pktmbuf_mtod_offset(m, uint8_t *, ETH_LEN);
	uint32_t crc;
	struct rte_mbuf *seg;

	h->version = RPCI_LINK_VERSION;
	if (s != NULL && s->sec_frames) {
		frame_seal_auth(s, m, h, hdr);
		crc = link_crc_header(hdr);
	} else {
		h->payload_len = (uint16_t)(m->pkt_len - L2_HDRS);
		if (link->p.crc_payload) {
			h->flags |= RPCI_LINK_F_CRC_PAYLOAD;
		}
		link_hdr_encode(h, hdr);
		crc = link_crc_header(hdr);
		if (h->flags & RPCI_LINK_F_CRC_PAYLOAD) {
			crc = link_crc_update(crc, hdr + RPCI_LINK_HDR_LEN, m->data_len - L2_HDRS);
			for (seg = m->next; seg != NULL; seg = seg->next) {
				crc = link_crc_update(crc, rte_pktmbuf_mtod(seg, void *),
						      seg->data_len);
			}
		}
	}
	crc ^= ~0u;
	hdr[LINK_OFF_CRC] = (uint8_t)(crc >> 24);
	hdr[LINK_OFF_CRC + 1] = (uint8_t)(crc >> 16);
	hdr[LINK_OFF_CRC + 2] = (uint8_t)(crc >> 8);
	hdr[LINK_OFF_CRC + 3] = (uint8_t)crc;
}

/* Send an unsequenced frame now; it is lost if the port does not take it. */
static int
frame_send_now(struct rpci_link *link, struct rte_mbuf *m)
{
	uint32_t len = m->pkt_len;

	if (port_tx(link, &m, 1) != 1) {
		rte_pktmbuf_free(m);
		link->stats.tx_dropped++;
		return -EAGAIN;
	}
	link->stats.tx_frames++;
	link->stats.tx_bytes += len;
	return 0;
}

/* Send a frame of a header and a body now; of a session (s) with keys for its frames: sealed. */
static int
send_hdr(struct rpci_link *link, struct rpci_link_session *s, const struct rte_ether_addr *dst,
	 struct link_hdr *h, const void *body, uint16_t len)
{
	struct rte_mbuf *m;
	void *p;

	m = frame_new(link, dst, s != NULL ? s->hdr_len : RPCI_LINK_HDR_LEN);
	if (m == NULL) {
		return -EAGAIN;
	}
	if (len > 0) {
		p = rte_pktmbuf_append(m, len);
		if (p == NULL) {
			rte_pktmbuf_free(m);
			return -EINVAL;
		}
		memcpy(p, body, len);
	}
	frame_seal(link, s, m, h);
	return frame_send_now(link, m);
}

static int
send_simple(struct rpci_link *link, const struct rte_ether_addr *dst, uint8_t kind,
	    uint32_t session, uint32_t seq, uint32_t ack, const void *body, uint16_t len)
{
	struct link_hdr h = {
		.kind = kind,
		.session = session,
		.seq = seq,
		.ack = ack,
	};

	return send_hdr(link, NULL, dst, &h, body, len);
}

/*
 * The credits we give, as cumulative limits: the peer may have sent this
 * many frames of each class in all, counted from the start of the session.
 */
static void
session_fill_credits(struct rpci_link_session *s, struct link_hdr *h)
{
	h->credit_p = (uint16_t)(s->rxc[RPCI_LINK_CLASS_P].freed +
				 s->rxc[RPCI_LINK_CLASS_P].cap);
	h->credit_np = (uint16_t)(s->rxc[RPCI_LINK_CLASS_NP].freed +
				  s->rxc[RPCI_LINK_CLASS_NP].cap);
	h->credit_cpl = (uint16_t)(s->rxc[RPCI_LINK_CLASS_CPL].freed +
				   s->rxc[RPCI_LINK_CLASS_CPL].cap);
	s->credit_pending = false;
}

/* A header from the peer raises the limits it gave us (never lowers them). */
static void
session_take_credits(struct rpci_link_session *s, const struct link_hdr *h)
{
	const uint16_t lim[RPCI_LINK_CLASSES] = { h->credit_p, h->credit_np, h->credit_cpl };
	uint32_t c;

	for (c = 0; c < RPCI_LINK_CLASSES; c++) {
		if (credit_diff(lim[c], s->tx_limit[c]) > 0) {
			s->tx_limit[c] = lim[c];
		}
	}
}

static int
session_send_simple(struct rpci_link_session *s, uint8_t kind)
{
	struct link_hdr h = {
		.kind = kind,
		.session = s->id,
		.seq = s->tx_next,
		.ack = s->rx_next,
		/* A NAK says whether what followed the gap was kept. */
		.flags = kind == RPCI_LINK_NAK && s->ooo_count > 0 ? RPCI_LINK_F_KEPT : 0,
	};

	session_fill_credits(s, &h);
	return send_hdr(s->link, s, &s->peer, &h, NULL, 0);
}

static void
session_send_ack(struct rpci_link_session *s, uint8_t kind)
{
	struct rpci_link *link = s->link;

	if (session_send_simple(s, kind) == 0) {
		s->ack_pending = false;
		s->last_tx_tsc = now_tsc();
		if (kind == RPCI_LINK_ACK) {
			link->stats.ack_sent++;
		} else {
			link->stats.nak_sent++;
		}
	}
}

/*
 * An OPEN or OPEN_ACK. With keys, its authentication block follows the
 * body: a client's OPEN is offered again with a new time at each resend, a
 * server's first OPEN_ACK derives the session's keys and later ones repeat
 * it. The block's tag covers the header (CRC field zero) and the body,
 * which lie together in the frame's first segment.
 */
static void
session_send_open_msg(struct rpci_link_session *s, uint8_t kind,
		      const struct rpci_link_open_msg *msg)
{
	struct rpci_link *link = s->link;
	uint16_t len = (uint16_t)(LINK_OPEN_MSG_LEN +
				  (s->sec != NULL ? RPCI_LINK_OPEN_AUTH_LEN : 0));
	struct link_hdr h = {
		.version = RPCI_LINK_VERSION,
		.kind = kind,
		.session = s->id,
		.payload_len = len,
		.flags = link->p.crc_payload ? RPCI_LINK_F_CRC_PAYLOAD : 0,
	};
	uint8_t *hdr, *body;
	struct rte_mbuf *m;
	int ret = 0;

	m = frame_new(link, &s->peer, RPCI_LINK_HDR_LEN);
	if (m == NULL) {
		return;
	}
	body = (uint8_t *)rte_pktmbuf_append(m, len);
	if (body == NULL) {
		rte_pktmbuf_free(m);
		return;
	}
	hdr = rte_pktmbuf_mtod_offset(m, uint8_t *, ETH_LEN);
	link_open_msg_encode(msg, body);
	if (s->sec != NULL) {
		link_hdr_encode(&h, hdr);
		if (kind == RPCI_LINK_OPEN) {
			ret = rpci_auth_sess_offer(s->sec, hdr,
						   RPCI_LINK_HDR_LEN + LINK_OPEN_MSG_LEN,
						   body + LINK_OPEN_MSG_LEN, rpci_auth_now_us());
		} else if (s->ack_sealed) {
			memcpy(body + LINK_OPEN_MSG_LEN, s->open_auth, RPCI_LINK_OPEN_AUTH_LEN);
		} else {
			ret = rpci_auth_sess_answer(s->sec, hdr,
						    RPCI_LINK_HDR_LEN + LINK_OPEN_MSG_LEN, s->id,
						    s->open_req.lease_id, body + LINK_OPEN_MSG_LEN,
						    rpci_auth_now_us());
			memcpy(s->open_auth, body + LINK_OPEN_MSG_LEN, RPCI_LINK_OPEN_AUTH_LEN);
			s->ack_sealed = ret == 0;
		}
		if (ret < 0) {
			LINK_LOG(ERR, "session %08x: cannot authenticate its %s: %s", s->id,
				 kind == RPCI_LINK_OPEN ? "OPEN" : "OPEN_ACK", strerror(-ret));
			rte_pktmbuf_free(m);
			return;
		}
	}
	frame_seal(link, NULL, m, &h);
	if (frame_send_now(link, m) == 0) {
		s->last_tx_tsc = now_tsc();
	}
}

/* Close the open frame: number it, seal it and put it in the replay ring. */
static void
session_close_frame(struct rpci_link_session *s)
{
	struct rpci_link *link = s->link;
	struct rte_mbuf *m = s->open_frame;
	struct link_hdr h = {
		.kind = RPCI_LINK_DATA,
		.session = s->id,
	};
	struct replay_ent *e;

	if (m == NULL) {
		return;
	}
	h.seq = s->tx_next;
	h.ack = s->rx_next;
	h.flags = (uint16_t)(s->open_class << RPCI_LINK_F_CLASS_SHIFT);
	if (s->open_split) {
		h.flags |= RPCI_LINK_F_SPLIT;
		h.split_len = s->open_split_len;
		link->stats.tx_split++;
	}
	session_fill_credits(s, &h);
	frame_seal(link, s, m, &h);
	e = &s->replay[s->tx_next & s->replay_mask];
	e->m = m;
	e->sent_tsc = 0;
	e->retx = false;
	s->tx_next++;
	if (unlikely(s->tx_next == 0)) {
		s->tx_wraps++; /* the high half of the 64-bit sequence (the frame counter) */
	}
	s->open_frame = NULL;
	s->open_last = NULL;
	s->open_len = 0;
	s->open_segs = 0;
	s->open_split_len = 0;
	s->open_split = false;
	/* The ack (and the credits) ride on this frame. */
	s->ack_pending = false;
	link->stats.tx_data++;
}

uint32_t
rpci_link_tx_room(const struct rpci_link_session *s)
{
	uint32_t used;

	if (s == NULL || s->state != RPCI_LINK_S_OPEN) {
		return 0;
	}
	used = s->tx_next - s->tx_acked + (s->open_frame != NULL ? 1 : 0);
	return s->replay_mask + 1 - used;
}

uint32_t
rpci_link_tx_room_for(const struct rpci_link_session *s, uint8_t type)
{
	uint8_t c = msg_class(type);
	uint32_t room = rpci_link_tx_room(s);
	int16_t credits;

	if (room == 0) {
		return 0;
	}
	credits = credit_diff(s->tx_limit[c], s->tx_consumed[c]);
	return credits <= 0 ? 0 : RTE_MIN(room, (uint32_t)credits);
}

static inline rte_iova_t
payload_iova(const struct rpci_link *link, const void *p)
{
	const struct rte_memseg *ms;

	if (link->iova_va) {
		return (rte_iova_t)(uintptr_t)p;
	}
	/* A memseg walk, not rte_mem_virt2iova(): that reads pagemap per call. */
	ms = rte_mem_virt2memseg(p, NULL);
	if (ms == NULL || ms->iova == RTE_BAD_IOVA) {
		return RTE_BAD_IOVA;
	}
	return ms->iova + RTE_PTR_DIFF(p, ms->addr);
}

/* Copy only the enabled bytes of a payload; the rest of the DWs are zero. */
static void
copy_exact(uint8_t *dst, const uint8_t *src, uint32_t plen, uint32_t first, uint32_t count)
{
	memset(dst, 0, plen);
	if (count > 0) {
		memcpy(dst + first, src + first, count);
	}
}

/* Enabled byte range of a payload-carrying message (for EXACT copies). */
static void
msg_enabled_range(const struct rpci_tlp *msg, uint32_t plen, uint32_t *first, uint32_t *count)
{
	switch (msg->type) {
	case RPCI_TLP_MWR:
	case RPCI_TLP_CFGWR:
		*count = rpci_tlp_byte_range(msg, first);
		break;
	case RPCI_TLP_CPLD:
		*first = msg->lower_address & 3u;
		*count = RTE_MIN(msg->byte_count, plen - *first);
		break;
	default:
		*first = 0;
		*count = plen;
		break;
	}
}

/* A frame opened for a message that could not go in it carries nothing. */
static void
session_drop_empty_frame(struct rpci_link_session *s)
{
	if (s->open_frame != NULL && s->open_len == s->hdr_len) {
		rte_pktmbuf_free(s->open_frame);
		s->open_frame = NULL;
		s->open_last = NULL;
		s->open_len = 0;
		s->open_segs = 0;
		s->open_split = false;
		s->tx_consumed[s->open_class]--; /* its credit was not used */
	}
}

/* Whether a payload continues the open frame's last attached one, in memory and in IOVA. */
static inline bool
payload_follows(const struct rpci_link_session *s, const void *payload, uint32_t plen,
		rte_iova_t iova)
{
	const struct rte_mbuf *last = s->open_last;

	return last != s->open_frame && RTE_MBUF_HAS_EXTBUF(last) &&
	       (const uint8_t *)last->buf_addr + last->data_off + last->data_len ==
	       (const uint8_t *)payload &&
	       iova != RTE_BAD_IOVA && last->buf_iova + last->data_off + last->data_len == iova &&
	       (uint32_t)last->buf_len + plen <= UINT16_MAX;
}

/* Whether the open frame can take a message (else it is closed first). */
static bool
frame_takes(const struct rpci_link_session *s, uint8_t cls, bool attach, uint32_t hlen,
	    uint32_t plen, const void *payload, rte_iova_t iova)
{
	const struct rte_mbuf *head = s->open_frame;

	if (s->open_class != cls || s->open_len + hlen + plen > s->tx_frame_l2) {
		return false;
	}
	if (s->open_split) {
		/* Headers in the first segment, payloads in place after them. */
		return attach && rte_pktmbuf_tailroom(head) >= hlen &&
		       (s->open_segs < s->link->segs_max ||
			payload_follows(s, payload, plen, iova));
	}
	/* Copied messages in the first segment (an attached payload closes such a frame). */
	return rte_pktmbuf_tailroom(head) >= hlen + (attach ? 0 : plen);
}

/* An mbuf that points at a payload sent in place: one kept attached, or a fresh one. */
static struct rte_mbuf *
ext_attach(struct rpci_link *link, const void *payload, uint32_t plen, rte_iova_t iova)
{
	struct rte_mbuf_ext_shared_info *shinfo;
	struct rte_mbuf *e = stash_get(&link->ext_stash, link->p.ext_pool);

	if (unlikely(e == NULL)) {
		link->stats.no_mbuf++;
		return NULL;
	}
	if (RTE_MBUF_HAS_EXTBUF(e)) {
		/* Kept from an acked frame, still attached: only pointed elsewhere. */
		e->buf_addr = (void *)(uintptr_t)payload;
		e->buf_iova = iova;
		e->buf_len = (uint16_t)plen;
		e->data_off = 0;
	} else {
		shinfo = rte_mbuf_to_priv(e);
		shinfo->free_cb = extbuf_free_cb;
		shinfo->fcb_opaque = NULL;
		rte_mbuf_ext_refcnt_set(shinfo, 1);
		rte_pktmbuf_attach_extbuf(e, (void *)(uintptr_t)payload, iova, (uint16_t)plen,
					  shinfo);
	}
	e->data_len = (uint16_t)plen;
	e->pkt_len = plen;
	return e;
}

/* Add a payload sent in place at the end of the open frame. 0, or -EAGAIN (no mbuf). */
static int
frame_attach(struct rpci_link_session *s, const void *payload, uint32_t plen, rte_iova_t iova)
{
	struct rte_mbuf *head = s->open_frame, *last = s->open_last, *e;

	if (s->open_split && payload_follows(s, payload, plen, iova)) {
		/* It continues the last one: that segment grows. */
		last->buf_len = (uint16_t)(last->buf_len + plen);
		last->data_len = (uint16_t)(last->data_len + plen);
		head->pkt_len += plen;
		return 0;
	}
	e = ext_attach(s->link, payload, plen, iova);
	if (e == NULL) {
		return -EAGAIN;
	}
	last->next = e;
	head->nb_segs++;
	head->pkt_len += plen;
	s->open_last = e;
	s->open_segs++;
	return 0;
}

static int session_push(struct rpci_link_session *s);

int
rpci_link_send(struct rpci_link_session *s, const struct rpci_tlp *msg, const void *payload,
	       unsigned int flags)
{
	struct rpci_link *link;
	struct rte_mbuf *head;
	rte_iova_t iova = RTE_BAD_IOVA;
	uint32_t hlen, plen, need;
	uint8_t cls;
	bool attach;
	uint8_t *p;
	int ret;

	if (unlikely(s == NULL || !s->in_use)) {
		return -EINVAL;
	}
	link = s->link;
	if (unlikely(s->state != RPCI_LINK_S_OPEN)) {
		return -ENOTCONN;
	}
	hlen = (uint32_t)rpci_tlp_hdr_len(msg->type);
	plen = rpci_tlp_payload_len(msg);
	if (unlikely(hlen == 0 || plen > link->max_payload || (plen > 0 && payload == NULL) ||
		     s->hdr_len + hlen + plen > s->tx_frame_l2)) {
		return -EINVAL;
	}
	/* Encrypted, a payload is copied: it is encrypted in the frame, not where it lives. */
	attach = plen > link->p.copy_threshold && !(flags & RPCI_LINK_SEND_COPY) && !s->encrypt;
	if (attach && (flags & RPCI_LINK_SEND_EXACT)) {
		uint32_t first, count;

		msg_enabled_range(msg, plen, &first, &count);
		if (first != 0 || count != plen) {
			attach = false;
		}
	}
	if (attach) {
		iova = payload_iova(link, payload);
	}
	need = hlen + (attach ? 0 : plen);
	/* A frame holds one class, and at most the session's frame size. */
	cls = msg_class(msg->type);
	if (s->open_frame != NULL && !frame_takes(s, cls, attach, hlen, plen, payload, iova)) {
		session_close_frame(s);
		if (s->tx_next - s->tx_sent >= link->p.burst) {
			session_push(s);
		}
	}
	if (s->open_frame == NULL) {
		if (s->tx_next - s->tx_acked > s->replay_mask) {
			return -EAGAIN;
		}
		/* No credit: the peer has no room for another frame of this class. */
		if (credit_diff(s->tx_limit[cls], s->tx_consumed[cls]) <= 0) {
			link->stats.tx_no_credit++;
			return -EAGAIN;
		}
		s->open_frame = frame_new(link, &s->peer, s->hdr_len);
		if (s->open_frame == NULL) {
			return -EAGAIN;
		}
		if (unlikely(rte_pktmbuf_tailroom(s->open_frame) < need)) {
			/* The pool's mbufs must hold the headers and a largest message. */
			rte_pktmbuf_free(s->open_frame);
			s->open_frame = NULL;
			return -EINVAL;
		}
		s->open_last = s->open_frame;
		s->open_len = s->hdr_len;
		s->open_segs = 1;
		s->open_class = cls;
		/* A frame that starts with a payload in place keeps its payloads apart. */
		s->open_split = attach;
		s->open_split_len = 0;
		s->tx_consumed[cls]++;
	}
	head = s->open_frame;
	/* The header (and a copied payload) go at the end of the first segment. */
	p = rte_pktmbuf_mtod_offset(head, uint8_t *, head->data_len);
	ret = rpci_tlp_encode(msg, p, hlen);
	if (unlikely(ret < 0)) {
		session_drop_empty_frame(s);
		return ret;
	}
	if (plen > 0 && !attach) {
		if (flags & RPCI_LINK_SEND_EXACT) {
			uint32_t first, count;

			msg_enabled_range(msg, plen, &first, &count);
			copy_exact(p + hlen, payload, plen, first, count);
		} else {
			memcpy(p + hlen, payload, plen);
		}
		link->stats.copied++;
	}
	if (attach && frame_attach(s, payload, plen, iova) < 0) {
		session_drop_empty_frame(s);
		return -EAGAIN;
	}
	head->data_len = (uint16_t)(head->data_len + need);
	head->pkt_len += need;
	if (s->open_split) {
		s->open_split_len = (uint16_t)(s->open_split_len + hlen);
	}
	s->open_len += hlen + plen;
	link->stats.tx_msgs++;
	if (attach) {
		link->stats.zero_copy++;
		/*
		 * A payload in place ends a frame of copied messages; a split
		 * frame ends when a largest message would not fit any more.
		 */
		if (!s->open_split || s->open_len + RPCI_TLP_HDR_MAX_LEN + link->max_payload >
		    s->tx_frame_l2) {
			session_close_frame(s);
			/* A large frame leaves now: the peer works on it while we fill the next. */
			if (head->pkt_len >= TX_PUSH_BYTES ||
			    s->tx_next - s->tx_sent >= link->p.burst) {
				session_push(s);
			}
		}
	}
	return 0;
}

/* Hand a session's closed frames that wait to the port. */
static int
session_push(struct rpci_link_session *s)
{
	struct rpci_link *link = s->link;
	struct rte_mbuf *pkts[TX_BATCH_MAX];
	uint32_t n, i, sent, total = 0;
	uint64_t now;

	while (s->tx_sent != s->tx_next) {
		n = RTE_MIN((uint32_t)(s->tx_next - s->tx_sent), (uint32_t)TX_BATCH_MAX);
		for (i = 0; i < n; i++) {
			pkts[i] = s->replay[(s->tx_sent + i) & s->replay_mask].m;
			/* The replay ring keeps its own reference. */
			mbuf_chain_ref(pkts[i]);
		}
		sent = port_tx(link, pkts, (uint16_t)n);
		now = now_tsc();
		for (i = 0; i < sent; i++) {
			struct replay_ent *e = &s->replay[(s->tx_sent + i) & s->replay_mask];

			if (e->sent_tsc != 0) {
				link->stats.tx_retransmit++;
				e->retx = true;
			}
			e->sent_tsc = now;
			link->stats.tx_bytes += pkts[i]->pkt_len;
		}
		for (i = sent; i < n; i++) {
			rte_pktmbuf_free(pkts[i]);
		}
		link->stats.tx_frames += sent;
		s->tx_sent += sent;
		total += sent;
		if (sent > 0) {
			s->last_tx_tsc = now;
		}
		if (sent < n) {
			break;
		}
	}
	return (int)total;
}

/* Close the open frame and hand the session's waiting frames to the port. */
static int
session_flush(struct rpci_link_session *s)
{
	if (s->open_frame != NULL) {
		session_close_frame(s);
	}
	return session_push(s);
}

int
rpci_link_flush(struct rpci_link *link)
{
	uint32_t i, left = link->nb_sessions;
	int total = 0;

	/* Every session in use, and no further (see rpci_link_poll()). */
	for (i = 0; i < RPCI_LINK_SESSIONS_MAX && left > 0; i++) {
		struct rpci_link_session *s = &link->sessions[i];

		if (!s->in_use) {
			continue;
		}
		left--;
		if (s->state == RPCI_LINK_S_OPEN &&
		    (s->open_frame != NULL || s->tx_sent != s->tx_next)) {
			total += session_flush(s);
		}
	}
	return total;
}

uint32_t
rpci_link_session_tx_seq(struct rpci_link_session *s)
{
	return s->tx_next + (s->open_frame != NULL ? 1 : 0);
}

bool
rpci_link_session_acked(const struct rpci_link_session *s, uint32_t seq)
{
	return link_seq_diff(s->tx_acked, seq) >= 0;
}

/* ---------------------------------------------------------------- RX side */

/* RFC 6298: smoothed round trip and its variation, in TSC cycles. */
static void
session_rtt_sample(struct rpci_link_session *s, uint64_t rtt)
{
	if (s->srtt_tsc == 0) {
		s->srtt_tsc = rtt;
		s->rttvar_tsc = rtt / 2;
		return;
	}
	s->rttvar_tsc = (3 * s->rttvar_tsc +
			 (rtt > s->srtt_tsc ? rtt - s->srtt_tsc : s->srtt_tsc - rtt)) / 4;
	s->srtt_tsc = (7 * s->srtt_tsc + rtt) / 8;
}

/* The replay time-out: the configured floor, or more where the path is slower. */
static uint64_t
session_rto(const struct rpci_link_session *s)
{
	const struct rpci_link *link = s->link;
	uint64_t rto = s->srtt_tsc + 4 * s->rttvar_tsc;

	if (rto < link->rto_base_tsc) {
		rto = link->rto_base_tsc;
	}
	return RTE_MIN(rto, link->rto_max_tsc);
}

/* Resend the oldest unacked frame alone (a time-out, a KEPT NAK, a lost tail). */
static void
session_send_probe(struct rpci_link_session *s)
{
	struct rpci_link *link = s->link;
	struct replay_ent *e = &s->replay[s->tx_acked & s->replay_mask];
	struct rte_mbuf *m = e->m;

	mbuf_chain_ref(m);
	if (port_tx(link, &m, 1) != 1) {
		rte_pktmbuf_free(m);
		e->sent_tsc = now_tsc(); /* try again after the next time-out */
		return;
	}
	link->stats.tx_frames++;
	link->stats.tx_bytes += m->pkt_len;
	link->stats.tx_retransmit++;
	e->sent_tsc = now_tsc();
	e->retx = true;
	s->probing = true;
	s->probe_seq = s->tx_acked;
	s->last_tx_tsc = e->sent_tsc;
}

static void
session_process_ack(struct rpci_link_session *s, uint32_t ack, bool kept_nak)
{
	struct replay_ent *last;

	/* An ack beyond what was ever sent is bogus: ignore it. */
	if (link_seq_diff(ack, s->tx_acked) <= 0 || link_seq_diff(ack, s->tx_next) > 0) {
		return;
	}
	/* After a go-back, frames the ack covers need not be sent again. */
	if (link_seq_diff(ack, s->tx_sent) > 0) {
		s->tx_sent = ack;
	}
	last = &s->replay[(ack - 1) & s->replay_mask];
	if (!last->retx && last->sent_tsc != 0) {
		session_rtt_sample(s, tsc_since(now_tsc(), last->sent_tsc));
	}
	while (s->tx_acked != ack) {
		struct replay_ent *e = &s->replay[s->tx_acked & s->replay_mask];

		tx_frame_release(s->link, e->m);
		e->m = NULL;
		s->tx_acked++;
	}
	free_batch_flush(s->link);
	s->retries = 0;
	s->rto_tsc = session_rto(s);
	if (s->probing) {
		s->probing = false;
		/*
		 * The probe filled a hole and the peer stopped right after it: the
		 * next frame is missing too, and nothing after it arrived (a peer
		 * keeps what follows a gap, and would have acked past it, or sent
		 * a KEPT NAK for another gap). Resend that one alone as well: a
		 * window of frames resent (go-back-N) for every spurious time-out
		 * of a preempted vCPU costs far more than one frame at a time for
		 * a lost tail.
		 */
		if (!kept_nak && ack == s->probe_seq + 1 && s->tx_sent != ack) {
			session_send_probe(s);
		}
	}
}

static void
session_go_back(struct rpci_link_session *s)
{
	s->tx_sent = s->tx_acked;
	s->last_resend_tsc = now_tsc();
}

/* Whether any frame accepted is still waiting for delivery. */
static bool
session_rx_pending(const struct rpci_link_session *s)
{
	uint32_t c;

	for (c = 0; c < RPCI_LINK_CLASSES; c++) {
		if (s->rxc[c].head != s->rxc[c].tail) {
			return true;
		}
	}
	return false;
}

/* Ask for the frame at rx_next: at once, then again each base time-out while it is missing. */
static void
session_nak(struct rpci_link_session *s, uint64_t now)
{
	if (!s->nak_armed || s->nak_seq != s->rx_next ||
	    tsc_since(now, s->nak_tsc) > s->link->rto_base_tsc) {
		s->nak_armed = true;
		s->nak_seq = s->rx_next;
		s->nak_tsc = now;
		session_send_ack(s, RPCI_LINK_NAK);
	}
}

/* Queue the in-order frame rx_next for delivery; false when its class is full. */
static bool
rx_accept(struct rpci_link_session *s, const struct rx_frame *f, uint8_t cls)
{
	struct rx_class *rc = &s->rxc[cls];
	struct rxq_ent *e;

	if (rc->tail - rc->head >= rc->cap) {
		return false;
	}
	e = &rc->q[rc->tail & rc->mask];
	e->f = *f;
	e->seq = s->rx_next;
	rc->tail++;
	s->rx_next++;
	if (unlikely(s->rx_next == 0)) {
		s->rx_wraps++;
	}
	s->nak_armed = false;
	s->ack_pending = true;
	s->link->stats.rx_data++;
	return true;
}

/*
 * Move the frames kept past a gap that the gap no longer blocks into their
 * classes' queues. When frames are still kept behind another gap, ask for
 * its first frame.
 */
static void
session_ooo_drain(struct rpci_link_session *s, uint64_t now)
{
	struct ooo_ent *o;

	while (s->ooo_count > 0) {
		o = &s->ooo[s->rx_next & s->ooo_mask];
		if (o->f.m == NULL || !rx_accept(s, &o->f, o->cls)) {
			break;
		}
		o->f.m = NULL;
		s->ooo_count--;
	}
	if (s->ooo_count > 0 && s->ooo[s->rx_next & s->ooo_mask].f.m == NULL) {
		session_nak(s, now);
	}
}

/* Where the byte at off of a frame lies (off within the frame). */
static struct chain_pos
chain_at(const struct rte_mbuf *m, uint32_t off)
{
	struct chain_pos pos = { m, off };

	while (pos.seg->next != NULL && pos.off >= pos.seg->data_len) {
		pos.off -= pos.seg->data_len;
		pos.seg = pos.seg->next;
	}
	return pos;
}

/* The messages of a DATA frame whose header was checked (h). */
static void
rx_frame_init(struct rx_frame *f, struct rte_mbuf *m, const struct link_hdr *h)
{
	uint32_t start = ETH_LEN + link_hdr_room(h->flags);

	f->m = m;
	f->hdr = chain_at(m, start);
	f->split = (h->flags & RPCI_LINK_F_SPLIT) != 0;
	if (f->split) {
		f->hdr_left = h->split_len;
		f->pay = chain_at(m, start + h->split_len);
		f->pay_left = (uint32_t)h->payload_len - h->split_len;
	} else {
		f->hdr_left = h->payload_len;
		f->pay.seg = NULL;
		f->pay.off = 0;
		f->pay_left = 0;
	}
}

static void
rx_data(struct rpci_link_session *s, const struct link_hdr *h, struct rte_mbuf *m,
	uint64_t now)
{
	struct rpci_link *link = s->link;
	int32_t d = link_seq_diff(h->seq, s->rx_next);
	uint8_t cls = (uint8_t)((h->flags & RPCI_LINK_F_CLASS_MASK) >> RPCI_LINK_F_CLASS_SHIFT);
	struct rx_frame f;
	struct ooo_ent *o;

	if (d < 0) {
		/* Already have it: the ack was lost. Ack again. */
		link->stats.rx_duplicate++;
		s->ack_pending = true;
		rte_pktmbuf_free(m);
		return;
	}
	if (d > 0) {
		/*
		 * Past a gap: keep it, within the peer's window, until the gap
		 * fills (selective repeat), and ask for the missing frame.
		 */
		link->stats.rx_out_of_order++;
		o = &s->ooo[h->seq & s->ooo_mask];
		if ((uint32_t)d <= s->ooo_mask && o->f.m == NULL) {
			rx_frame_init(&o->f, m, h);
			o->cls = cls;
			s->ooo_count++;
			link->stats.rx_kept++;
		} else {
			if ((uint32_t)d <= s->ooo_mask) {
				link->stats.rx_duplicate++; /* kept already */
			}
			rte_pktmbuf_free(m);
		}
		session_nak(s, now);
		return;
	}
	rx_frame_init(&f, m, h);
	if (!rx_accept(s, &f, cls)) {
		/* Past the credits we gave: not acked, the peer sends it again. */
		link->stats.rx_queue_full++;
		rte_pktmbuf_free(m);
		return;
	}
	if (s->ooo_count > 0) {
		session_ooo_drain(s, now);
	}
}

/* Frames to a peer that takes frames of peer_max bytes (0: our MTU's), Ethernet header excluded. */
static uint32_t
session_frame_l2(const struct rpci_link *link, uint16_t peer_max)
{
	uint32_t peer = peer_max != 0 ? peer_max : link->p.mtu + ETH_LEN;

	return RTE_MIN(link->frame_max, peer) - ETH_LEN;
}

/* A frame that verified came on a kernel-TCP port's new connection: it may take the port over. */
static inline void
rx_verified(struct rpci_link *link, const struct rte_mbuf *m)
{
	if (unlikely(link->port_tcp)) {
		rpci_port_tcp_frame_verified(link->p.port_id, m);
	}
}

/* The bytes an OPEN's (or OPEN_ACK's) block covers: the header (CRC field zero), the body. */
static void
open_aad(const uint8_t *l2, const uint8_t *body, uint8_t aad[RPCI_LINK_HDR_LEN + LINK_OPEN_MSG_LEN])
{
	link_hdr_aad(l2, aad);
	memcpy(aad + RPCI_LINK_HDR_LEN, body, LINK_OPEN_MSG_LEN);
}

/*
 * Whether an OPEN is authentic: it has a block, the block verifies (a host
 * of the file, for us, its key, stamped within the window) and it came
 * from that host's address. A refusal is counted and logged.
 */
static int
open_verify(struct rpci_link *link, const struct rte_ether_addr *src, const struct link_hdr *h,
	    const uint8_t *l2, const uint8_t *body, struct rpci_auth_offer *offer)
{
	uint8_t aad[RPCI_LINK_HDR_LEN + LINK_OPEN_MSG_LEN];
	const struct rpci_conf *conf = rpci_auth_conf(link->auth);
	enum rpci_auth_refusal why;

	if (h->payload_len != LINK_OPEN_MSG_LEN + RPCI_LINK_OPEN_AUTH_LEN) {
		link->stats.open_unsigned++;
		link_log_refusal(link, "an OPEN without authentication from "
				 RTE_ETHER_ADDR_PRT_FMT, RTE_ETHER_ADDR_BYTES(src));
		return -EACCES;
	}
	open_aad(l2, body, aad);
	if (rpci_auth_offer_verify(link->auth, aad, sizeof(aad), body + LINK_OPEN_MSG_LEN,
				   rpci_auth_now_us(), offer, &why) < 0) {
		switch (why) {
		case RPCI_AUTH_BAD_TAG:
			link->stats.open_bad_tag++;
			break;
		case RPCI_AUTH_STALE:
			link->stats.open_stale++;
			break;
		default:
			link->stats.open_unknown_host++;
			break;
		}
		link_log_refusal(link, "an OPEN from " RTE_ETHER_ADDR_PRT_FMT ": %s",
				 RTE_ETHER_ADDR_BYTES(src),
				 rpci_auth_refusal_name(why));
		return -EACCES;
	}
	if (memcmp(conf->hosts[offer->from].mac, src->addr_bytes, RTE_ETHER_ADDR_LEN) != 0) {
		link->stats.open_unknown_host++;
		link_log_refusal(link, "an OPEN of host '%s' from another address, "
				 RTE_ETHER_ADDR_PRT_FMT, conf->hosts[offer->from].name,
				 RTE_ETHER_ADDR_BYTES(src));
		return -EACCES;
	}
	return 0;
}

/* The ephemeral key and nonce that tell one OPEN (and its resends) from another. */
static void
offer_id(const struct rpci_auth_offer *offer, uint8_t id[RPCI_AUTH_KEY_LEN + 16])
{
	memcpy(id, offer->eph_pub, RPCI_AUTH_KEY_LEN);
	memcpy(id + RPCI_AUTH_KEY_LEN, offer->nonce, 16);
}

/*
 * Whether an OPEN was taken already (within its time window), and if not,
 * remember it: a recorded OPEN sent again must not replace the session it
 * made, or open one the client never asked for again.
 */
static bool
open_seen(struct rpci_link *link, const struct rpci_auth_offer *offer)
{
	uint8_t id[RPCI_AUTH_KEY_LEN + 16];
	uint32_t i;

	offer_id(offer, id);
	for (i = 0; i < OPEN_SEEN_MAX; i++) {
		if (link->open_seen[i].time_us != 0 &&
		    memcmp(link->open_seen[i].id, id, sizeof(id)) == 0) {
			return true;
		}
	}
	i = link->open_seen_next++ % OPEN_SEEN_MAX;
	memcpy(link->open_seen[i].id, id, sizeof(id));
	link->open_seen[i].time_us = offer->time_us;
	return false;
}

static uint8_t
offer_security(const struct rpci_auth_offer *offer)
{
	if (offer->cipher == RPCI_AUTH_CIPHER_NONE) {
		return RPCI_LINK_SEC_NONE;
	}
	return (offer->flags & RPCI_AUTH_SESS_ENCRYPT) ? RPCI_LINK_SEC_ENCRYPT : RPCI_LINK_SEC_MAC;
}

static void
rx_open(struct rpci_link *link, const struct rte_mbuf *m, const struct rte_ether_addr *src,
	const struct link_hdr *h, const uint8_t *l2, const uint8_t *body)
{
	struct rpci_link_open_msg req, ack;
	struct rpci_auth_offer offer;
	struct rpci_link_session *s;
	uint8_t id[RPCI_AUTH_KEY_LEN + 16];
	int ret;

	if (link_open_msg_decode(body, h->payload_len, &req) != 0 || h->session == 0) {
		link->stats.rx_bad_header++;
		return;
	}
	req.security = RPCI_LINK_SEC_NONE;
	if (link->auth != NULL) {
		if (open_verify(link, src, h, l2, body, &offer) < 0) {
			return;
		}
		req.security = offer_security(&offer);
		offer_id(&offer, id);
	}
	s = session_find(link, h->session, src);
	if (s != NULL) {
		if (!s->is_client && s->state == RPCI_LINK_S_OPEN) {
			/*
			 * Our OPEN_ACK was lost (the client asks again, with the
			 * same key and nonce), or this is a duplicate: say it
			 * again; an open client ignores it. Another OPEN under an
			 * open session's id is a recorded one.
			 */
			if (link->auth != NULL && memcmp(id, s->open_offer_id, sizeof(id)) != 0) {
				link->stats.open_replay++;
				link_log_refusal(link, "an OPEN of session %08x from "
						 RTE_ETHER_ADDR_PRT_FMT ": replay", h->session,
						 RTE_ETHER_ADDR_BYTES(src));
				return;
			}
			session_send_open_msg(s, RPCI_LINK_OPEN_ACK, &s->open_ack);
		}
		return;
	}
	if (link->auth != NULL) {
		if (open_seen(link, &offer)) {
			link->stats.open_replay++;
			link_log_refusal(link, "an OPEN of session %08x from "
					 RTE_ETHER_ADDR_PRT_FMT ": replay", h->session,
					 RTE_ETHER_ADDR_BYTES(src));
			return;
		}
		/* authentic, fresh and new: on a TCP port, its connection is the port's now */
		rx_verified(link, m);
		if (link->p.encrypt && offer.cipher != RPCI_AUTH_CIPHER_NONE) {
			offer.flags |= RPCI_AUTH_SESS_ENCRYPT; /* every session of ours is */
		}
	}
	memset(&ack, 0, sizeof(ack));
	ack.function = req.function;
	ack.requester_id = req.requester_id;
	ack.max_payload = (uint16_t)link->max_payload;
	ack.max_frame = (uint16_t)link->frame_max;
	ack.replay_frames = link->p.replay_frames;
	memcpy(ack.credits, link->rx_cap, sizeof(ack.credits));
	s = session_alloc(link, h->session, src, false);
	if (s != NULL && link->auth != NULL) {
		s->sec = rpci_auth_sess_server(link->auth, &offer);
		if (s->sec == NULL) {
			rpci_link_session_free(s);
			s = NULL;
		}
	}
	if (s == NULL) {
		struct rpci_link_session tmp = { .link = link, .id = h->session, .peer = *src };

		/* Without a session (and keys), an answer the client ignores when it has keys. */
		ack.status = -ENOSPC;
		snprintf(ack.reason, sizeof(ack.reason), "server has no room for a session");
		session_send_open_msg(&tmp, RPCI_LINK_OPEN_ACK, &ack);
		return;
	}
	if (s->sec != NULL) {
		memcpy(s->open_offer_id, id, sizeof(id));
		s->peer_host = (int)offer.from;
		s->hdr_len = offer.cipher != RPCI_AUTH_CIPHER_NONE ?
			     RPCI_LINK_HDR_LEN + RPCI_LINK_AUTH_LEN : RPCI_LINK_HDR_LEN;
	}
	s->open_req = req;
	s->state = RPCI_LINK_S_OPEN;
	s->tx_frame_l2 = session_frame_l2(link, req.max_frame);
	s->peer_window = req.replay_frames;
	memcpy(s->tx_limit, req.credits, sizeof(s->tx_limit));
	if (req.credits[RPCI_LINK_CLASS_P] == 0 || req.credits[RPCI_LINK_CLASS_NP] == 0 ||
	    req.credits[RPCI_LINK_CLASS_CPL] == 0) {
		/* A peer that can take nothing of some class could never be answered. */
		ret = -EPROTO;
		snprintf(ack.reason, sizeof(ack.reason), "no credits for some traffic class");
	} else if (req.replay_frames == 0 || req.replay_frames > 32768) {
		ret = -EPROTO;
		snprintf(ack.reason, sizeof(ack.reason), "replay window of %u frames",
			 req.replay_frames);
	} else if (req.max_payload != 0 && req.max_payload != link->max_payload) {
		/*
		 * MTUs must agree. Our peer takes less than we would send, or
		 * sends more than we take: rpci_link_send() lets payloads up
		 * to the sender's own max_payload through, and ours would drop
		 * the larger ones as malformed (after acking them), so they
		 * would be lost without anyone being told. Refuse both.
		 */
		ret = -EPROTO;
		snprintf(ack.reason, sizeof(ack.reason), "max payload %u differs from ours (%u)",
			 req.max_payload, link->max_payload);
	} else if (s->tx_frame_l2 < s->hdr_len + RPCI_TLP_HDR_MAX_LEN + link->max_payload) {
		/* The client's frames cannot carry a largest message. */
		ret = -EPROTO;
		snprintf(ack.reason, sizeof(ack.reason), "frames of %u bytes cannot carry %u",
			 req.max_frame, link->max_payload);
	} else if (req.security == RPCI_LINK_SEC_NONE && link->auth != NULL &&
		   !link->p.sessions_optional) {
		ret = -EACCES;
		snprintf(ack.reason, sizeof(ack.reason),
			 "this server authenticates every frame (auth.sessions)");
	} else if (link->p.ops->open == NULL) {
		ret = -ECONNREFUSED;
		snprintf(ack.reason, sizeof(ack.reason), "this host serves no devices");
	} else {
		ret = link->p.ops->open(s, &req, &ack, link->p.ops_arg);
	}
	ack.status = ret < 0 ? ret : 0;
	ack.security = link->auth == NULL ? RPCI_LINK_SEC_NONE :
		       offer_security(&offer);
	s->open_ack = ack;
	session_send_open_msg(s, RPCI_LINK_OPEN_ACK, &ack);
	if (ret < 0) {
		if (link->auth != NULL) {
			link->stats.open_refused++;
			link_log_refusal(link, "an OPEN of host '%s' (session %08x): %s",
					 rpci_auth_conf(link->auth)->hosts[offer.from].name,
					 h->session, ack.reason);
		}
		rpci_link_session_free(s);
		return;
	}
	if (s->sec != NULL) {
		s->sec_frames = rpci_auth_sess_ready(s->sec);
		s->encrypt = rpci_auth_sess_encrypts(s->sec);
		s->auth_st.security = ack.security;
		s->auth_st.cipher = rpci_auth_sess_cipher(s->sec);
		if (!s->sec_frames && offer.cipher != RPCI_AUTH_CIPHER_NONE) {
			/* the keys could not be made: the client's frames would all be refused */
			LINK_LOG(ERR, "session %08x: no keys for its frames", s->id);
		}
	}
}

static void
rx_open_ack(struct rpci_link_session *s, const struct rte_mbuf *m, const struct link_hdr *h,
	    const uint8_t *l2, const uint8_t *body)
{
	struct rpci_link *link = s->link;
	uint8_t aad[RPCI_LINK_HDR_LEN + LINK_OPEN_MSG_LEN];
	struct rpci_link_open_msg ack;
	enum rpci_auth_refusal why;

	if (link_open_msg_decode(body, h->payload_len, &ack) != 0) {
		link->stats.rx_bad_header++;
		return;
	}
	if (!s->is_client || s->state != RPCI_LINK_S_OPENING) {
		return;
	}
	ack.security = RPCI_LINK_SEC_NONE;
	if (s->sec != NULL) {
		/* The answer must be the server's, to this OPEN. */
		if (h->payload_len != LINK_OPEN_MSG_LEN + RPCI_LINK_OPEN_AUTH_LEN) {
			link->stats.open_ack_refused++;
			link_log_refusal(link, "an OPEN_ACK of session %08x from "
					 RTE_ETHER_ADDR_PRT_FMT " without authentication (has the "
					 "server keys?)", s->id, RTE_ETHER_ADDR_BYTES(&s->peer));
			return;
		}
		open_aad(l2, body, aad);
		if (rpci_auth_sess_confirm(s->sec, aad, sizeof(aad), body + LINK_OPEN_MSG_LEN,
					   s->id, s->open_req.lease_id, &why) < 0) {
			link->stats.open_ack_refused++;
			link_log_refusal(link, "an OPEN_ACK of session %08x from "
					 RTE_ETHER_ADDR_PRT_FMT ": %s", s->id,
					 RTE_ETHER_ADDR_BYTES(&s->peer),
					 rpci_auth_refusal_name(why));
			return;
		}
		rx_verified(link, m);
		s->sec_frames = rpci_auth_sess_ready(s->sec);
		s->encrypt = rpci_auth_sess_encrypts(s->sec);
		s->hdr_len = s->sec_frames ? RPCI_LINK_HDR_LEN + RPCI_LINK_AUTH_LEN :
			     RPCI_LINK_HDR_LEN;
		ack.security = !s->sec_frames ? RPCI_LINK_SEC_NONE :
			       s->encrypt ? RPCI_LINK_SEC_ENCRYPT : RPCI_LINK_SEC_MAC;
		s->auth_st.security = ack.security;
		s->auth_st.cipher = rpci_auth_sess_cipher(s->sec);
	}
	s->open_ack = ack;
	s->answered = true;
	s->tx_frame_l2 = session_frame_l2(link, ack.max_frame);
	s->peer_window = ack.replay_frames != 0 ? ack.replay_frames : link->p.replay_frames;
	memcpy(s->tx_limit, ack.credits, sizeof(s->tx_limit));
	s->state = ack.status == 0 ? RPCI_LINK_S_OPEN : RPCI_LINK_S_CLOSED;
	s->last_rx_tsc = now_tsc();
}

/* Whether a chain's segments add up to its length (nb_segs of them). */
static bool
chain_ok(const struct rte_mbuf *m)
{
	const struct rte_mbuf *seg = m;
	uint32_t n = 0, len = 0;

	while (seg != NULL && n < m->nb_segs) {
		len += seg->data_len;
		n++;
		seg = seg->next;
	}
	return seg == NULL && n == m->nb_segs && len == m->pkt_len;
}

static const uint8_t *chain_gather(struct rpci_link *link, struct chain_pos *pos, uint32_t len,
				   uint8_t *buf);

/*
 * len bytes at pos, in one piece: where they lie when one segment holds
 * them, else gathered into buf (which has room for len). pos moves past
 * them. NULL when the frame ends first.
 */
static inline const uint8_t *
chain_take(struct rpci_link *link, struct chain_pos *pos, uint32_t len, uint8_t *buf)
{
	const struct rte_mbuf *seg = pos->seg;
	uint32_t off = pos->off;

	if (likely(off + len <= seg->data_len)) {
		/* A frame in one segment (memif, TCP ports) always comes here. */
		pos->off = off + len;
		return rte_pktmbuf_mtod_offset(seg, const uint8_t *, off);
	}
	return chain_gather(link, pos, len, buf);
}

/* chain_take() where the bytes do not all lie in pos's segment. */
static const uint8_t *
chain_gather(struct rpci_link *link, struct chain_pos *pos, uint32_t len, uint8_t *buf)
{
	const struct rte_mbuf *seg = pos->seg;
	uint32_t off = pos->off, done = 0, n;

	while (seg != NULL && off >= seg->data_len && seg->next != NULL) {
		off -= seg->data_len;
		seg = seg->next;
	}
	if (seg == NULL) {
		return NULL;
	}
	if (off + len <= seg->data_len) {
		pos->seg = seg;
		pos->off = off + len;
		return rte_pktmbuf_mtod_offset(seg, const uint8_t *, off);
	}
	link->stats.rx_gathered++;
	while (done < len) {
		if (seg == NULL) {
			return NULL;
		}
		n = RTE_MIN(seg->data_len > off ? seg->data_len - off : 0, len - done);
		memcpy(buf + done, rte_pktmbuf_mtod_offset(seg, const uint8_t *, off), n);
		done += n;
		off += n;
		if (done < len) {
			off = 0;
			seg = seg->next;
		}
	}
	pos->seg = seg;
	pos->off = off;
	return buf;
}

/* CRC32C of len bytes of a frame from off on, continuing from crc. */
static uint32_t
crc_chain(uint32_t crc, const struct rte_mbuf *seg, uint32_t off, uint32_t len)
{
	uint32_t n;

	while (len > 0 && seg != NULL) {
		if (off >= seg->data_len) {
			off -= seg->data_len;
			seg = seg->next;
			continue;
		}
		n = RTE_MIN(seg->data_len - off, len);
		crc = link_crc_update(crc, rte_pktmbuf_mtod_offset(seg, const uint8_t *, off), n);
		len -= n;
		off = 0;
		seg = seg->next;
	}
	return crc;
}

/* A control body (CTRL, OPEN) of a frame, in one piece; NULL if too long to gather. */
static const uint8_t *
frame_body(struct rpci_link *link, const struct rte_mbuf *m, uint32_t len)
{
	struct chain_pos pos = { m, L2_HDRS };

	if (likely(m->data_len >= L2_HDRS + len)) {
		return rte_pktmbuf_mtod_offset(m, const uint8_t *, L2_HDRS);
	}
	if (len > sizeof(link->rx_body_buf)) {
		return NULL;
	}
	return chain_take(link, &pos, len, link->rx_body_buf);
}

/* A frame that is not the link's: the owner's rx_other may take it, else dropped and counted. */
static void
rx_not_ours(struct rpci_link *link, struct rte_mbuf *m)
{
	if (link->p.ops->rx_other != NULL &&
	    link->p.ops->rx_other(link, m, link->p.ops_arg) == 0) {
		return;
	}
	link->stats.rx_not_ours++;
	rte_pktmbuf_free(m);
}

/* A port-stop notice (a CLOSE of session 0), or its acknowledgement. */
static void
rx_port_stop_notice(struct rpci_link *link, const struct rte_ether_addr *src,
		    const struct link_hdr *h)
{
	unsigned int i;

	if (h->kind == RPCI_LINK_CLOSE) {
		if (!(h->flags & RPCI_LINK_F_PORT_STOPS)) {
			return;
		}
		send_simple(link, src, RPCI_LINK_CLOSE_ACK, 0, 0, 0, NULL, 0);
		if (link->p.ops->peer_port_stops != NULL) {
			link->p.ops->peer_port_stops(link, src, link->p.ops_arg);
		}
		return;
	}
	for (i = 0; i < link->nb_notice_peers; i++) {
		if (rte_is_same_ether_addr(&link->notice_peers[i], src)) {
			link->notice_acked[i] = true;
		}
	}
}

/* Whether the link may write into a received frame (decrypt it in place): nobody shares it. */
static bool
frame_writable(const struct rte_mbuf *m)
{
	for (; m != NULL; m = m->next) {
		if (!RTE_MBUF_DIRECT(m) || rte_mbuf_refcnt_read(m) != 1) {
			return false;
		}
	}
	return true;
}

/* A refusal of a session's frame: counted (the session's and the link's) and logged. */
static void
rx_auth_refuse(struct rpci_link_session *s, uint64_t *sess_ctr, uint64_t *link_ctr,
	       const struct link_hdr *h, const char *why)
{

	(*sess_ctr)++;
	(*link_ctr)++;
	link_log_refusal(s->link, "%s frame of session %08x from " RTE_ETHER_ADDR_PRT_FMT ": %s",
			 h->kind == RPCI_LINK_DATA ? "a DATA" :
			 h->kind == RPCI_LINK_ACK ? "an ACK" :
			 h->kind == RPCI_LINK_NAK ? "a NAK" :
			 h->kind == RPCI_LINK_CLOSE ? "a CLOSE" : "a CLOSE_ACK",
			 s->id, RTE_ETHER_ADDR_BYTES(&s->peer), why);
}

/*
 * An authenticated session's frame, before anything in it is believed: it
 * has a counter and a tag, the tag verifies (an encrypted payload is
 * decrypted on the way, in place, or in a copy where the frame is shared),
 * and the counter is new: the other frames' in a window of 1024, a DATA
 * frame's (its 64-bit sequence number) not older than the peer's replay
 * window (a retransmission is never older; an older one is a replay) nor
 * beyond it. The frame to go on with (a copy, maybe), or NULL: refused,
 * counted, freed.
 */
static struct rte_mbuf *
rx_auth_check(struct rpci_link_session *s, struct rte_mbuf *m, const struct link_hdr *h)
{
	struct rpci_link *link = s->link;
	struct rpci_link_stats *st = &link->stats;
	bool enc = s->encrypt && h->kind == RPCI_LINK_DATA;
	uint8_t aad[RPCI_LINK_HDR_LEN], ext_buf[RPCI_LINK_AUTH_LEN];
	const uint8_t *l2, *ext;
	struct chain_pos pos;
	uint64_t counter, rx64;
	uint32_t left, n;
	int64_t d;
	int ret;

	if (!s->sec_frames) {
		/* a tag on a session without keys: not a frame of ours */
		st->rx_bad_header++;
		goto drop;
	}
	if (!(h->flags & RPCI_LINK_F_AUTH)) {
		rx_auth_refuse(s, &s->auth_st.rx_missing, &st->rx_auth_missing, h, "no tag");
		goto drop;
	}
	/* counter and tag: where they lie, or gathered where a PMD's chain cut them */
	ext = rte_pktmbuf_read(m, L2_HDRS, RPCI_LINK_AUTH_LEN, ext_buf);
	if (ext == NULL) {
		st->rx_bad_chain++;
		goto drop;
	}
	if (ext != ext_buf) {
		memcpy(ext_buf, ext, sizeof(ext_buf));
	}
	counter = link_auth_counter(ext_buf);
	/* What a genuine sender never sends: the tag could not verify either. */
	if (((h->flags & RPCI_LINK_F_ENCRYPTED) != 0) != enc ||
	    (h->kind == RPCI_LINK_DATA ?
	     ((counter & CTL_COUNTER_BIT) || (uint32_t)counter != h->seq) :
	     !(counter & CTL_COUNTER_BIT))) {
		rx_auth_refuse(s, &s->auth_st.rx_bad_tag, &st->rx_auth_bad_tag, h, "bad tag");
		goto drop;
	}
	if (enc && !frame_writable(m)) {
		struct rte_mbuf *c = rte_pktmbuf_copy(m, link->p.pool, 0, UINT32_MAX);

		if (c == NULL) {
			st->no_mbuf++;
			goto drop;
		}
		rte_pktmbuf_free(m);
		m = c;
	}
	l2 = rte_pktmbuf_mtod_offset(m, const uint8_t *, ETH_LEN);
	link_hdr_aad(l2, aad);
	ret = rpci_auth_sess_open_start(s->sec, counter, aad, sizeof(aad));
	pos = chain_at(m, L2_HDRS + RPCI_LINK_AUTH_LEN);
	for (left = h->payload_len; ret == 0 && left > 0; pos.seg = pos.seg->next, pos.off = 0) {
		uint8_t *p;

		if (pos.seg == NULL) {
			ret = -EBADMSG;
			break;
		}
		p = rte_pktmbuf_mtod_offset(pos.seg, uint8_t *, pos.off);
		n = pos.off < pos.seg->data_len ? pos.seg->data_len - pos.off : 0;
		n = RTE_MIN(left, n);
		ret = rpci_auth_sess_open_data(s->sec, p, enc ? p : NULL, n);
		left -= n;
	}
	if (ret == 0) {
		ret = rpci_auth_sess_open_finish(s->sec, ext_buf + 8);
	}
	if (ret != 0) {
		rx_auth_refuse(s, &s->auth_st.rx_bad_tag, &st->rx_auth_bad_tag, h, "bad tag");
		goto drop;
	}
	if (h->kind != RPCI_LINK_DATA) {
		if (!rpci_auth_window_take(&s->rx_ctl_win, counter)) {
			rx_auth_refuse(s, &s->auth_st.rx_replay, &st->rx_auth_replay, h, "replay");
			goto drop;
		}
	} else {
		rx64 = (uint64_t)s->rx_wraps << 32 | s->rx_next;
		d = (int64_t)(counter - rx64);
		if (d < -(int64_t)s->peer_window || d >= (int64_t)s->peer_window) {
			rx_auth_refuse(s, &s->auth_st.rx_replay, &st->rx_auth_replay, h,
				       d < 0 ? "replay (older than the window)" :
				       "beyond the window");
			goto drop;
		}
	}
	s->auth_st.rx_verified++;
	st->rx_verified++;
	rx_verified(link, m);
	return m;
drop:
	rte_pktmbuf_free(m);
	return NULL;
}

/*
 * A CLOSE of a session that is gone: if it was a session with keys that
 * its peer closed lately, the CLOSE is checked with its keys and answered
 * with a CLOSE_ACK they seal (our first one was lost); true then (the frame
 * is consumed). Others are answered without a tag (a client with keys
 * ignores that answer: its close times out).
 */
static bool
rx_close_again(struct rpci_link *link, struct rte_mbuf *m, const struct link_hdr *h,
	       const struct rte_ether_addr *src)
{
	struct rpci_link_session tmp;
	struct link_hdr ca = { .kind = RPCI_LINK_CLOSE_ACK, .session = h->session };
	unsigned int i;

	for (i = 0; i < TOMBS_MAX; i++) {
		if (link->tombs[i].sec != NULL && link->tombs[i].id == h->session &&
		    rte_is_same_ether_addr(&link->tombs[i].peer, src)) {
			break;
		}
	}
	if (i == TOMBS_MAX || link->tombs[i].until_tsc < now_tsc()) {
		return false;
	}
	/*
	 * The frame goes through the checks of a live session (one on the
	 * stack, as rx_open() answers a repeated OPEN), whose counters are kept here.
	 */
	tmp = (struct rpci_link_session){
		.link = link, .id = h->session, .peer = *src, .sec = link->tombs[i].sec,
		.sec_frames = true, .hdr_len = RPCI_LINK_HDR_LEN + RPCI_LINK_AUTH_LEN,
		.tx_ctl = link->tombs[i].tx_ctl, .rx_ctl_win = link->tombs[i].rx_ctl_win,
	};
	m = rx_auth_check(&tmp, m, h);
	if (m != NULL) {
		send_hdr(link, &tmp, src, &ca, NULL, 0);
		rte_pktmbuf_free(m);
	}
	link->tombs[i].tx_ctl = tmp.tx_ctl;
	link->tombs[i].rx_ctl_win = tmp.rx_ctl_win;
	return true;
}

static void
rx_frame(struct rpci_link *link, struct rte_mbuf *m, uint64_t now)
{
	struct rte_ether_hdr *eth;
	struct rpci_link_session *s;
	struct link_hdr h;
	enum link_hdr_error err;
	const uint8_t *l2, *body;
	uint32_t crc;

	if (unlikely(m->nb_segs > 1 || m->pkt_len != m->data_len) && !chain_ok(m)) {
		link->stats.rx_bad_chain++;
		goto drop;
	}
	if (unlikely(m->data_len < L2_HDRS)) {
		/* Short, or a chain that splits the headers (ours: malformed). */
		eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
		if (m->pkt_len >= L2_HDRS && m->data_len >= ETH_LEN &&
		    eth->ether_type == rte_cpu_to_be_16(link->p.ethertype)) {
			link->stats.rx_bad_chain++;
			goto drop;
		}
		rx_not_ours(link, m);
		return;
	}
	eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	if (eth->ether_type != rte_cpu_to_be_16(link->p.ethertype) ||
	    (!rte_is_same_ether_addr(&eth->dst_addr, &link->p.mac) &&
	     !rte_is_broadcast_ether_addr(&eth->dst_addr))) {
		rx_not_ours(link, m);
		return;
	}
	l2 = rte_pktmbuf_mtod_offset(m, const uint8_t *, ETH_LEN);
	err = link_hdr_decode(l2, m->pkt_len - ETH_LEN, &h);
	if (likely(err == LINK_HDR_OK)) {
		/* The header always; the payload where the sender says, over every segment. */
		crc = link_crc_header(l2);
		if (h.flags & RPCI_LINK_F_CRC_PAYLOAD) {
			crc = crc_chain(crc, m, L2_HDRS, h.payload_len);
		}
		if ((crc ^ ~0u) != h.crc) {
			err = LINK_HDR_CRC;
		}
	}
	if (unlikely(err != LINK_HDR_OK)) {
		if (err == LINK_HDR_CRC) {
			link->stats.rx_bad_crc++;
		} else {
			link->stats.rx_bad_header++;
		}
		goto drop;
	}
	link->stats.rx_frames++;
	link->stats.rx_bytes += m->pkt_len;

	body = l2 + RPCI_LINK_HDR_LEN;
	if (h.kind != RPCI_LINK_DATA && h.payload_len > 0) {
		/* A control body is read in one piece. */
		body = frame_body(link, m, h.payload_len);
		if (body == NULL) {
			link->stats.rx_bad_header++;
			goto drop;
		}
	}
	if (h.kind == RPCI_LINK_CTRL) {
		if (link->p.ops->rx_ctrl != NULL) {
			/* the callback may say it authenticated (rpci_link_rx_authentic()) */
			link->rx_cur = m;
			link->p.ops->rx_ctrl(link, &eth->src_addr, body, h.payload_len,
					     link->p.ops_arg);
			link->rx_cur = NULL;
		}
		goto drop;
	}
	if (h.kind == RPCI_LINK_OPEN) {
		rx_open(link, m, &eth->src_addr, &h, l2, body);
		goto drop;
	}
	if (unlikely(h.session == 0) &&
	    (h.kind == RPCI_LINK_CLOSE || h.kind == RPCI_LINK_CLOSE_ACK)) {
		rx_port_stop_notice(link, &eth->src_addr, &h);
		goto drop;
	}
	s = session_find(link, h.session, &eth->src_addr);
	if (s == NULL) {
		link->stats.rx_unknown_session++;
		if (h.kind == RPCI_LINK_CLOSE) {
			/* Closed already: agree again so the peer can go. */
			if (rx_close_again(link, m, &h, &eth->src_addr)) {
				return;
			}
			send_simple(link, &eth->src_addr, RPCI_LINK_CLOSE_ACK, h.session, 0, 0,
				    NULL, 0);
		}
		goto drop;
	}
	if ((s->sec_frames || (h.flags & RPCI_LINK_F_AUTH)) && h.kind != RPCI_LINK_OPEN_ACK) {
		/* Nothing of a session's frame is believed before its tag verifies. */
		m = rx_auth_check(s, m, &h);
		if (m == NULL) {
			return;
		}
	}
	s->last_rx_tsc = now;
	switch (h.kind) {
	case RPCI_LINK_DATA:
		if (s->state != RPCI_LINK_S_OPEN && s->state != RPCI_LINK_S_CLOSING) {
			goto drop;
		}
		session_process_ack(s, h.ack, false);
		session_take_credits(s, &h);
		rx_data(s, &h, m, now);
		return;
	case RPCI_LINK_ACK:
		session_process_ack(s, h.ack, false);
		session_take_credits(s, &h);
		break;
	case RPCI_LINK_NAK:
		link->stats.nak_rcvd++;
		session_process_ack(s, h.ack, (h.flags & RPCI_LINK_F_KEPT) != 0);
		session_take_credits(s, &h);
		if (s->tx_sent != s->tx_acked && h.ack == s->tx_acked &&
		    (h.ack != s->last_nak_ack ||
		     tsc_since(now, s->last_resend_tsc) > link->rto_base_tsc / 2)) {
			s->last_nak_ack = h.ack;
			if (h.flags & RPCI_LINK_F_KEPT) {
				/* Selective repeat: the missing frame alone. */
				session_send_probe(s);
				s->last_resend_tsc = now;
			} else {
				session_go_back(s);
			}
		}
		break;
	case RPCI_LINK_OPEN_ACK:
		rx_open_ack(s, m, &h, l2, body);
		break;
	case RPCI_LINK_CLOSE:
		/* Deliver what was accepted before agreeing to close. */
		if (session_rx_pending(s)) {
			break;
		}
		{
			struct link_hdr ca = { .kind = RPCI_LINK_CLOSE_ACK, .session = s->id };

			send_hdr(link, s, &s->peer, &ca, NULL, 0);
		}
		s->peer_closed = true;
		session_down(s, RPCI_LINK_S_CLOSED);
		break;
	case RPCI_LINK_CLOSE_ACK:
		if (s->state == RPCI_LINK_S_CLOSING) {
			s->close_acked = true;
		}
		break;
	default:
		break;
	}
drop:
	rte_pktmbuf_free(m);
}

/*
 * A close in progress (rpci_link_close_start()): CLOSE is not sequenced, so
 * it goes once everything sent is acked; then again each quarter keepalive
 * until CLOSE_ACK.
 */
static void
session_close_step(struct rpci_link_session *s, uint64_t now)
{
	struct rpci_link *link = s->link;
	struct link_hdr h = {
		.kind = RPCI_LINK_CLOSE,
		.session = s->id,
	};

	if (s->state == RPCI_LINK_S_OPEN) {
		if (s->open_frame != NULL || s->tx_acked != s->tx_next) {
			return;
		}
		s->state = RPCI_LINK_S_CLOSING;
		s->close_sent_tsc = 0;
	}
	if (s->state != RPCI_LINK_S_CLOSING || s->close_acked ||
	    (s->close_sent_tsc != 0 &&
	     tsc_since(now, s->close_sent_tsc) <= link->keepalive_tsc / 4)) {
		return;
	}
	h.seq = s->tx_next;
	h.ack = s->rx_next;
	send_hdr(link, s, &s->peer, &h, NULL, 0);
	s->close_sent_tsc = now;
}

/*
 * The next frame to deliver: the oldest head among the classes not blocked
 * this turn, under PCIe's ordering: a posted write may pass requests and
 * completions, but nothing passes an earlier posted write. NULL when
 * nothing may go.
 */
static struct rx_class *
session_next_class(struct rpci_link_session *s, const bool *blocked)
{
	struct rx_class *best = NULL;
	struct rx_class *p = &s->rxc[RPCI_LINK_CLASS_P];
	uint32_t c;

	for (c = 0; c < RPCI_LINK_CLASSES; c++) {
		struct rx_class *rc = &s->rxc[c];

		if (rc->head == rc->tail || blocked[c]) {
			continue;
		}
		if (best == NULL || link_seq_diff(rc->q[rc->head & rc->mask].seq,
						  best->q[best->head & best->mask].seq) < 0) {
			best = rc;
		}
	}
	if (best != NULL && best != p && blocked[RPCI_LINK_CLASS_P] && p->head != p->tail &&
	    link_seq_diff(p->q[p->head & p->mask].seq, best->q[best->head & best->mask].seq) < 0) {
		/* An earlier posted write waits: what came after it waits too. */
		return NULL;
	}
	return best;
}

/*
 * The next message of a frame, decoded: its header where the frame's
 * messages are read (f->hdr), its payload after it or, in a split frame,
 * at f->pay; either is copied into a buffer of the link's when it
 * straddles two segments. f moves past the message. 0, or a negative
 * errno with why set: the rest of the frame cannot be trusted.
 */
static int
rx_msg_next(struct rpci_link *link, struct rx_frame *f, struct rpci_tlp *msg, const char **why)
{
	struct chain_pos peek = f->hdr;
	struct chain_pos *ppos;
	const uint8_t *p;
	uint32_t hlen, plen, *pleft;
	int ret;

	p = chain_take(link, &peek, 1, link->rx_hdr_buf);
	hlen = p != NULL ? (uint32_t)rpci_tlp_hdr_len(p[0]) : 0;
	if (hlen == 0) {
		*why = p == NULL ? "frame ends early" : "unknown type";
		return -EPROTO;
	}
	if (hlen > f->hdr_left) {
		*why = "truncated header";
		return -EMSGSIZE;
	}
	p = chain_take(link, &f->hdr, hlen, link->rx_hdr_buf);
	if (p == NULL) {
		*why = "frame ends early";
		return -EMSGSIZE;
	}
	ret = rpci_tlp_decode_hdr(p, hlen, &link->limits, msg, why);
	if (ret < 0) {
		return ret;
	}
	f->hdr_left -= hlen;
	plen = rpci_tlp_payload_len(msg);
	if (plen == 0) {
		return 0;
	}
	ppos = f->split ? &f->pay : &f->hdr;
	pleft = f->split ? &f->pay_left : &f->hdr_left;
	if (plen > *pleft) {
		*why = "truncated payload";
		return -EMSGSIZE;
	}
	msg->payload = chain_take(link, ppos, plen, link->rx_body_buf);
	if (msg->payload == NULL) {
		*why = "frame ends early";
		return -EMSGSIZE;
	}
	*pleft -= plen;
	return 0;
}

/*
 * Deliver the messages of a session's receive queues. A class whose head
 * message is declined (-EAGAIN: no room to answer it yet) is blocked for
 * this turn while the others go on, so that a read waiting for room never
 * holds up the writes and completions that would make that room.
 */
static uint32_t
session_deliver(struct rpci_link_session *s)
{
	struct rpci_link *link = s->link;
	bool blocked[RPCI_LINK_CLASSES] = { false, false, false };
	struct rx_class *rc;
	uint32_t delivered = 0;

	while ((s->state == RPCI_LINK_S_OPEN || s->state == RPCI_LINK_S_CLOSING) &&
	       (rc = session_next_class(s, blocked)) != NULL) {
		struct rxq_ent *e = &rc->q[rc->head & rc->mask];
		uint8_t cls = (uint8_t)(rc - s->rxc);

		while (e->f.hdr_left > 0) {
			struct rx_frame next = e->f;
			struct rpci_tlp msg;
			const char *why = NULL;
			int ret;

			ret = rx_msg_next(link, &next, &msg, &why);
			if (unlikely(ret < 0 || msg_class(msg.type) != cls)) {
				/* A message of another class would break the ordering rules. */
				link->stats.rx_malformed_msg++;
				LINK_LOG(DEBUG, "session %08x: malformed message dropped: %s",
					 s->id, ret < 0 ? (why != NULL ? why : "?") :
					 "message of another class than its frame");
				e->f.hdr_left = 0;
				e->f.pay_left = 0;
				break;
			}
			ret = link->p.ops->rx_msg(s, &msg, link->p.ops_arg);
			if (ret == -EAGAIN) {
				blocked[cls] = true;
				break;
			}
			if (unlikely(ret < 0)) {
				link->stats.rx_refused_msg++;
				LINK_LOG(DEBUG, "session %08x: %s refused: %s", s->id,
					 rpci_tlp_type_name(msg.type), strerror(-ret));
			}
			link->stats.rx_msgs++;
			delivered++;
			e->f = next;
			if (s->state != RPCI_LINK_S_OPEN && s->state != RPCI_LINK_S_CLOSING) {
				/* rx_msg ended the session */
				return delivered;
			}
		}
		if (blocked[cls]) {
			continue;
		}
		if (unlikely(e->f.pay_left > 0)) {
			/* A split frame with payload bytes no header claimed. */
			link->stats.rx_malformed_msg++;
			LINK_LOG(DEBUG, "session %08x: %u payload bytes past the last message",
				 s->id, e->f.pay_left);
		}
		rte_pktmbuf_free(e->f.m);
		e->f.m = NULL;
		rc->head++;
		rc->freed++;
		s->credit_pending = true;
	}
	return delivered;
}

/* Timers of one session: replay time-out, keepalive, dead peer. */
static void
session_timers(struct rpci_link_session *s, uint64_t now)
{
	struct rpci_link *link = s->link;

	if (s->state == RPCI_LINK_S_OPENING && !s->answered) {
		/* Unanswered OPEN: say it again each keepalive period. */
		if (tsc_since(now, s->last_tx_tsc) > link->keepalive_tsc) {
			session_send_open_msg(s, RPCI_LINK_OPEN, &s->open_req);
		}
		return;
	}
	if (s->state != RPCI_LINK_S_OPEN && s->state != RPCI_LINK_S_CLOSING) {
		return;
	}
	if (tsc_since(now, s->last_rx_tsc) > link->dead_tsc) {
		session_down(s, RPCI_LINK_S_DEAD);
		return;
	}
	if (unlikely(s->close_started)) {
		session_close_step(s, now);
	}
	if (s->tx_sent != s->tx_acked) {
		struct replay_ent *e = &s->replay[s->tx_acked & s->replay_mask];

		if (e->sent_tsc != 0 && tsc_since(now, e->sent_tsc) > s->rto_tsc) {
			link->stats.timeouts++;
			s->retries++;
			if (s->retries > link->p.retransmit_max) {
				session_down(s, RPCI_LINK_S_DEAD);
				return;
			}
			s->rto_tsc = RTE_MIN(s->rto_tsc * 2, link->rto_max_tsc);
			/*
			 * Resend the oldest frame alone: a stalled peer (a preempted
			 * vCPU) answers with an ack for everything, a lost frame gets
			 * filled and the rest follows (see session_process_ack()).
			 */
			session_send_probe(s);
		}
	}
	if (s->ack_pending || s->credit_pending ||
	    tsc_since(now, s->last_tx_tsc) > link->keepalive_tsc) {
		session_send_ack(s, RPCI_LINK_ACK);
	}
}

int
rpci_link_poll(struct rpci_link *link)
{
	struct rte_mbuf **rx;
	uint16_t nb_rx, i;
	uint32_t k, left;
	uint64_t now = now_tsc();
	int work = 0;

	if (link->p.guard_bursts) {
		nb_rx = rpci_port_rx_burst_guarded(link->p.port_id, link->p.queue_id,
						   link->rx_burst, (uint16_t)link->p.burst);
	} else {
		nb_rx = rte_eth_rx_burst(link->p.port_id, link->p.queue_id, link->rx_burst,
					 (uint16_t)link->p.burst);
	}
	rx = link->rx_burst;
	if (unlikely(link->faults_on)) {
		work += nb_rx;
		nb_rx = faults_apply(link, 1, link->rx_burst, nb_rx, link->fault_rx);
		rx = link->fault_rx;
	}
	for (i = 0; i < nb_rx; i++) {
		if (i + 1 < nb_rx) {
			rte_prefetch0(rte_pktmbuf_mtod(rx[i + 1], void *));
		}
		rx_frame(link, rx[i], now);
	}
	work += nb_rx;
	/*
	 * Every session in use, and no further: a poll loop with one client
	 * does not walk the 64 slots each turn. A callback may free a session
	 * on the way; the count was taken before.
	 */
	left = link->nb_sessions;
	for (k = 0; k < RPCI_LINK_SESSIONS_MAX && left > 0; k++) {
		struct rpci_link_session *s = &link->sessions[k];

		if (!s->in_use) {
			continue;
		}
		left--;
		if (session_rx_pending(s)) {
			work += (int)session_deliver(s);
		}
		if (unlikely(s->ooo_count > 0)) {
			session_ooo_drain(s, now);
		}
		if (s->state == RPCI_LINK_S_OPEN &&
		    (s->open_frame != NULL || s->tx_sent != s->tx_next)) {
			work += session_flush(s);
		}
		session_timers(s, now);
	}
	return work;
}

/* ------------------------------------------------------- sessions by hand */

static void
poll_once_idle(struct rpci_link *link, struct rpci_idle *idle)
{
	rpci_idle_account(idle, rpci_link_poll(link));
}

/*
 * A client's keys for a session: the server is the host of the file at the
 * peer's address; the session asks for what req says, or the link's
 * default. 0, or -1 with rte_errno set: EINVAL (a security the link cannot
 * give), EHOSTUNREACH (the peer is no host of the deployment: nobody to
 * authenticate), ENOMEM, EIO.
 */
static int
session_client_keys(struct rpci_link_session *s, uint8_t security)
{
	struct rpci_link *link = s->link;
	uint8_t cipher = link->cipher, flags = 0;
	int server;

	if (security == RPCI_LINK_SEC_DEFAULT) {
		security = link->p.encrypt ? RPCI_LINK_SEC_ENCRYPT : RPCI_LINK_SEC_MAC;
	}
	switch (security) {
	case RPCI_LINK_SEC_NONE:
		cipher = RPCI_AUTH_CIPHER_NONE;
		break;
	case RPCI_LINK_SEC_MAC:
		break;
	case RPCI_LINK_SEC_ENCRYPT:
		flags = RPCI_AUTH_SESS_ENCRYPT;
		break;
	default:
		rte_errno = EINVAL;
		return -1;
	}
	server = rpci_auth_host_by_mac(link->auth, s->peer.addr_bytes);
	if (server < 0) {
		LINK_LOG(ERR, "peer " RTE_ETHER_ADDR_PRT_FMT " is no host of the deployment: "
			 "a session with it cannot be authenticated",
			 RTE_ETHER_ADDR_BYTES(&s->peer));
		rte_errno = EHOSTUNREACH;
		return -1;
	}
	s->sec = rpci_auth_sess_client(link->auth, (unsigned int)server, cipher, flags);
	if (s->sec == NULL) {
		rte_errno = errno == ENOMEM ? ENOMEM : EIO;
		return -1;
	}
	s->peer_host = server;
	return 0;
}

struct rpci_link_session *
rpci_link_connect(struct rpci_link *link, const struct rte_ether_addr *peer,
		  const struct rpci_link_open_msg *req)
{
	struct rpci_link_session *s;
	uint32_t id;

	if (link == NULL || peer == NULL || req == NULL) {
		rte_errno = EINVAL;
		return NULL;
	}
	do {
		id = (uint32_t)rte_rand();
	} while (id == 0 || session_find(link, id, peer) != NULL);
	s = session_alloc(link, id, peer, true);
	if (s == NULL) {
		return NULL;
	}
	if (link->auth != NULL && session_client_keys(s, req->security) < 0) {
		int err = rte_errno;

		rpci_link_session_free(s);
		rte_errno = err;
		return NULL;
	}
	s->state = RPCI_LINK_S_OPENING;
	s->open_req = *req;
	s->open_req.status = 0;
	s->open_req.max_payload = (uint16_t)link->max_payload;
	s->open_req.max_frame = (uint16_t)link->frame_max;
	s->open_req.replay_frames = link->p.replay_frames;
	memcpy(s->open_req.credits, link->rx_cap, sizeof(s->open_req.credits));
	session_send_open_msg(s, RPCI_LINK_OPEN, &s->open_req);
	return s;
}

int
rpci_link_session_answer(const struct rpci_link_session *s, struct rpci_link_open_msg *ack)
{
	if (s == NULL || !s->is_client) {
		return -EINVAL;
	}
	if (!s->answered) {
		return -EINPROGRESS;
	}
	if (ack != NULL) {
		*ack = s->open_ack;
	}
	return s->state == RPCI_LINK_S_OPEN ? 0 :
		(s->open_ack.status < 0 ? s->open_ack.status : -ECONNREFUSED);
}

struct rpci_link_session *
rpci_link_open(struct rpci_link *link, const struct rte_ether_addr *peer,
	       const struct rpci_link_open_msg *req, struct rpci_link_open_msg *ack,
	       uint32_t timeout_ms)
{
	struct rpci_link_session *s;
	struct rpci_idle idle;
	uint64_t start;
	int ret;

	if (ack == NULL) {
		rte_errno = EINVAL;
		return NULL;
	}
	s = rpci_link_connect(link, peer, req);
	if (s == NULL) {
		return NULL;
	}
	rpci_idle_init(&idle, true, 1000, 100);
	start = now_tsc();
	while ((ret = rpci_link_session_answer(s, ack)) == -EINPROGRESS) {
		if (now_tsc() - start > link->hz * timeout_ms / 1000) {
			rpci_link_session_free(s);
			rte_errno = ETIMEDOUT;
			return NULL;
		}
		poll_once_idle(link, &idle);
	}
	if (ret < 0) {
		rpci_link_session_free(s);
		rte_errno = -ret;
		return NULL;
	}
	return s;
}

int
rpci_link_close_start(struct rpci_link_session *s)
{
	if (s == NULL || !s->in_use) {
		return -EINVAL;
	}
	if (s->state != RPCI_LINK_S_OPEN) {
		return -ENOTCONN;
	}
	if (!s->close_started) {
		s->close_started = true;
		session_flush(s);
		session_close_step(s, now_tsc());
	}
	return 0;
}

int
rpci_link_close_poll(const struct rpci_link_session *s)
{
	if (s == NULL || !s->in_use || !s->close_started) {
		return -EINVAL;
	}
	if (s->close_acked || (s->state == RPCI_LINK_S_CLOSED && !s->close_acked)) {
		/* acked, or the peer closed at the same time: both clean */
		return 0;
	}
	/*
	 * Dead while we waited: dead_ms of silence, or replays given up; the
	 * peer never answered, which is not a clean close.
	 */
	return s->state == RPCI_LINK_S_DEAD ? -ETIMEDOUT : -EINPROGRESS;
}

int
rpci_link_port_stop_notice(struct rpci_link *link, const struct rte_ether_addr *peers,
			   unsigned int nb_peers, uint32_t timeout_ms)
{
	struct link_hdr h = {
		.kind = RPCI_LINK_CLOSE,
		.session = 0,
		.flags = RPCI_LINK_F_PORT_STOPS,
	};
	bool acked[RPCI_LINK_SESSIONS_MAX] = { false };
	struct rpci_idle idle;
	uint64_t deadline, last_sent = 0;
	unsigned int i, n = 0;

	if (link == NULL || (nb_peers > 0 && peers == NULL) || nb_peers > RPCI_LINK_SESSIONS_MAX) {
		return -EINVAL;
	}
	if (nb_peers == 0) {
		return 0;
	}
	link->notice_peers = peers;
	link->notice_acked = acked;
	link->nb_notice_peers = nb_peers;
	rpci_idle_init(&idle, true, 1000, 100);
	deadline = now_tsc() + link->hz * timeout_ms / 1000;
	while (now_tsc() < deadline) {
		for (i = 0, n = 0; i < nb_peers; i++) {
			n += acked[i];
		}
		if (n == nb_peers) {
			break;
		}
		if (now_tsc() - last_sent > link->keepalive_tsc / 4) {
			for (i = 0; i < nb_peers; i++) {
				if (!acked[i]) {
					send_hdr(link, NULL, &peers[i], &h, NULL, 0);
				}
			}
			last_sent = now_tsc();
		}
		poll_once_idle(link, &idle);
	}
	link->notice_peers = NULL;
	link->notice_acked = NULL;
	link->nb_notice_peers = 0;
	return (int)n;
}

int
rpci_link_close(struct rpci_link_session *s, uint32_t timeout_ms)
{
	struct rpci_link *link;
	struct rpci_idle idle;
	uint64_t deadline;
	int ret;

	ret = rpci_link_close_start(s);
	if (ret < 0) {
		if (ret == -ENOTCONN) {
			rpci_link_session_free(s);
		}
		return ret;
	}
	link = s->link;
	rpci_idle_init(&idle, true, 1000, 100);
	deadline = now_tsc() + link->hz * timeout_ms / 1000;
	while ((ret = rpci_link_close_poll(s)) == -EINPROGRESS) {
		if (now_tsc() > deadline) {
			ret = -ETIMEDOUT;
			break;
		}
		poll_once_idle(link, &idle);
	}
	s->state = RPCI_LINK_S_CLOSED;
	rpci_link_session_free(s);
	return ret;
}

int
rpci_link_send_ctrl(struct rpci_link *link, const struct rte_ether_addr *dst, const void *body,
		    uint16_t len)
{
	if (link == NULL || dst == NULL || (len > 0 && body == NULL) || len > RPCI_LINK_CTRL_MAX) {
		return -EINVAL;
	}
	return send_simple(link, dst, RPCI_LINK_CTRL, 0, 0, 0, body, len);
}

/* ------------------------------------------------------------- accessors */

uint16_t
rpci_link_tx_raw(struct rpci_link *link, struct rte_mbuf **pkts, uint16_t n)
{
	return port_tx_burst(link, pkts, n);
}

uint32_t
rpci_link_frame_max(const struct rpci_link *link)
{
	return link->frame_max;
}

uint32_t
rpci_link_max_payload(const struct rpci_link *link)
{
	return link->max_payload;
}

const struct rte_ether_addr *
rpci_link_mac(const struct rpci_link *link)
{
	return &link->p.mac;
}

void
rpci_link_stats_get(const struct rpci_link *link, struct rpci_link_stats *stats)
{
	*stats = link->stats;
}

enum rpci_link_state
rpci_link_session_state(const struct rpci_link_session *s)
{
	return s->state;
}

uint32_t
rpci_link_session_id(const struct rpci_link_session *s)
{
	return s->id;
}

void
rpci_link_session_auth_get(const struct rpci_link_session *s, struct rpci_link_session_auth *st)
{
	*st = s->auth_st;
	if (s->sec == NULL) {
		st->security = RPCI_LINK_SEC_NONE;
		st->cipher = RPCI_AUTH_CIPHER_NONE;
	}
}

int
rpci_link_session_peer_host(const struct rpci_link_session *s)
{
	return s->peer_host;
}

uint16_t
rpci_link_port_id(const struct rpci_link *link)
{
	return link->p.port_id;
}

bool
rpci_link_auth_on(const struct rpci_link *link)
{
	return link != NULL && link->auth != NULL;
}

void
rpci_link_rx_authentic(struct rpci_link *link)
{
	if (link != NULL && link->rx_cur != NULL) {
		rx_verified(link, link->rx_cur);
	}
}

const struct rte_ether_addr *
rpci_link_session_peer(const struct rpci_link_session *s)
{
	return &s->peer;
}

struct rpci_link *
rpci_link_session_link(const struct rpci_link_session *s)
{
	return s->link;
}

void
rpci_link_session_set_priv(struct rpci_link_session *s, void *priv)
{
	s->priv = priv;
}

void *
rpci_link_session_priv(const struct rpci_link_session *s)
{
	return s->priv;
}

/* ------------------------------------------------------------ idle back-off */

void
rpci_idle_init(struct rpci_idle *idle, bool adaptive, uint32_t spin_polls, uint32_t sleep_max_us)
{
	idle->adaptive = adaptive;
	idle->spin_polls = spin_polls;
	idle->sleep_max_us = sleep_max_us;
	idle->empty = 0;
	idle->sleep_us = 1;
}

void
rpci_idle_account(struct rpci_idle *idle, int work)
{
	struct timespec ts;

	if (work > 0) {
		idle->empty = 0;
		idle->sleep_us = 1;
		return;
	}
	if (!idle->adaptive) {
		rte_pause();
		return;
	}
	if (++idle->empty < idle->spin_polls) {
		rte_pause();
		return;
	}
	if (idle->sleep_max_us == 0) {
		sched_yield();
		return;
	}
	ts.tv_sec = 0;
	ts.tv_nsec = (long)idle->sleep_us * 1000;
	nanosleep(&ts, NULL);
	idle->sleep_us = RTE_MIN(idle->sleep_us * 2, idle->sleep_max_us);
}
