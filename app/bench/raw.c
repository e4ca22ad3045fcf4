/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * rpci-bench's raw frames (bench.h, bench_frame.h): Ethernet frames of our
 * own EtherType sent straight on the client's port, which rpci-server's
 * link hands to its rx_other callback and answers. No link header, no
 * sequence, no CRC: the port, the PMD and the two poll loops alone.
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "bench.h"
#include "bench_frame.h"
#include "rpci_link.h"

/* Our frames in flight at most: the port's ring and a burst in hand. */
#define RAW_POOL_MBUFS 4095
/* ... or fewer, of large frames: at most this many bytes of mbufs. */
#define RAW_POOL_BYTES (32u << 20)
#define RAW_BURST 32
/* A COUNT or RESET that got no answer is sent again this often, this many times. */
#define RAW_RETRY_MS 200
#define RAW_RETRIES 10
/* A blast that finds the port's ring full waits this long before it tries again. */
#define RAW_FULL_WAIT_US 2

static uint16_t
raw_rx(struct raw_port *rp, struct rte_mbuf **pkts, uint16_t n)
{
	if (rp->guard) {
		return rpci_port_rx_burst_guarded(rp->port_id, 0, pkts, n);
	}
	return rte_eth_rx_burst(rp->port_id, 0, pkts, n);
}

static uint16_t
raw_tx(struct raw_port *rp, struct rte_mbuf **pkts, uint16_t n)
{
	if (rp->guard) {
		return rpci_port_tx_burst_guarded(rp->port_id, 0, pkts, n);
	}
	return rte_eth_tx_burst(rp->port_id, 0, pkts, n);
}

int
raw_port_init(struct raw_port *rp, const struct rpci_conf *conf,
	      const struct rpci_conf_host *host, const struct rpci_conf_host *server,
	      uint32_t max_frame, char *err, size_t err_len)
{
	struct rte_eth_dev_info info;
	char name[RTE_MEMPOOL_NAMESIZE];
	uint32_t nb;
	int ret;

	memset(rp, 0, sizeof(*rp));
	if (conf == NULL || host == NULL || server == NULL) {
		snprintf(err, err_len, "no configuration, host or server");
		return -EINVAL;
	}
	rp->port_id = host->port;
	ret = rte_eth_dev_info_get(rp->port_id, &info);
	if (ret < 0) {
		snprintf(err, err_len, "port %u: %s", rp->port_id, strerror(-ret));
		return ret;
	}
	rp->guard = info.driver_name != NULL && strcmp(info.driver_name, "net_memif") == 0;
	memcpy(rp->mac.addr_bytes, host->mac, sizeof(rp->mac.addr_bytes));
	memcpy(rp->peer.addr_bytes, server->mac, sizeof(rp->peer.addr_bytes));
	rp->max_frame = RTE_MAX(max_frame, (uint32_t)RAW_FRAME_MIN);
	rp->idle_adaptive = host->idle == RPCI_IDLE_ADAPTIVE;
	rp->spin_polls = conf->link.spin_polls;
	rp->sleep_max_us = conf->link.sleep_max_us;
	rp->timeout_tsc = rte_get_timer_hz() / 1000 * RAW_RETRY_MS;
	snprintf(name, sizeof(name), "bench_raw%u", rp->port_id);
	nb = RTE_MIN((uint32_t)RAW_POOL_MBUFS, RAW_POOL_BYTES / rp->max_frame);
	nb = RTE_MAX(255u, nb);
	rp->pool = rte_pktmbuf_pool_create(name, nb, RTE_MIN(256u, nb / 8), 0,
					   (uint16_t)(RTE_PKTMBUF_HEADROOM + rp->max_frame),
					   (int)rte_socket_id());
	if (rp->pool == NULL) {
		snprintf(err, err_len, "cannot create a pool of %u mbufs of %u bytes: %s",
			 nb, rp->max_frame, rte_strerror(rte_errno));
		return -ENOMEM;
	}
	return 0;
}

