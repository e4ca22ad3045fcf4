/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Kernel-TCP ports (lib/link/port_tcp.c): two ports of one process, one
 * listening and one connecting on 127.0.0.1, carry real frames over a real
 * TCP connection. Every byte and the order of frames of 60..9014 bytes both
 * ways, RX chains (the pool's mbufs hold 2 KiB), a sender blasting until
 * the kernel is full (short bursts, frames cut by the kernel kept whole),
 * peers that go away and come back, garbage on the stream.
 */

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "rpci_link.h"
#include "rpci_port_tcp.h"

#define NB_MBUFS 8191
#define BURST 32
#define UP_TIMEOUT_MS 5000
#define FRAME_MAX RPCI_PORT_TCP_FRAME_MAX
#define BIG_MBUFS 511

static struct rte_mempool *g_pool;     /* 2 KiB mbufs: large frames arrive chained */
static struct rte_mempool *g_big_pool; /* whole-frame mbufs: the listening port's RX */
static uint16_t g_lport;     /* listening port */
static uint16_t g_cport;     /* connecting port */
static uint16_t g_tcp_port;  /* the TCP port number it listens on */
static unsigned int g_cport_gen = 1;
static uint8_t g_buf[FRAME_MAX];

static uint64_t
now_ms(void)
{
	return rte_get_timer_cycles() * 1000 / rte_get_timer_hz();
}

static void
nap_us(long us)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = us * 1000 };

	nanosleep(&ts, NULL);
}

/* Poll both ports (an RX burst moves a port's connection on) until both are up. */
static bool
wait_both_up(void)
{
	uint64_t deadline = now_ms() + UP_TIMEOUT_MS;

	while (now_ms() < deadline) {
		/* ask both: asking is what moves each connection on */
		bool l = rpci_port_is_up(g_lport);
		bool c = rpci_port_is_up(g_cport);

		if (l && c) {
			return true;
		}
		nap_us(1000);
	}
	return false;
}

static uint8_t
pattern(uint32_t seq, uint32_t off)
{
	return (uint8_t)(seq * 131u + off * 7u + (off >> 8));
}

/* Frame seq of len bytes: Ethernet header, seq, len, then the pattern. */
static struct rte_mbuf *
make_frame(uint32_t seq, uint32_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(g_pool), *last = NULL;
	uint32_t off = 0;

	if (m == NULL) {
		return NULL;
	}
	/* build as a chain when longer than one mbuf: TX takes chains too */
	while (off < len) {
		struct rte_mbuf *s = off == 0 ? m : rte_pktmbuf_alloc(g_pool);
		uint32_t n = RTE_MIN(len - off, (uint32_t)rte_pktmbuf_tailroom(s));
		uint8_t *d;
		uint32_t i;

		if (s == NULL) {
			rte_pktmbuf_free(m);
			return NULL;
		}
		d = rte_pktmbuf_mtod(s, uint8_t *);
		for (i = 0; i < n; i++) {
			uint32_t o = off + i;

			if (o < 12) {
				d[i] = 0xff;
			} else if (o < 14) {
				d[i] = o == 12 ? 0x88 : 0xb5;
			} else if (o < 18) {
				d[i] = (uint8_t)(seq >> (8 * (o - 14)));
			} else if (o < 22) {
				d[i] = (uint8_t)(len >> (8 * (o - 18)));
			} else {
				d[i] = pattern(seq, o);
			}
		}
		s->data_len = (uint16_t)n;
		if (last != NULL) {
			last->next = s;
			m->nb_segs++;
		}
		last = s;
		off += n;
	}
	m->pkt_len = len;
	return m;
}

/* Check a received frame: it must be frame seq, byte for byte. */
static bool
check_frame(struct rte_mbuf *m, uint32_t seq)
{
	const uint8_t *d;
	uint32_t len, got_seq, i;

	if (m->pkt_len < 22 || m->pkt_len > FRAME_MAX) {
		return false;
	}
	d = rte_pktmbuf_read(m, 0, m->pkt_len, g_buf);
	if (d == NULL) {
		return false;
	}
	got_seq = (uint32_t)d[14] | (uint32_t)d[15] << 8 | (uint32_t)d[16] << 16 |
		  (uint32_t)d[17] << 24;
	len = (uint32_t)d[18] | (uint32_t)d[19] << 8 | (uint32_t)d[20] << 16 |
	      (uint32_t)d[21] << 24;
	if (got_seq != seq || len != m->pkt_len) {
		printf("\n  frame %u: got seq %u, len %u (pkt_len %u)\n", seq, got_seq, len,
		       m->pkt_len);
		return false;
	}
	for (i = 22; i < len; i++) {
		if (d[i] != pattern(seq, i)) {
			printf("\n  frame %u: byte %u is %u, not %u\n", seq, i, d[i],
			       pattern(seq, i));
			return false;
		}
	}
	return true;
}

