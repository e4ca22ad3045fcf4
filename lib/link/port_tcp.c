/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Kernel-TCP ports: the link's Ethernet frames over one TCP connection, for
 * hosts without a DPDK-capable port.
 *
 * Debian's libdpdk-dev 22.11 installs no driver-facing headers
 * (ethdev_driver.h, ethdev_vdev.h, bus_vdev_driver.h), so this is not a PMD
 * of its own. A TCP port is a net_ring ethdev (rte_eth_from_rings(), public
 * API) whose RX and TX callbacks, run inside rte_eth_rx_burst() and
 * rte_eth_tx_burst() on the caller's lcore, move the frames to and from a
 * non-blocking socket: to the link, and to anything else that uses the port
 * id, it is an ordinary ethdev port.
 *
 * Framing: each frame is a 2-byte big-endian length then the frame's bytes.
 * RX: whatever the socket has is read into a reassembly buffer; whole frames
 * become mbufs of the RX queue's pool (chained when a frame is larger than
 * one mbuf's data room) appended to the burst. A length outside
 * [14, RPCI_PORT_TCP_FRAME_MAX] is a broken stream: counted (ierrors) and
 * the connection is dropped, which resynchronizes the framing.
 * TX: the callback writes the frames with one sendmsg(); frames the kernel
 * took whole are done; the one it took in part has its remainder kept in a
 * pending buffer (sent before anything else), so no frame is ever split or
 * lost; the rest are not taken (the burst returns fewer). The frames taken
 * go on to the ring PMD, whose TX ring only parks them until the next burst
 * frees them.
 * Link: up only while connected. The listening side takes one peer at a
 * time (a new connection replaces the current one, dead or not); the
 * connecting side connects without blocking and retries with a back-off
 * when the connection fails or drops.
 * Probation (rpci_port_tcp_set_probation(), on when the link authenticates):
 * while a connection is current, a new one is only a candidate. Its frames
 * are read and delivered like the current one's, each mbuf marked with its
 * connection (hash.usr), and it takes the port over only when the link
 * says that one of them verified; a candidate that sends too many frames,
 * or waits too long, without one is dropped and counted. So a peer without
 * the keys can no longer take the port from the one that has them.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <rte_bus_vdev.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_kvargs.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "link_private.h"
#include "rpci_port_tcp.h"

#define TCP_RX_BUF (256 * 1024)          /* reassembly buffer */
#define TCP_PEND_BUF (RPCI_PORT_TCP_FRAME_MAX + 2)
#define TCP_TX_RING 2048                 /* frames taken, freed at the next burst */
#define TCP_TX_MAX 512                   /* frames per sendmsg() */
#define TCP_IOV_MAX 1024
#define TCP_BACKOFF_MIN_MS 10
#define TCP_BACKOFF_MAX_MS 500
#define TCP_CONNECT_TIMEOUT_MS 3000
#define TCP_SNDBUF_DEFAULT 0             /* the kernel's (autotuned) */
#define TCP_ACCEPT_IDLE_MS 1             /* without a peer: look this often */
#define TCP_ACCEPT_EVERY_MS 10           /* while connected: look for a newer peer */

/* A new connection on probation (see above). */
struct tcp_cand {
	int fd;           /* -1: the slot is free */
	uint32_t id;      /* its mark on the frames it brings */
	uint32_t frames;  /* frames it brought */
	uint64_t since;   /* tsc: when it connected */
	uint8_t *rbuf;    /* its reassembly buffer (TCP_RX_BUF) */
	size_t rlen;
};

struct tcp_port {
	char name[RTE_ETH_NAME_MAX_LEN];  /* the vdev string's name: net_rpci_tcpN */
	char ethdev[RTE_ETH_NAME_MAX_LEN]; /* the ring ethdev's: net_ring_net_rpci_tcpN */
	uint16_t port_id;
	bool listener;
	struct sockaddr_in addr;
	int sndbuf;                       /* SO_SNDBUF of the connection; 0: the kernel's */
	int lfd;                          /* listening socket (listener) */
	int fd;                           /* the connection, -1 without */
	bool connecting;                  /* connect() under way */
	uint64_t connect_start;
	uint64_t next_try;                /* tsc: next connect, or next accept look */
	uint64_t backoff;                 /* tsc */
	uint64_t hz;
	struct rte_ring *rx_ring;         /* the ring PMD's, always empty */
	struct rte_ring *tx_ring;         /* frames taken, to free */
	struct rte_mempool *pool;         /* RX mbufs */
	const struct rte_eth_rxtx_callback *rx_cb;
	const struct rte_eth_rxtx_callback *tx_cb;
	uint8_t *rbuf;
	size_t rlen;
	uint8_t *pbuf;                    /* the rest of a frame the kernel took in part */
	size_t plen;
	size_t poff;
	uint16_t hdr[TCP_TX_MAX];         /* length prefixes, network order */
	struct iovec iov[TCP_IOV_MAX];
	struct rpci_port_tcp_stats st;
	/* probation: the current connection's mark, the candidates, the next mark */
	bool probation;
	uint32_t conn_id;
	uint32_t next_id;
	struct tcp_cand cand[RPCI_PORT_TCP_CANDIDATES];
};