void
raw_port_fini(struct raw_port *rp)
{
	rte_mempool_free(rp->pool);
	rp->pool = NULL;
}

void
raw_drain(struct raw_port *rp, uint32_t ms)
{
	struct rte_mbuf *pkts[RAW_BURST];
	uint64_t end = rte_get_timer_cycles() + rte_get_timer_hz() / 1000 * ms;
	uint16_t n, i;

	do {
		n = raw_rx(rp, pkts, RAW_BURST);
		for (i = 0; i < n; i++) {
			rte_pktmbuf_free(pkts[i]);
		}
		if (n == 0) {
			rte_delay_us_sleep(50);
		}
	} while (rte_get_timer_cycles() < end);
}

/* A frame of ours: headers written, the rest left as the mbuf holds it. */
static struct rte_mbuf *
raw_frame(struct raw_port *rp, uint32_t frame_len, uint8_t op, uint64_t seq)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(rp->pool);
	struct rte_ether_hdr *eth;
	struct bench_hdr *h;

	if (m == NULL) {
		return NULL;
	}
	eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, (uint16_t)frame_len);
	if (eth == NULL) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	rte_ether_addr_copy(&rp->peer, &eth->dst_addr);
	rte_ether_addr_copy(&rp->mac, &eth->src_addr);
	eth->ether_type = rte_cpu_to_be_16(BENCH_ETHERTYPE);
	h = (struct bench_hdr *)(eth + 1);
	memset(h, 0, sizeof(*h));
	h->magic = rte_cpu_to_be_32(BENCH_MAGIC);
	h->op = op;
	h->seq = rte_cpu_to_be_64(seq);
	return m;
}

/* Clamp a frame length to what the port carries. */
static uint32_t
raw_len(const struct raw_port *rp, uint32_t frame_len)
{
	uint32_t len = RTE_MIN(frame_len, rp->max_frame);

	return RTE_MAX(len, (uint32_t)RAW_FRAME_MIN);
}

/* Hand one frame to the port, retrying while its ring is full. 0 or -ETIMEDOUT. */
static int
raw_send_one(struct raw_port *rp, struct rte_mbuf *m)
{
	uint64_t deadline = rte_get_timer_cycles() + rp->timeout_tsc;

	while (raw_tx(rp, &m, 1) == 0) {
		if (rte_get_timer_cycles() > deadline) {
			rte_pktmbuf_free(m);
			return -ETIMEDOUT;
		}
	}
	return 0;
}

/*
 * Wait for the answer with op and seq; *frames from a COUNT answer. Other
 * frames are counted (stray) and freed. Waits as the host's idle says. 0 or
 * -ETIMEDOUT.
 */
static int
raw_wait(struct raw_port *rp, uint8_t op, uint64_t seq, uint64_t *frames)
{
	struct rte_mbuf *pkts[RAW_BURST];
	uint64_t deadline = rte_get_timer_cycles() + rp->timeout_tsc;
	struct rpci_idle idle;
	bool found = false;
	uint16_t n, i;

	rpci_idle_init(&idle, rp->idle_adaptive, rp->spin_polls, rp->sleep_max_us);
	while (!found) {
		n = raw_rx(rp, pkts, RAW_BURST);
		for (i = 0; i < n; i++) {
			struct rte_mbuf *m = pkts[i];
			const struct rte_ether_hdr *eth;
			const struct bench_hdr *h;

			if (m->data_len >= sizeof(*eth) + sizeof(*h)) {
				eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
				h = (const struct bench_hdr *)(eth + 1);
				if (eth->ether_type == rte_cpu_to_be_16(BENCH_ETHERTYPE) &&
				    h->magic == rte_cpu_to_be_32(BENCH_MAGIC) && h->op == op &&
				    rte_be_to_cpu_64(h->seq) == seq) {
					found = true;
					if (frames != NULL) {
						*frames = rte_be_to_cpu_64(h->frames);
					}
					rte_pktmbuf_free(m);
					continue;
				}
			}
			rp->stray++;
			rte_pktmbuf_free(m);
		}
		if (found) {
			break;
		}
		if (rte_get_timer_cycles() > deadline) {
			return -ETIMEDOUT;
		}
		rpci_idle_account(&idle, n);
	}
	return 0;
}