static const uint32_t g_sizes[] = { 60, 64, 100, 1514, 2048, 2049, 4000, 8999, 9000, 9014 };

static uint32_t
size_of(uint32_t seq)
{
	return g_sizes[seq % RTE_DIM(g_sizes)];
}

/* What one direction of a transfer has done. */
struct flow {
	uint16_t src;
	uint16_t dst;
	uint32_t total;
	uint32_t sent;
	uint32_t recvd;
	uint32_t bad;
	uint32_t short_bursts;
	uint32_t max_segs;    /* most segments of a frame received */
	const uint32_t *sizes; /* frame sizes, in turn (NULL: g_sizes) */
	uint32_t nb_sizes;
	struct rte_mbuf *held[BURST]; /* built, not yet taken */
	uint16_t nb_held;
};

static void
flow_tx(struct flow *f)
{
	uint16_t n, k;

	while (f->nb_held < BURST && f->sent + f->nb_held < f->total) {
		uint32_t seq = f->sent + f->nb_held;
		struct rte_mbuf *m = make_frame(seq, f->sizes != NULL ?
						f->sizes[seq % f->nb_sizes] : size_of(seq));

		if (m == NULL) {
			break;
		}
		f->held[f->nb_held++] = m;
	}
	if (f->nb_held == 0) {
		return;
	}
	n = rte_eth_tx_burst(f->src, 0, f->held, f->nb_held);
	if (n < f->nb_held) {
		f->short_bursts++;
	}
	for (k = n; k < f->nb_held; k++) {
		f->held[k - n] = f->held[k];
	}
	f->nb_held = (uint16_t)(f->nb_held - n);
	f->sent += n;
}

static void
flow_rx(struct flow *f)
{
	struct rte_mbuf *rx[BURST];
	uint16_t n, i;

	n = rte_eth_rx_burst(f->dst, 0, rx, BURST);
	for (i = 0; i < n; i++) {
		if (!check_frame(rx[i], f->recvd)) {
			f->bad++;
		}
		f->max_segs = RTE_MAX(f->max_segs, (uint32_t)rx[i]->nb_segs);
		f->recvd++;
		rte_pktmbuf_free(rx[i]);
	}
}

static void
flow_drop_held(struct flow *f)
{
	rte_pktmbuf_free_bulk(f->held, f->nb_held);
	f->nb_held = 0;
}

/* Run flows until every frame arrived or the time is up; true when all did. */
static bool
run_flows(struct flow *f, unsigned int nb, uint32_t timeout_ms)
{
	uint64_t deadline = now_ms() + timeout_ms;
	unsigned int i;
	bool done = false;

	while (!done && now_ms() < deadline) {
		done = true;
		for (i = 0; i < nb; i++) {
			flow_tx(&f[i]);
			flow_rx(&f[i]);
			if (f[i].recvd < f[i].total) {
				done = false;
			}
		}
	}
	for (i = 0; i < nb; i++) {
		flow_drop_held(&f[i]);
	}
	return done;
}

static int
make_cport(void)
{
	char spec[96];

	snprintf(spec, sizeof(spec), "net_rpci_tcp%u,connect=127.0.0.1:%u", g_cport_gen++,
		 g_tcp_port);
	if (rpci_port_tcp_create(spec, &g_cport) < 0) {
		return -1;
	}
	return rpci_port_init(g_cport, 9000, 1024, g_pool, NULL, NULL);
}