static struct tcp_port *g_tcp_ports[RTE_MAX_ETHPORTS];

static struct tcp_port *
tcp_port_get(uint16_t port_id)
{
	return port_id < RTE_MAX_ETHPORTS ? g_tcp_ports[port_id] : NULL;
}

static uint64_t
ms_tsc(const struct tcp_port *tp, uint64_t ms)
{
	return tp->hz * ms / 1000;
}

bool
rpci_port_tcp_is_spec(const char *vdev)
{
	return rpci_conf_vdev_is_tcp(vdev);
}

bool
rpci_port_is_tcp(uint16_t port_id)
{
	return tcp_port_get(port_id) != NULL;
}

/* "A.B.C.D:PORT" (IPv4; PORT 0 = any, on the listening side). */
static int
parse_addr(const char *s, struct sockaddr_in *sa)
{
	char host[INET_ADDRSTRLEN];
	const char *colon = strrchr(s, ':');
	unsigned long port;
	char *end;
	size_t n;

	if (colon == NULL) {
		return -EINVAL;
	}
	n = (size_t)(colon - s);
	if (n == 0 || n >= sizeof(host)) {
		return -EINVAL;
	}
	memcpy(host, s, n);
	host[n] = '\0';
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno != 0 || end == colon + 1 || *end != '\0' || port > 65535) {
		return -EINVAL;
	}
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sa->sin_addr) != 1) {
		return -EINVAL;
	}
	return 0;
}

struct tcp_args {
	const char *listen;
	const char *connect;
	const char *mac;
	const char *sndbuf;
};

static int
kv_str(const char *key, const char *value, void *opaque)
{
	const char **dst = opaque;

	RTE_SET_USED(key);
	*dst = value;
	return 0;
}

static void
tcp_set_opts(const struct tcp_port *tp, int fd)
{
	int one = 1;

	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0) {
		LINK_LOG(DEBUG, "TCP_NODELAY: %s", strerror(errno));
	}
	if (tp->sndbuf > 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &tp->sndbuf, sizeof(tp->sndbuf)) != 0) {
		LINK_LOG(DEBUG, "SO_SNDBUF: %s", strerror(errno));
	}
}

static void
tcp_conn_drop(struct tcp_port *tp, const char *why)
{
	if (tp->fd < 0) {
		return;
	}
	close(tp->fd);
	tp->fd = -1;
	if (!tp->connecting) {
		tp->st.disconnects++;
		LINK_LOG(INFO, "%s: connection lost (%s)", tp->name, why);
	}
	tp->connecting = false;
	tp->rlen = 0;
	tp->plen = 0;
	tp->poff = 0;
	tp->next_try = rte_get_timer_cycles() + (tp->listener ? 0 : tp->backoff);
	if (!tp->listener) {
		tp->backoff = RTE_MIN(tp->backoff * 2, ms_tsc(tp, TCP_BACKOFF_MAX_MS));
	}
}

static void
tcp_conn_up(struct tcp_port *tp)
{
	tp->connecting = false;
	tp->backoff = ms_tsc(tp, TCP_BACKOFF_MIN_MS);
	tp->st.connects++;
	tcp_set_opts(tp, tp->fd);
	LINK_LOG(INFO, "%s: connected", tp->name);
}

/* Drop a candidate that never brought a frame that verified. */
static void
tcp_cand_drop(struct tcp_port *tp, struct tcp_cand *c, const char *why)
{
	close(c->fd);
	c->fd = -1;
	c->rlen = 0;
	tp->st.takeovers_refused++;
	LINK_LOG(WARNING, "%s: a new connection dropped: %s (%u frames, none verified)",
		 tp->name, why, c->frames);
}

/* A new connection while one is current: a candidate (the oldest makes room). */
static void
tcp_cand_add(struct tcp_port *tp, int fd, uint64_t now)
{
	struct tcp_cand *c = NULL, *oldest = NULL;
	unsigned int i;

	for (i = 0; i < RPCI_PORT_TCP_CANDIDATES; i++) {
		struct tcp_cand *k = &tp->cand[i];

		if (k->fd < 0) {
			c = k;
			break;
		}
		if (oldest == NULL || k->since < oldest->since) {
			oldest = k;
		}
	}
	if (c == NULL) {
		tcp_cand_drop(tp, oldest, "more new connections came");
		c = oldest;
	}
	if (c->rbuf == NULL) {
		c->rbuf = rte_malloc("rpci_tcp_cand", TCP_RX_BUF, 0);
		if (c->rbuf == NULL) {
			close(fd);
			tp->st.takeovers_refused++;
			return;
		}
	}
	c->fd = fd;
	c->id = ++tp->next_id;
	c->frames = 0;
	c->since = now;
	c->rlen = 0;
	tcp_set_opts(tp, fd);
	LINK_LOG(INFO, "%s: a new connection: it takes over once a frame of it verifies",
		 tp->name);
}