int
raw_rtt_once(struct raw_port *rp, uint32_t frame_len, uint64_t *cycles)
{
	uint64_t seq = ++rp->seq, t0;
	struct rte_mbuf *m;
	int ret;

	m = raw_frame(rp, raw_len(rp, frame_len), BENCH_OP_ECHO, seq);
	if (m == NULL) {
		return -ENOMEM;
	}
	t0 = rte_rdtsc();
	ret = raw_send_one(rp, m);
	if (ret == 0) {
		ret = raw_wait(rp, BENCH_OP_ECHO, seq, NULL);
	}
	*cycles = rte_rdtsc() - t0;
	return ret;
}

/* A RESET or COUNT and its answer, sent again if lost. 0, -ETIMEDOUT, -ENOMEM. */
static int
raw_control(struct raw_port *rp, uint8_t op, uint64_t *frames)
{
	unsigned int tries;
	int ret = -ETIMEDOUT;

	for (tries = 0; tries < RAW_RETRIES && ret == -ETIMEDOUT; tries++) {
		uint64_t seq = ++rp->seq;
		struct rte_mbuf *m = raw_frame(rp, RAW_FRAME_MIN, op, seq);

		if (m == NULL) {
			return -ENOMEM;
		}
		ret = raw_send_one(rp, m);
		if (ret == 0) {
			ret = raw_wait(rp, op, seq, frames);
		}
	}
	return ret;
}

int
raw_rate_once(struct raw_port *rp, uint32_t frame_len, uint64_t cycles, uint64_t *sent,
	      uint64_t *delivered, uint64_t *elapsed)
{
	struct rte_mbuf *pkts[RAW_BURST], *rx[RAW_BURST];
	uint16_t have = 0, taken, n, i;
	uint64_t t0, end, count = 0;
	uint32_t len = raw_len(rp, frame_len);
	int ret;

	*sent = 0;
	*delivered = 0;
	*elapsed = 0;
	ret = raw_control(rp, BENCH_OP_RESET, NULL);
	if (ret < 0) {
		return ret;
	}
	t0 = rte_rdtsc();
	end = t0 + cycles;
	while (rte_rdtsc() < end) {
		while (have < RAW_BURST) {
			struct rte_mbuf *m = raw_frame(rp, len, BENCH_OP_SINK, ++rp->seq);

			if (m == NULL) {
				break;
			}
			pkts[have++] = m;
		}
		taken = raw_tx(rp, pkts, have);
		*sent += taken;
		if (taken < have) {
			memmove(pkts, pkts + taken, (size_t)(have - taken) * sizeof(pkts[0]));
		}
		have = (uint16_t)(have - taken);
		if (have == 0) {
			continue;
		}
		/*
		 * The ring is full: let the server drain it rather than hammer
		 * its shared indexes (what the link's credits spare it). Take
		 * what arrived meanwhile: nothing is expected back.
		 */
		rte_delay_us_block(RAW_FULL_WAIT_US);
		n = raw_rx(rp, rx, RAW_BURST);
		for (i = 0; i < n; i++) {
			rp->stray++;
			rte_pktmbuf_free(rx[i]);
		}
	}
	for (i = 0; i < have; i++) {
		rte_pktmbuf_free(pkts[i]);
	}
	ret = raw_control(rp, BENCH_OP_COUNT, &count);
	*elapsed = rte_rdtsc() - t0;
	*delivered = count;
	return ret;
}