static void
test_spec_errors(void)
{
	uint16_t p;

	CU_ASSERT(rpci_port_tcp_is_spec("net_rpci_tcp0,listen=1.2.3.4:5"));
	CU_ASSERT(!rpci_port_tcp_is_spec("net_memif0,role=server"));
	CU_ASSERT(!rpci_port_tcp_is_spec(NULL));
	CU_ASSERT_EQUAL(rpci_port_tcp_create("net_rpci_tcp9", &p), -EINVAL);
	CU_ASSERT_EQUAL(rpci_port_tcp_create("net_rpci_tcp9,listen=1.2.3.4", &p), -EINVAL);
	CU_ASSERT_EQUAL(rpci_port_tcp_create("net_rpci_tcp9,connect=127.0.0.1:0", &p), -EINVAL);
	CU_ASSERT_EQUAL(rpci_port_tcp_create("net_rpci_tcp9,connect=host:80", &p), -EINVAL);
	CU_ASSERT_EQUAL(rpci_port_tcp_create("net_rpci_tcp9,listen=127.0.0.1:1,"
					     "connect=127.0.0.1:1", &p), -EINVAL);
	CU_ASSERT_EQUAL(rpci_port_tcp_create("net_rpci_tcp9,listen=127.0.0.1:1,bogus=1", &p),
			-EINVAL);
	CU_ASSERT_EQUAL(rpci_port_tcp_create("net_rpci_tcp9,connect=127.0.0.1:99,mac=zz", &p),
			-EINVAL);
	CU_ASSERT_EQUAL(rpci_port_tcp_create("net_rpci_tcp9,connect=127.0.0.1:99,sndbuf=x", &p),
			-EINVAL);
	CU_ASSERT_EQUAL(rpci_port_tcp_create("net_rpci_tcp9,connect=127.0.0.1:99,sndbuf=65M", &p),
			-EINVAL);
	CU_ASSERT_EQUAL(rpci_port_tcp_create("net_rpci_tcp9,connect=127.0.0.1:99,sndbuf=1KB", &p),
			-EINVAL);
	/* a good one, with the options: made, then closed */
	CU_ASSERT_EQUAL_FATAL(rpci_port_tcp_create("net_rpci_tcp9,connect=127.0.0.1:99,"
						   "sndbuf=256K,mac=02:00:00:00:00:09", &p), 0);
	CU_ASSERT(rpci_port_is_tcp(p));
	rpci_port_close(p);
	CU_ASSERT(!rpci_port_is_tcp(p));
	/* the listening port's address is taken */
	{
		char spec[96];

		snprintf(spec, sizeof(spec), "net_rpci_tcp9,listen=127.0.0.1:%u", g_tcp_port);
		CU_ASSERT_EQUAL(rpci_port_tcp_create(spec, &p), -EADDRINUSE);
	}
	CU_ASSERT(!rpci_port_is_tcp(RTE_MAX_ETHPORTS - 1));
}

static void
test_link_up(void)
{
	struct rpci_port_info info;

	CU_ASSERT_FATAL(wait_both_up());
	CU_ASSERT(rpci_port_is_tcp(g_lport));
	CU_ASSERT(rpci_port_is_tcp(g_cport));
	/* what the link is told about the port */
	rpci_port_close(g_cport);
	CU_ASSERT_FATAL(rpci_port_tcp_create("net_rpci_tcp50,connect=127.0.0.1:1", &g_cport) == 0);
	CU_ASSERT_EQUAL(rpci_port_init(g_cport, 9000, 1024, g_pool, NULL, &info), 0);
	CU_ASSERT_STRING_EQUAL(info.driver, "net_rpci_tcp");
	CU_ASSERT(!info.is_memif);
	/* frames of the link's largest, the payload CRC left to TCP */
	CU_ASSERT_EQUAL(info.kind, RPCI_PORT_TCP);
	CU_ASSERT_EQUAL(info.frame_max, RPCI_LINK_FRAME_MAX);
	CU_ASSERT(!info.crc_payload);
	CU_ASSERT(info.multi_seg);
	/* nothing listens on port 1: never up */
	CU_ASSERT_EQUAL(rpci_port_wait_up(g_cport, 100), -ETIMEDOUT);
	rpci_port_close(g_cport);
	CU_ASSERT_FATAL(make_cport() == 0);
	CU_ASSERT_FATAL(wait_both_up());
}