/* Candidates that waited too long, or brought too many frames, without one that verified. */
static void
tcp_cand_expire(struct tcp_port *tp, uint64_t now)
{
	unsigned int i;

	for (i = 0; i < RPCI_PORT_TCP_CANDIDATES; i++) {
		struct tcp_cand *c = &tp->cand[i];

		if (c->fd < 0) {
			continue;
		}
		if (c->frames >= RPCI_PORT_TCP_PROBATION_FRAMES) {
			tcp_cand_drop(tp, c, "too many frames");
		} else if (now - c->since > ms_tsc(tp, RPCI_PORT_TCP_PROBATION_MS)) {
			tcp_cand_drop(tp, c, "too long");
		}
	}
}

/* Listening side: take a waiting connection (it replaces the current one). */
static void
tcp_accept(struct tcp_port *tp, uint64_t now)
{
	int fd;

	/* accept() costs a socket allocation even when nobody waits: not every poll */
	tp->next_try = now + (tp->fd < 0 ? ms_tsc(tp, TCP_ACCEPT_IDLE_MS) :
				 ms_tsc(tp, TCP_ACCEPT_EVERY_MS));
	fd = accept4(tp->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		return;
	}
	if (tp->fd >= 0 && tp->probation) {
		tcp_cand_add(tp, fd, now);
		return;
	}
	if (tp->fd >= 0) {
		tcp_conn_drop(tp, "a new peer connected");
	}
	tp->fd = fd;
	tp->conn_id = ++tp->next_id;
	tcp_conn_up(tp);
}

/* Connecting side: start, or see how a non-blocking connect() went. */
static void
tcp_connect_step(struct tcp_port *tp, uint64_t now)
{
	struct pollfd pfd;
	socklen_t len;
	int err = 0;

	if (tp->fd < 0) {
		if (now < tp->next_try) {
			return;
		}
		tp->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (tp->fd < 0) {
			tp->next_try = now + tp->backoff;
			return;
		}
		tp->connecting = true;
		tp->connect_start = now;
		if (connect(tp->fd, (const struct sockaddr *)&tp->addr, sizeof(tp->addr)) == 0) {
			tcp_conn_up(tp);
			return;
		}
		if (errno != EINPROGRESS) {
			tcp_conn_drop(tp, strerror(errno));
		}
		return;
	}
	pfd.fd = tp->fd;
	pfd.events = POLLOUT;
	pfd.revents = 0;
	if (poll(&pfd, 1, 0) <= 0) {
		if (now - tp->connect_start > ms_tsc(tp, TCP_CONNECT_TIMEOUT_MS)) {
			tcp_conn_drop(tp, "connect timed out");
		}
		return;
	}
	len = sizeof(err);
	if (getsockopt(tp->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
		err = errno;
	}
	if (err != 0) {
		tcp_conn_drop(tp, strerror(err));
		return;
	}
	tcp_conn_up(tp);
}

/* A candidate becomes the connection (there is none now), with what it has yet to read. */
static void
tcp_cand_promote(struct tcp_port *tp, struct tcp_cand *c)
{
	uint8_t *rbuf = tp->rbuf;

	tp->fd = c->fd;
	tp->conn_id = c->id;
	tp->rbuf = c->rbuf;
	tp->rlen = c->rlen;
	c->rbuf = rbuf;
	c->rlen = 0;
	c->fd = -1;
	tcp_conn_up(tp);
}

/* The current connection is gone: the oldest candidate takes its place (it takes nothing). */
static void
tcp_cand_succeed(struct tcp_port *tp)
{
	struct tcp_cand *c = NULL;
	unsigned int i;

	for (i = 0; i < RPCI_PORT_TCP_CANDIDATES; i++) {
		if (tp->cand[i].fd >= 0 && (c == NULL || tp->cand[i].since < c->since)) {
			c = &tp->cand[i];
		}
	}
	if (c != NULL) {
		tcp_cand_promote(tp, c);
	}
}

/* Move the connection's state on; true when connected. */
static bool
tcp_service(struct tcp_port *tp, uint64_t now)
{
	if (tp->listener) {
		if (tp->fd < 0) {
			tcp_cand_succeed(tp);
		}
		if (now >= tp->next_try) {
			tcp_accept(tp, now);
		}
	} else if (tp->fd < 0 || tp->connecting) {
		tcp_connect_step(tp, now);
	}
	return tp->fd >= 0 && !tp->connecting;
}

/* Free the frames an earlier TX burst took. */
static void
tcp_tx_reap(struct tcp_port *tp)
{
	struct rte_mbuf *m[64];
	unsigned int n;

	while ((n = rte_ring_dequeue_burst(tp->tx_ring, (void **)m, RTE_DIM(m), NULL)) > 0) {
		rte_pktmbuf_free_bulk(m, n);
	}
}

/* Send what is left of a frame the kernel took in part; true when done. */
static bool
tcp_flush_pending(struct tcp_port *tp)
{
	ssize_t w;

	while (tp->poff < tp->plen) {
		w = send(tp->fd, tp->pbuf + tp->poff, tp->plen - tp->poff,
			 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
				tcp_conn_drop(tp, strerror(errno));
			}
			return false;
		}
		tp->poff += (size_t)w;
	}
	tp->plen = 0;
	tp->poff = 0;
	return true;
}