static void
test_both_ways(void)
{
	struct flow f[2] = {
		{ .src = g_lport, .dst = g_cport, .total = 3000 },
		{ .src = g_cport, .dst = g_lport, .total = 3000 },
	};
	struct rpci_port_tcp_stats sl0, sc0, sl, sc;

	CU_ASSERT_FATAL(rpci_port_tcp_stats_get(g_lport, &sl0) == 0);
	CU_ASSERT_FATAL(rpci_port_tcp_stats_get(g_cport, &sc0) == 0);
	CU_ASSERT(run_flows(f, 2, 30000));
	CU_ASSERT_EQUAL(f[0].recvd, 3000);
	CU_ASSERT_EQUAL(f[1].recvd, 3000);
	CU_ASSERT_EQUAL(f[0].bad, 0);
	CU_ASSERT_EQUAL(f[1].bad, 0);
	CU_ASSERT_FATAL(rpci_port_tcp_stats_get(g_lport, &sl) == 0);
	CU_ASSERT_FATAL(rpci_port_tcp_stats_get(g_cport, &sc) == 0);
	CU_ASSERT_EQUAL(sl.opackets - sl0.opackets, 3000);
	CU_ASSERT_EQUAL(sl.ipackets - sl0.ipackets, 3000);
	CU_ASSERT_EQUAL(sc.opackets - sc0.opackets, 3000);
	CU_ASSERT_EQUAL(sc.ipackets - sc0.ipackets, 3000);
	CU_ASSERT_EQUAL(sl.obytes - sl0.obytes, sc.ibytes - sc0.ibytes);
	CU_ASSERT_EQUAL(sl.ierrors, 0);
	CU_ASSERT_EQUAL(sc.ierrors, 0);
}

/*
 * Frames of up to the link's largest, both ways: into whole-frame mbufs
 * they arrive in one segment, into 2 KiB mbufs as chains.
 */
static void
test_large_frames(void)
{
	static const uint32_t sizes[] = { 16384, 40001, 61846, FRAME_MAX, FRAME_MAX - 1, 60 };
	struct flow f[2] = {
		{ .src = g_lport, .dst = g_cport, .total = 600, .sizes = sizes,
		  .nb_sizes = RTE_DIM(sizes) },
		{ .src = g_cport, .dst = g_lport, .total = 600, .sizes = sizes,
		  .nb_sizes = RTE_DIM(sizes) },
	};
	struct rpci_port_tcp_stats sl0, sl;

	CU_ASSERT_FATAL(rpci_port_tcp_stats_get(g_lport, &sl0) == 0);
	CU_ASSERT(run_flows(f, 2, 30000));
	CU_ASSERT_EQUAL(f[0].recvd, 600);
	CU_ASSERT_EQUAL(f[1].recvd, 600);
	CU_ASSERT_EQUAL(f[0].bad + f[1].bad, 0);
	/* the connecting port receives into 2 KiB mbufs, the listening one whole frames */
	CU_ASSERT(f[0].max_segs > 30);
	CU_ASSERT_EQUAL(f[1].max_segs, 1);
	CU_ASSERT_FATAL(rpci_port_tcp_stats_get(g_lport, &sl) == 0);
	CU_ASSERT_EQUAL(sl.ierrors, sl0.ierrors);
	CU_ASSERT_EQUAL(sl.rx_nombuf, sl0.rx_nombuf);
}

/*
 * Fill the kernel: send without receiving until a burst comes back short,
 * then receive everything. Sizes that are not multiples of anything make
 * the kernel take the last frame in part.
 */