/* Keep bytes [skip, end) of a framed frame (prefix + data) for later. */
static void
tcp_keep_rest(struct tcp_port *tp, const struct rte_mbuf *m, uint16_t hdr, size_t skip)
{
	const uint8_t *h = (const uint8_t *)&hdr;
	size_t out = 0, pos = 0;
	const struct rte_mbuf *s;

	for (; pos < 2; pos++) {
		if (pos >= skip) {
			tp->pbuf[out++] = h[pos];
		}
	}
	for (s = m; s != NULL; s = s->next) {
		const uint8_t *d = rte_pktmbuf_mtod(s, const uint8_t *);
		size_t len = s->data_len;
		size_t from = skip > pos ? RTE_MIN(skip - pos, len) : 0;

		memcpy(tp->pbuf + out, d + from, len - from);
		out += len - from;
		pos += len;
	}
	tp->plen = out;
	tp->poff = 0;
}

static uint16_t
tcp_tx_cb(uint16_t port_id, uint16_t queue, struct rte_mbuf *pkts[], uint16_t nb_pkts,
	  void *arg)
{
	struct tcp_port *tp = arg;
	struct msghdr msg;
	unsigned int room, niov = 0, nb = 0, i, k = 0;
	size_t left;
	ssize_t w;

	RTE_SET_USED(port_id);
	RTE_SET_USED(queue);
	tcp_tx_reap(tp);
	if (!tcp_service(tp, rte_get_timer_cycles())) {
		return 0;
	}
	if (tp->plen > 0 && !tcp_flush_pending(tp)) {
		return 0;
	}
	room = RTE_MIN(rte_ring_free_count(tp->tx_ring), (unsigned int)TCP_TX_MAX);
	for (i = 0; i < nb_pkts && i < room; i++) {
		const struct rte_mbuf *m = pkts[i], *s;

		if (m->pkt_len < RTE_ETHER_HDR_LEN || m->pkt_len > RPCI_PORT_TCP_FRAME_MAX) {
			/* Never sent: taken and dropped alone (freed with the rest). */
			if (i == 0) {
				tp->st.oerrors++;
				return 1;
			}
			break;
		}
		if (niov + 1 + m->nb_segs > TCP_IOV_MAX) {
			break;
		}
		tp->hdr[i] = htons((uint16_t)m->pkt_len);
		tp->iov[niov].iov_base = &tp->hdr[i];
		tp->iov[niov].iov_len = 2;
		niov++;
		for (s = m; s != NULL; s = s->next) {
			tp->iov[niov].iov_base = rte_pktmbuf_mtod(s, void *);
			tp->iov[niov].iov_len = s->data_len;
			niov++;
		}
		nb++;
	}
	if (nb == 0) {
		return 0;
	}
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = tp->iov;
	msg.msg_iovlen = niov;
	w = sendmsg(tp->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (w < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			tcp_conn_drop(tp, strerror(errno));
		}
		return 0;
	}
	left = (size_t)w;
	for (k = 0; k < nb && left > 0; k++) {
		size_t flen = 2 + (size_t)pkts[k]->pkt_len;

		tp->st.opackets++;
		tp->st.obytes += pkts[k]->pkt_len;
		if (left < flen) {
			tp->st.tx_partial++;
			tcp_keep_rest(tp, pkts[k], tp->hdr[k], left);
			k++;
			break;
		}
		left -= flen;
	}
	return (uint16_t)k;
}