static void
test_partial_writes(void)
{
	struct rpci_port_tcp_stats st0, st;
	unsigned int round;

	CU_ASSERT_FATAL(rpci_port_tcp_stats_get(g_cport, &st0) == 0);
	st = st0;
	/* the kernel may cut at a frame's end: a few rounds until it cut one */
	for (round = 0; round < 5 && st.tx_partial == st0.tx_partial; round++) {
		struct flow f = { .src = g_cport, .dst = g_lport, .total = 200000 };
		uint64_t deadline = now_ms() + 20000;
		uint32_t at_short;

		while (f.short_bursts == 0 && f.sent < f.total && now_ms() < deadline) {
			flow_tx(&f);
		}
		CU_ASSERT_FATAL(f.short_bursts > 0);
		at_short = f.sent;
		CU_ASSERT(at_short > 10);
		/* what the receiver gets: every frame taken, whole and in order */
		f.total = at_short;
		flow_drop_held(&f);
		deadline = now_ms() + 20000;
		while (f.recvd < f.total && now_ms() < deadline) {
			struct rte_mbuf *none[1];

			/* the sender's bursts push its pending bytes on */
			CU_ASSERT_EQUAL(rte_eth_rx_burst(g_cport, 0, none, 1), 0);
			flow_rx(&f);
		}
		CU_ASSERT_EQUAL(f.recvd, at_short);
		CU_ASSERT_EQUAL(f.bad, 0);
		CU_ASSERT_FATAL(rpci_port_tcp_stats_get(g_cport, &st) == 0);
		printf("(%u frames, %u short bursts, %" PRIu64 " cut) ", at_short, f.short_bursts,
		       st.tx_partial - st0.tx_partial);
	}
	CU_ASSERT(st.tx_partial > st0.tx_partial);
	CU_ASSERT(rpci_port_is_up(g_lport) && rpci_port_is_up(g_cport));
}

/* Poll a port until its link goes down; true if it did in time. */
static bool
wait_down(uint16_t port, uint32_t timeout_ms)
{
	uint64_t deadline = now_ms() + timeout_ms;
	struct rte_mbuf *rx[BURST];
	uint16_t n;

	while (now_ms() < deadline) {
		n = rte_eth_rx_burst(port, 0, rx, BURST);
		rte_pktmbuf_free_bulk(rx, n);
		if (!rpci_port_is_up(port)) {
			return true;
		}
		nap_us(1000);
	}
	return false;
}

static void
exchange_ok(uint32_t frames)
{
	struct flow f[2] = {
		{ .src = g_lport, .dst = g_cport, .total = frames },
		{ .src = g_cport, .dst = g_lport, .total = frames },
	};

	CU_ASSERT(run_flows(f, 2, 20000));
	CU_ASSERT_EQUAL(f[0].bad + f[1].bad, 0);
}

static void
test_disconnect(void)
{
	struct rpci_port_tcp_stats st0, st;
	struct rte_mbuf *m;

	/* the connecting side closes: the listener goes down, a new one connects */
	CU_ASSERT_FATAL(rpci_port_tcp_stats_get(g_lport, &st0) == 0);
	rpci_port_close(g_cport);
	CU_ASSERT(!rpci_port_is_tcp(g_cport));
	CU_ASSERT(wait_down(g_lport, 3000));
	/* a burst on a port that is down takes nothing */
	m = make_frame(0, 60);
	CU_ASSERT_FATAL(m != NULL);
	CU_ASSERT_EQUAL(rte_eth_tx_burst(g_lport, 0, &m, 1), 0);
	rte_pktmbuf_free(m);
	CU_ASSERT_FATAL(make_cport() == 0);
	CU_ASSERT_FATAL(wait_both_up());
	exchange_ok(500);
	CU_ASSERT_FATAL(rpci_port_tcp_stats_get(g_lport, &st) == 0);
	CU_ASSERT_EQUAL(st.disconnects - st0.disconnects, 1);
	CU_ASSERT_EQUAL(st.connects - st0.connects, 1);

	/* the listening side drops the connection: the other side reconnects */
	CU_ASSERT_FATAL(rpci_port_tcp_stats_get(g_cport, &st0) == 0);
	CU_ASSERT_EQUAL(rpci_port_tcp_disconnect(g_lport), 0);
	CU_ASSERT(!rpci_port_is_up(g_lport));
	CU_ASSERT(wait_down(g_cport, 3000));
	CU_ASSERT_FATAL(wait_both_up());
	CU_ASSERT_FATAL(rpci_port_tcp_stats_get(g_cport, &st) == 0);
	CU_ASSERT(st.connects - st0.connects >= 1);
	exchange_ok(500);
}

/* A raw socket to the listening port. */
static int
raw_connect(void)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0) {
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(g_tcp_port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Send bytes from a raw peer; count the frames and errors the listener sees. */
static void
garbage(const uint8_t *bytes, size_t len, uint32_t frames_before)
{
	struct rpci_port_tcp_stats st0, st;
	struct rte_mbuf *rx[BURST];
	uint64_t deadline;
	uint32_t got = 0;
	uint16_t n, i;
	int fd;

	CU_ASSERT_FATAL(rpci_port_tcp_stats_get(g_lport, &st0) == 0);
	fd = raw_connect();
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(send(fd, bytes, len, MSG_NOSIGNAL), (ssize_t)len);
	deadline = now_ms() + 3000;
	do {
		n = rte_eth_rx_burst(g_lport, 0, rx, BURST);
		for (i = 0; i < n; i++) {
			CU_ASSERT(check_frame(rx[i], got));
			got++;
		}
		rte_pktmbuf_free_bulk(rx, n);
		CU_ASSERT_FATAL(rpci_port_tcp_stats_get(g_lport, &st) == 0);
	} while (st.ierrors == st0.ierrors && now_ms() < deadline);
	CU_ASSERT_EQUAL(st.ierrors - st0.ierrors, 1);
	CU_ASSERT_EQUAL(got, frames_before);
	CU_ASSERT(!rpci_port_is_up(g_lport) || st.connects > st0.connects);
	close(fd);
}

static void
test_garbage(void)
{
	uint8_t bytes[4096];
	struct rte_mbuf *m;
	size_t off = 0;
	uint32_t len;

	/* a length of 0xffff */
	memset(bytes, 0xff, 64);
	garbage(bytes, 64, 0);
	/* one byte longer than the largest frame */
	bytes[0] = (uint8_t)((FRAME_MAX + 1) >> 8);
	bytes[1] = (uint8_t)(FRAME_MAX + 1);
	garbage(bytes, 64, 0);
	/* shorter than an Ethernet header */
	bytes[0] = 0;
	bytes[1] = 5;
	garbage(bytes, 7, 0);
	/* a good frame then a length of 0 */
	m = make_frame(0, 1000);
	CU_ASSERT_FATAL(m != NULL);
	len = m->pkt_len;
	bytes[0] = (uint8_t)(len >> 8);
	bytes[1] = (uint8_t)len;
	CU_ASSERT_FATAL(len == 1000);
	memcpy(bytes + 2, rte_pktmbuf_mtod(m, const uint8_t *), len);
	off = 2 + len;
	bytes[off] = 0;
	bytes[off + 1] = 0;
	garbage(bytes, off + 2, 1);
	rte_pktmbuf_free(m);
	/* the real peer was replaced by the raw ones: it comes back, and works */
	CU_ASSERT_FATAL(wait_both_up());
	exchange_ok(300);
}

/* Frames of a raw peer: n frames of 100 bytes, each with its length prefix. */
static void
raw_send_frames(int fd, uint32_t first, uint32_t n)
{
	uint8_t bytes[2 + 100];
	struct rte_mbuf *m;
	uint32_t i;

	for (i = 0; i < n; i++) {
		m = make_frame(first + i, 100);
		CU_ASSERT_FATAL(m != NULL);
		bytes[0] = 0;
		bytes[1] = 100;
		memcpy(bytes + 2, rte_pktmbuf_mtod(m, const uint8_t *), 100);
		rte_pktmbuf_free(m);
		CU_ASSERT_EQUAL(send(fd, bytes, sizeof(bytes), MSG_NOSIGNAL),
				(ssize_t)sizeof(bytes));
	}
}

/*
 * Probation (the link authenticates its sessions): a new peer does not take
 * the port from the current one by connecting. Its frames are delivered,
 * marked as its own; without one that verifies it is dropped (too many
 * frames; one candidate too many); one whose frame verifies takes the port
 * over, and the frames the port sends go to it.
 */
static void
test_takeover(void)
{
	struct rpci_port_tcp_stats st0, st;
	struct rte_mbuf *rx[BURST], *m, *verified = NULL;
	uint32_t cur = 0, from_cand = 0, i;
	uint64_t deadline;
	uint16_t n, k;
	uint8_t buf[256];
	int fd, extra[RPCI_PORT_TCP_CANDIDATES + 1];
	ssize_t r;

	CU_ASSERT_FATAL(wait_both_up());
	CU_ASSERT_EQUAL(rpci_port_tcp_set_probation(g_lport, true), 0);
	CU_ASSERT_EQUAL(rpci_port_tcp_set_probation(UINT16_MAX, true), -ENODEV);
	/* the current peer's frames carry its mark */
	m = make_frame(0, 200);
	CU_ASSERT_FATAL(m != NULL);
	CU_ASSERT_EQUAL(rte_eth_tx_burst(g_cport, 0, &m, 1), 1);
	deadline = now_ms() + 2000;
	do {
		n = rte_eth_rx_burst(g_lport, 0, rx, 1);
		rpci_port_is_up(g_cport);
	} while (n == 0 && now_ms() < deadline);
	CU_ASSERT_FATAL(n == 1);
	cur = rx[0]->hash.usr;
	rte_pktmbuf_free(rx[0]);
	CU_ASSERT_FATAL(rpci_port_tcp_stats_get(g_lport, &st0) == 0);

	/* a peer whose frames never verify: delivered until it is dropped */
	fd = raw_connect();
	CU_ASSERT_FATAL(fd >= 0);
	raw_send_frames(fd, 0, RPCI_PORT_TCP_PROBATION_FRAMES + 8);
	deadline = now_ms() + 3000;
	do {
		n = rte_eth_rx_burst(g_lport, 0, rx, BURST);
		for (k = 0; k < n; k++) {
			from_cand += rx[k]->hash.usr != cur;
		}
		rte_pktmbuf_free_bulk(rx, n);
		rpci_port_is_up(g_cport);
		CU_ASSERT_FATAL(rpci_port_tcp_stats_get(g_lport, &st) == 0);
	} while (st.takeovers_refused == st0.takeovers_refused && now_ms() < deadline);
	CU_ASSERT_EQUAL(st.takeovers_refused - st0.takeovers_refused, 1);
	CU_ASSERT(from_cand >= 1 && from_cand <= RPCI_PORT_TCP_PROBATION_FRAMES + BURST);
	CU_ASSERT_EQUAL(st.disconnects, st0.disconnects);
	close(fd);
	/* the current peer never noticed */
	exchange_ok(200);

	/* one candidate more than the port keeps: the oldest goes */
	CU_ASSERT_FATAL(rpci_port_tcp_stats_get(g_lport, &st0) == 0);
	for (i = 0; i < RTE_DIM(extra); i++) {
		extra[i] = raw_connect();
		CU_ASSERT_FATAL(extra[i] >= 0);
		deadline = now_ms() + 100; /* the port looks for peers every 10 ms */
		while (now_ms() < deadline) {
			n = rte_eth_rx_burst(g_lport, 0, rx, BURST);
			rte_pktmbuf_free_bulk(rx, n);
		}
	}
	CU_ASSERT_FATAL(rpci_port_tcp_stats_get(g_lport, &st) == 0);
	CU_ASSERT_EQUAL(st.takeovers_refused - st0.takeovers_refused, 1);
	for (i = 0; i < RTE_DIM(extra); i++) {
		close(extra[i]);
	}

	/* a peer whose frame verifies takes the port over */
	fd = raw_connect();
	CU_ASSERT_FATAL(fd >= 0);
	raw_send_frames(fd, 0, 1);
	deadline = now_ms() + 2000;
	while (verified == NULL && now_ms() < deadline) {
		n = rte_eth_rx_burst(g_lport, 0, rx, BURST);
		for (k = 0; k < n; k++) {
			if (verified == NULL && rx[k]->hash.usr != cur) {
				verified = rx[k];
			} else {
				rte_pktmbuf_free(rx[k]);
			}
		}
	}
	CU_ASSERT_FATAL(verified != NULL);
	CU_ASSERT_FATAL(rpci_port_tcp_stats_get(g_lport, &st0) == 0);
	rpci_port_tcp_frame_verified(g_lport, verified);
	rte_pktmbuf_free(verified);
	CU_ASSERT_FATAL(rpci_port_tcp_stats_get(g_lport, &st) == 0);
	CU_ASSERT_EQUAL(st.takeovers - st0.takeovers, 1);
	CU_ASSERT_EQUAL(st.disconnects - st0.disconnects, 1);
	m = make_frame(7, 100);
	CU_ASSERT_FATAL(m != NULL);
	CU_ASSERT_EQUAL(rte_eth_tx_burst(g_lport, 0, &m, 1), 1);
	r = recv(fd, buf, sizeof(buf), 0);
	CU_ASSERT(r == 102 && buf[1] == 100 && buf[2 + 14] == 7);
	/* it goes: the real peer, which reconnected meanwhile, has the port again */
	close(fd);
	CU_ASSERT_EQUAL(rpci_port_tcp_set_probation(g_lport, false), 0);
	CU_ASSERT_FATAL(wait_both_up());
	exchange_ok(200);
}

static void
test_close_all(void)
{
	struct rte_mbuf *m;
	unsigned int avail;

	/* leave frames in flight, then close: the mbufs come back */
	m = make_frame(1, 2000);
	CU_ASSERT_FATAL(m != NULL);
	CU_ASSERT_EQUAL(rte_eth_tx_burst(g_cport, 0, &m, 1), 1);
	rpci_port_close(g_cport);
	rpci_port_close(g_lport);
	CU_ASSERT(!rpci_port_is_tcp(g_lport));
	CU_ASSERT(!rte_eth_dev_is_valid_port(g_lport));
	avail = rte_mempool_avail_count(g_pool);
	CU_ASSERT_EQUAL(avail, NB_MBUFS);
	CU_ASSERT_EQUAL(rte_mempool_avail_count(g_big_pool), BIG_MBUFS);
}

/* Remove EAL's runtime directory of this run (its name has our PID). */
static void
remove_runtime_dir(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d = opendir(dir);

	if (d == NULL) {
		return;
	}
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
			continue;
		}
		if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) < (int)sizeof(path)) {
			unlink(path);
		}
	}
	closedir(d);
	rmdir(dir);
}