/* One mbuf (a chain if it must) holding len bytes. */
static struct rte_mbuf *
tcp_mbuf_from(struct tcp_port *tp, const uint8_t *data, uint32_t len)
{
	struct rte_mbuf *head, *last, *m;
	uint32_t off = 0, n;

	head = rte_pktmbuf_alloc(tp->pool);
	if (head == NULL) {
		return NULL;
	}
	last = head;
	m = head;
	for (;;) {
		n = RTE_MIN(len - off, (uint32_t)rte_pktmbuf_tailroom(m));
		memcpy(rte_pktmbuf_mtod(m, uint8_t *), data + off, n);
		m->data_len = (uint16_t)n;
		off += n;
		if (off == len) {
			break;
		}
		m = rte_pktmbuf_alloc(tp->pool);
		if (m == NULL || n == 0) {
			rte_pktmbuf_free(m);
			rte_pktmbuf_free(head);
			return NULL;
		}
		last->next = m;
		last = m;
		head->nb_segs++;
	}
	head->pkt_len = len;
	head->port = tp->port_id;
	return head;
}

/*
 * Whole frames of a reassembly buffer into the burst, each marked with its
 * connection (id). Returns -1 on a broken stream (counted; the caller
 * drops the connection), else 0.
 */
static int
tcp_rx_frames(struct tcp_port *tp, uint8_t *rbuf, size_t *rlen, uint32_t id,
	      struct rte_mbuf *pkts[], uint16_t *nb_pkts, uint16_t max_pkts, uint32_t *frames)
{
	size_t off = 0;
	int ret = 0;

	while (*nb_pkts < max_pkts && *rlen - off >= 2) {
		uint32_t len = ((uint32_t)rbuf[off] << 8) | rbuf[off + 1];
		struct rte_mbuf *m;

		if (len < RTE_ETHER_HDR_LEN || len > RPCI_PORT_TCP_FRAME_MAX) {
			tp->st.ierrors++;
			LINK_LOG(WARNING, "%s: bad frame length %u: dropping the connection",
				 tp->name, len);
			ret = -1;
			break;
		}
		if (*rlen - off < 2 + (size_t)len) {
			break;
		}
		m = tcp_mbuf_from(tp, rbuf + off + 2, len);
		if (m == NULL) {
			tp->st.rx_nombuf++;
			break;
		}
		m->hash.usr = id;
		pkts[(*nb_pkts)++] = m;
		tp->st.ipackets++;
		tp->st.ibytes += len;
		if (frames != NULL) {
			(*frames)++;
		}
		off += 2 + (size_t)len;
	}
	if (off > 0 && ret == 0) {
		memmove(rbuf, rbuf + off, *rlen - off);
		*rlen -= off;
	}
	return ret;
}

/* Read what a socket has into its buffer; false when the peer is gone (why says how). */
static bool
tcp_read(int fd, uint8_t *rbuf, size_t *rlen, const char **why)
{
	ssize_t r;

	if (*rlen >= TCP_RX_BUF) {
		return true;
	}
	r = recv(fd, rbuf + *rlen, TCP_RX_BUF - *rlen, MSG_DONTWAIT);
	if (r > 0) {
		*rlen += (size_t)r;
	} else if (r == 0) {
		*why = "peer closed";
		return false;
	} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
		*why = strerror(errno);
		return false;
	}
	return true;
}

/* The candidates' frames (they are delivered too: the link checks them). */
static uint16_t
tcp_rx_cands(struct tcp_port *tp, struct rte_mbuf *pkts[], uint16_t nb_pkts, uint16_t max_pkts)
{
	const char *why = NULL;
	unsigned int i;

	tcp_cand_expire(tp, rte_get_timer_cycles());
	for (i = 0; i < RPCI_PORT_TCP_CANDIDATES; i++) {
		struct tcp_cand *c = &tp->cand[i];
		bool alive;

		if (c->fd < 0) {
			continue;
		}
		alive = tcp_read(c->fd, c->rbuf, &c->rlen, &why);
		if (tcp_rx_frames(tp, c->rbuf, &c->rlen, c->id, pkts, &nb_pkts, max_pkts,
				  &c->frames) < 0) {
			tcp_cand_drop(tp, c, "bad frame length");
		} else if (!alive) {
			tcp_cand_drop(tp, c, why);
		}
	}
	return nb_pkts;
}

static uint16_t
tcp_rx_cb(uint16_t port_id, uint16_t queue, struct rte_mbuf *pkts[], uint16_t nb_pkts,
	  uint16_t max_pkts, void *arg)
{
	struct tcp_port *tp = arg;
	const char *why = NULL;
	bool alive;

	RTE_SET_USED(port_id);
	RTE_SET_USED(queue);
	tcp_tx_reap(tp);
	if (!tcp_service(tp, rte_get_timer_cycles())) {
		return nb_pkts;
	}
	if (tp->plen > 0) {
		tcp_flush_pending(tp);
		if (tp->fd < 0) {
			return nb_pkts;
		}
	}
	alive = tcp_read(tp->fd, tp->rbuf, &tp->rlen, &why);
	if (tcp_rx_frames(tp, tp->rbuf, &tp->rlen, tp->conn_id, pkts, &nb_pkts, max_pkts,
			  NULL) < 0) {
		tcp_conn_drop(tp, "bad frame length");
		return nb_pkts;
	}
	if (!alive) {
		tcp_conn_drop(tp, why);
	}
	if (tp->probation && tp->fd >= 0) {
		nb_pkts = tcp_rx_cands(tp, pkts, nb_pkts, max_pkts);
	}
	return nb_pkts;
}

int
rpci_port_tcp_set_probation(uint16_t port_id, bool on)
{
	struct tcp_port *tp = tcp_port_get(port_id);
	unsigned int i;

	if (tp == NULL) {
		return -ENODEV;
	}
	tp->probation = on && tp->listener;
	for (i = 0; !tp->probation && i < RPCI_PORT_TCP_CANDIDATES; i++) {
		if (tp->cand[i].fd >= 0) {
			tcp_cand_drop(tp, &tp->cand[i], "probation off");
		}
	}
	return 0;
}

void
rpci_port_tcp_frame_verified(uint16_t port_id, const struct rte_mbuf *m)
{
	struct tcp_port *tp = tcp_port_get(port_id);
	struct tcp_cand *c = NULL;
	unsigned int i;

	if (tp == NULL || !tp->probation || m->hash.usr == tp->conn_id) {
		return;
	}
	for (i = 0; i < RPCI_PORT_TCP_CANDIDATES; i++) {
		if (tp->cand[i].fd >= 0 && tp->cand[i].id == m->hash.usr) {
			c = &tp->cand[i];
			break;
		}
	}
	if (c == NULL) {
		return;
	}
	/* It proved itself: it is the port's connection now, what it still has to read too. */
	tcp_conn_drop(tp, "a new peer's frame verified");
	tcp_cand_promote(tp, c);
	tp->st.takeovers++;
}

static void
tcp_port_free(struct tcp_port *tp)
{
	unsigned int i;

	for (i = 0; i < RPCI_PORT_TCP_CANDIDATES; i++) {
		if (tp->cand[i].fd >= 0) {
			close(tp->cand[i].fd);
		}
		rte_free(tp->cand[i].rbuf);
	}
	if (tp->fd >= 0) {
		close(tp->fd);
	}
	if (tp->lfd >= 0) {
		close(tp->lfd);
	}
	if (tp->tx_ring != NULL) {
		tcp_tx_reap(tp);
	}
	rte_ring_free(tp->tx_ring);
	rte_ring_free(tp->rx_ring);
	rte_free(tp->rbuf);
	rte_free(tp->pbuf);
	rte_free(tp);
}