int
main(int argc, char **argv)
{
	char prefix[64];
	char rundir[PATH_MAX];
	char *eal_args[] = {
		argv[0], "--no-huge", "-m", "128", "--no-pci", "--file-prefix", prefix,
		"-l", "0", "--log-level", "rpci.*:warning",
	};
	CU_pSuite suite;
	unsigned int n;

	RTE_SET_USED(argc);
	snprintf(prefix, sizeof(prefix), "rpci-test-tcp-port-%d", (int)getpid());
	if (rte_eal_init((int)RTE_DIM(eal_args), eal_args) < 0) {
		printf("EAL init failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	snprintf(rundir, sizeof(rundir), "%s", rte_eal_get_runtime_dir());
	g_pool = rte_pktmbuf_pool_create("tcp_test", NB_MBUFS, 0, 0,
					 RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	g_big_pool = rpci_link_rx_pool_create("tcp_big", BIG_MBUFS, FRAME_MAX,
					      (int)rte_socket_id());
	if (g_pool == NULL || g_big_pool == NULL ||
	    rpci_port_tcp_create("net_rpci_tcp0,listen=127.0.0.1:0", &g_lport) != 0 ||
	    rpci_port_tcp_local_port(g_lport, &g_tcp_port) != 0 || g_tcp_port == 0 ||
	    rpci_port_init(g_lport, 9000, 1024, g_big_pool, NULL, NULL) != 0 ||
	    make_cport() != 0) {
		printf("cannot set the ports up\n");
		rte_eal_cleanup();
		remove_runtime_dir(rundir);
		return 1;
	}
	if (CU_initialize_registry() != CUE_SUCCESS) {
		rte_eal_cleanup();
		remove_runtime_dir(rundir);
		return 1;
	}
	suite = CU_add_suite("tcp_port", NULL, NULL);
	if (suite == NULL) {
		goto registry_fail;
	}
	CU_ADD_TEST(suite, test_spec_errors);
	CU_ADD_TEST(suite, test_link_up);
	CU_ADD_TEST(suite, test_both_ways);
	CU_ADD_TEST(suite, test_large_frames);
	CU_ADD_TEST(suite, test_partial_writes);
	CU_ADD_TEST(suite, test_disconnect);
	CU_ADD_TEST(suite, test_garbage);
	CU_ADD_TEST(suite, test_takeover);
	CU_ADD_TEST(suite, test_close_all);

	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	n = CU_get_number_of_failures();
	CU_cleanup_registry();
	rte_mempool_free(g_pool);
	rte_mempool_free(g_big_pool);
	rte_eal_cleanup();
	remove_runtime_dir(rundir);
	return n ? 1 : 0;

registry_fail:
	CU_cleanup_registry();
	rte_eal_cleanup();
	remove_runtime_dir(rundir);
	return 1;
}