static int
tcp_listen(struct tcp_port *tp)
{
	struct sockaddr_in bound;
	socklen_t len = sizeof(bound);
	int one = 1;
	int ret;

	tp->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (tp->lfd < 0) {
		return -errno;
	}
	if (setsockopt(tp->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(tp->lfd, (const struct sockaddr *)&tp->addr, sizeof(tp->addr)) != 0 ||
	    listen(tp->lfd, 4) != 0 ||
	    getsockname(tp->lfd, (struct sockaddr *)&bound, &len) != 0) {
		ret = -errno;
		close(tp->lfd);
		tp->lfd = -1;
		return ret;
	}
	tp->addr.sin_port = bound.sin_port;
	return 0;
}

int
rpci_port_tcp_create(const char *spec, uint16_t *port_id)
{
	static const char *const keys[] = { "listen", "connect", "mac", "sndbuf", NULL };
	struct tcp_args a = { NULL, NULL, NULL, NULL };
	struct rte_kvargs *kv = NULL;
	struct tcp_port *tp;
	struct rte_ether_addr mac;
	char rname[RTE_RING_NAMESIZE];
	const char *comma;
	size_t nlen;
	int pid, ret;

	if (!rpci_port_tcp_is_spec(spec) || port_id == NULL) {
		return -EINVAL;
	}
	comma = strchr(spec, ',');
	nlen = comma != NULL ? (size_t)(comma - spec) : strlen(spec);
	if (nlen >= 20) {
		LINK_LOG(ERR, "%s: name too long", spec);
		return -EINVAL;
	}
	tp = rte_zmalloc("rpci_tcp", sizeof(*tp), RTE_CACHE_LINE_SIZE);
	if (tp == NULL) {
		return -ENOMEM;
	}
	tp->fd = -1;
	tp->lfd = -1;
	for (unsigned int i = 0; i < RPCI_PORT_TCP_CANDIDATES; i++) {
		tp->cand[i].fd = -1;
	}
	tp->hz = rte_get_timer_hz();
	tp->backoff = ms_tsc(tp, TCP_BACKOFF_MIN_MS);
	memcpy(tp->name, spec, nlen);
	tp->name[nlen] = '\0';
	if (comma != NULL) {
		kv = rte_kvargs_parse(comma + 1, keys);
	}
	if (kv == NULL) {
		LINK_LOG(ERR, "%s: expected listen=IP:PORT or connect=IP:PORT [,mac=MAC]", spec);
		ret = -EINVAL;
		goto free_port;
	}
	if (rte_kvargs_process(kv, "listen", kv_str, &a.listen) < 0 ||
	    rte_kvargs_process(kv, "connect", kv_str, &a.connect) < 0 ||
	    rte_kvargs_process(kv, "mac", kv_str, &a.mac) < 0 ||
	    rte_kvargs_process(kv, "sndbuf", kv_str, &a.sndbuf) < 0 ||
	    (a.listen == NULL) == (a.connect == NULL)) {
		LINK_LOG(ERR, "%s: give exactly one of listen=IP:PORT, connect=IP:PORT", spec);
		ret = -EINVAL;
		goto free_kvargs;
	}
	tp->listener = a.listen != NULL;
	if (parse_addr(tp->listener ? a.listen : a.connect, &tp->addr) < 0 ||
	    (!tp->listener && tp->addr.sin_port == 0)) {
		LINK_LOG(ERR, "%s: bad address '%s' (IPv4 A.B.C.D:PORT)", spec,
			 tp->listener ? a.listen : a.connect);
		ret = -EINVAL;
		goto free_kvargs;
	}
	if (a.mac != NULL && rte_ether_unformat_addr(a.mac, &mac) != 0) {
		LINK_LOG(ERR, "%s: bad mac '%s'", spec, a.mac);
		ret = -EINVAL;
		goto free_kvargs;
	}
	if (a.sndbuf != NULL) {
		unsigned long v;
		char *end;

		errno = 0;
		v = strtoul(a.sndbuf, &end, 0);
		if (errno != 0 || end == a.sndbuf || (*end != '\0' && *end != 'K' &&
		    *end != 'M') || (*end != '\0' && end[1] != '\0')) {
			v = ULONG_MAX;
		} else if (*end == 'K') {
			v *= 1024;
		} else if (*end == 'M') {
			v *= 1024 * 1024;
		}
		if (v > 64UL * 1024 * 1024) {
			LINK_LOG(ERR, "%s: bad sndbuf '%s' (bytes, K or M, 64M at most)", spec,
				 a.sndbuf);
			ret = -EINVAL;
			goto free_kvargs;
		}
		tp->sndbuf = (int)v;
	} else {
		tp->sndbuf = TCP_SNDBUF_DEFAULT;
	}
	tp->rbuf = rte_malloc("rpci_tcp_rx", TCP_RX_BUF, 0);
	tp->pbuf = rte_malloc("rpci_tcp_tx", TCP_PEND_BUF, 0);
	if (tp->rbuf == NULL || tp->pbuf == NULL) {
		ret = -ENOMEM;
		goto free_kvargs;
	}
	snprintf(rname, sizeof(rname), "rtcp_rx_%.19s", tp->name);
	tp->rx_ring = rte_ring_create(rname, 64, (int)rte_socket_id(),
				      RING_F_SP_ENQ | RING_F_SC_DEQ);
	snprintf(rname, sizeof(rname), "rtcp_tx_%.19s", tp->name);
	tp->tx_ring = rte_ring_create(rname, TCP_TX_RING, (int)rte_socket_id(),
				      RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (tp->rx_ring == NULL || tp->tx_ring == NULL) {
		ret = -rte_errno;
		LINK_LOG(ERR, "%s: rings: %s", spec, rte_strerror(rte_errno));
		goto free_kvargs;
	}
	if (tp->listener) {
		ret = tcp_listen(tp);
		if (ret < 0) {
			LINK_LOG(ERR, "%s: cannot listen on %s: %s", spec, a.listen,
				 strerror(-ret));
			goto free_kvargs;
		}
	}
	pid = rte_eth_from_rings(tp->name, &tp->rx_ring, 1, &tp->tx_ring, 1,
				 (unsigned int)rte_socket_id());
	if (pid < 0 || pid >= RTE_MAX_ETHPORTS) {
		ret = rte_errno != 0 ? -rte_errno : -EIO;
		LINK_LOG(ERR, "%s: cannot create its ethdev: %s", spec, strerror(-ret));
		goto free_kvargs;
	}
	tp->port_id = (uint16_t)pid;
	snprintf(tp->ethdev, sizeof(tp->ethdev), "net_ring_%.19s", tp->name);
	if (a.mac != NULL && rte_eth_dev_default_mac_addr_set(tp->port_id, &mac) != 0) {
		LINK_LOG(DEBUG, "%s: the MAC stays the port's", spec);
	}
	g_tcp_ports[tp->port_id] = tp;
	rte_kvargs_free(kv);
	*port_id = tp->port_id;
	LINK_LOG(INFO, "%s: port %u, %s %s:%u", tp->name, tp->port_id,
		 tp->listener ? "listening on" : "connecting to", inet_ntoa(tp->addr.sin_addr),
		 ntohs(tp->addr.sin_port));
	return 0;

free_kvargs:
	rte_kvargs_free(kv);
free_port:
	tcp_port_free(tp);
	return ret;
}

int
rpci_port_tcp_create_for_host(const struct rpci_conf_host *host)
{
	uint16_t port_id;
	unsigned int i;
	int n = 0, ret;

	if (host == NULL) {
		return -EINVAL;
	}
	for (i = 0; i < host->eal.nb_vdevs; i++) {
		const char *spec = host->eal.vdevs[i];
		size_t nlen = strcspn(spec, ",");
		char ethdev[RTE_ETH_NAME_MAX_LEN];

		if (!rpci_port_tcp_is_spec(spec)) {
			continue;
		}
		snprintf(ethdev, sizeof(ethdev), "net_ring_%.*s", (int)nlen, spec);
		if (rte_eth_dev_get_port_by_name(ethdev, &port_id) == 0) {
			continue; /* made already */
		}
		ret = rpci_port_tcp_create(spec, &port_id);
		if (ret < 0) {
			return ret;
		}
		n++;
	}
	return n;
}

int
rpci_port_tcp_stats_get(uint16_t port_id, struct rpci_port_tcp_stats *st)
{
	const struct tcp_port *tp = tcp_port_get(port_id);

	if (tp == NULL || st == NULL) {
		return -ENODEV;
	}
	*st = tp->st;
	return 0;
}

int
rpci_port_tcp_local_port(uint16_t port_id, uint16_t *tcp_port)
{
	const struct tcp_port *tp = tcp_port_get(port_id);

	if (tp == NULL || tcp_port == NULL) {
		return -ENODEV;
	}
	*tcp_port = ntohs(tp->addr.sin_port);
	return 0;
}

int
rpci_port_tcp_disconnect(uint16_t port_id)
{
	struct tcp_port *tp = tcp_port_get(port_id);

	if (tp == NULL) {
		return -ENODEV;
	}
	tcp_conn_drop(tp, "asked to");
	return 0;
}

int
link_tcp_port_attach(uint16_t port_id, struct rte_mempool *pool)
{
	struct tcp_port *tp = tcp_port_get(port_id);

	if (tp == NULL || pool == NULL) {
		return -EINVAL;
	}
	tp->pool = pool;
	if (tp->rx_cb == NULL) {
		tp->rx_cb = rte_eth_add_rx_callback(port_id, 0, tcp_rx_cb, tp);
	}
	if (tp->tx_cb == NULL) {
		tp->tx_cb = rte_eth_add_tx_callback(port_id, 0, tcp_tx_cb, tp);
	}
	if (tp->rx_cb == NULL || tp->tx_cb == NULL) {
		return rte_errno != 0 ? -rte_errno : -EIO;
	}
	return 0;
}

bool
link_tcp_port_up(uint16_t port_id)
{
	struct tcp_port *tp = tcp_port_get(port_id);
	struct pollfd pfd;

	if (tp == NULL) {
		return false;
	}
	if (tp->fd >= 0 && !tp->connecting) {
		/*
		 * Asked, not polled: a peer that closed is down now, not at
		 * the next RX burst (what it sent last is dropped with it).
		 */
		pfd.fd = tp->fd;
		pfd.events = POLLRDHUP;
		pfd.revents = 0;
		if (poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR))) {
			tcp_conn_drop(tp, "peer closed");
		}
	}
	return tcp_service(tp, rte_get_timer_cycles());
}

void
link_tcp_port_detach(uint16_t port_id)
{
	struct tcp_port *tp = tcp_port_get(port_id);

	if (tp == NULL) {
		return;
	}
	/* Nobody polls the port any more (the caller stopped first). */
	if (tp->rx_cb != NULL && rte_eth_remove_rx_callback(port_id, 0, tp->rx_cb) == 0) {
		rte_free((void *)(uintptr_t)tp->rx_cb);
	}
	if (tp->tx_cb != NULL && rte_eth_remove_tx_callback(port_id, 0, tp->tx_cb) == 0) {
		rte_free((void *)(uintptr_t)tp->tx_cb);
	}
	tp->rx_cb = NULL;
	tp->tx_cb = NULL;
}

void
link_tcp_port_destroy(uint16_t port_id)
{
	struct tcp_port *tp = tcp_port_get(port_id);

	if (tp == NULL) {
		return;
	}
	g_tcp_ports[port_id] = NULL;
	rte_vdev_uninit(tp->ethdev);
	tcp_port_free(tp);
}
