/* SPDX-License-Identifier: BSD-3-Clause */

/* Port bring-up for the link: what every rpci process does with its port. */

#include <errno.h>
#include <string.h>
#include <time.h>

#include <rte_bus.h>
#include <rte_cycles.h>
#include <rte_dev.h>
#include <rte_devargs.h>
#include <rte_ethdev.h>
#include <rte_kvargs.h>

#include "link_private.h"
#include "rpci_port_tcp.h"

/* memif's buffer size, the vdev's bsize (memif's default 2048): a frame must fit one buffer. */
#define MEMIF_BSIZE_DEFAULT 2048

static uint32_t
memif_bsize(const struct rte_eth_dev_info *dev_info)
{
	const struct rte_devargs *da = dev_info->device != NULL ?
		rte_dev_devargs(dev_info->device) : NULL;
	struct rte_kvargs *kv;
	const char *v;
	uint32_t bsize = MEMIF_BSIZE_DEFAULT;
	char *end;
	unsigned long n;

	if (da == NULL || da->args == NULL || da->args[0] == '\0') {
		return bsize;
	}
	kv = rte_kvargs_parse(da->args, NULL);
	if (kv == NULL) {
		return bsize;
	}
	v = rte_kvargs_get(kv, "bsize");
	if (v != NULL) {
		n = strtoul(v, &end, 10);
		/* memif itself refused anything else */
		if (end != v && *end == '\0' && n > 0 && n <= UINT16_MAX) {
			bsize = (uint32_t)n;
		}
	}
	rte_kvargs_free(kv);
	return bsize;
}

int
rpci_port_info_get(uint16_t port_id, uint32_t mtu, struct rpci_port_info *info)
{
	struct rte_eth_dev_info dev_info;
	const struct rte_bus *bus;
	int ret;

	if (!rte_eth_dev_is_valid_port(port_id) || info == NULL) {
		return -ENODEV;
	}
	ret = rte_eth_dev_info_get(port_id, &dev_info);
	if (ret != 0) {
		return ret;
	}
	memset(info, 0, sizeof(*info));
	snprintf(info->driver, sizeof(info->driver), "%s",
		 rpci_port_is_tcp(port_id) ? RPCI_PORT_TCP_PREFIX :
		 dev_info.driver_name ? dev_info.driver_name : "?");
	/* A TCP port's TX gathers chains into its sendmsg() (port_tcp.c). */
	info->multi_seg = (dev_info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) != 0 ||
			  rpci_port_is_tcp(port_id);
	info->is_memif = strstr(info->driver, "memif") != NULL;
	bus = dev_info.device != NULL ? rte_dev_bus(dev_info.device) : NULL;
	info->frame_max = RTE_MIN(mtu + RTE_ETHER_HDR_LEN, (uint32_t)RPCI_LINK_FRAME_MAX);
	info->crc_payload = true;
	if (rpci_port_is_tcp(port_id)) {
		/* A stream: frames of any length its framing takes, checksummed by TCP. */
		info->kind = RPCI_PORT_TCP;
		info->frame_max = RPCI_LINK_FRAME_MAX;
		info->crc_payload = false;
	} else if (info->is_memif) {
		/*
		 * Shared memory: no wire, nothing to corrupt frames. memif in
		 * 22.11 reports a 1518-byte frame, yet copies any frame that
		 * fits its buffers; one that spans two buffers meets its stale
		 * MEMIF_DESC_FLAG_NEXT (doc/design.md), so a frame must fit one.
		 */
		info->kind = RPCI_PORT_MEMIF;
		info->frame_max = RTE_MIN(memif_bsize(&dev_info), (uint32_t)RPCI_LINK_FRAME_MAX);
		info->crc_payload = false;
	} else if (strstr(info->driver, "af_packet") != NULL) {
		/* A kernel interface of any kind: its MTU, and our CRC. */
		info->kind = RPCI_PORT_AF_PACKET;
	} else if (bus != NULL && strcmp(rte_bus_name(bus), "pci") == 0) {
		/* A NIC: its MTU; every frame is checked against its Ethernet FCS. */
		info->kind = RPCI_PORT_PCI;
		info->crc_payload = false;
	} else {
		info->kind = RPCI_PORT_OTHER;
	}
	info->tx_segs_max = RPCI_LINK_SEGS_DEFAULT;
	if (dev_info.tx_desc_lim.nb_mtu_seg_max != 0) {
		info->tx_segs_max = RTE_MIN(info->tx_segs_max,
					    (uint32_t)dev_info.tx_desc_lim.nb_mtu_seg_max);
	}
	if (dev_info.tx_desc_lim.nb_seg_max != 0) {
		info->tx_segs_max = RTE_MIN(info->tx_segs_max,
					    (uint32_t)dev_info.tx_desc_lim.nb_seg_max);
	}
	return 0;
}

int
rpci_port_init(uint16_t port_id, uint32_t mtu, uint16_t nb_desc, struct rte_mempool *pool,
	       const struct rte_ether_addr *mac, struct rpci_port_info *info)
{
	struct rte_eth_conf conf;
	struct rte_eth_dev_info dev_info;
	struct rte_ether_addr cur;
	uint16_t nb_rxd = nb_desc, nb_txd = nb_desc;
	int ret;

	if (!rte_eth_dev_is_valid_port(port_id)) {
		LINK_LOG(ERR, "port %u does not exist (check the host's vdevs)", port_id);
		return -ENODEV;
	}
	ret = rte_eth_dev_info_get(port_id, &dev_info);
	if (ret != 0) {
		LINK_LOG(ERR, "port %u: cannot get its info: %s", port_id, strerror(-ret));
		return ret;
	}
	memset(&conf, 0, sizeof(conf));
	if (mtu != RTE_ETHER_MTU) {
		conf.rxmode.mtu = mtu;
	}
	if (dev_info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) {
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	}
	ret = rte_eth_dev_configure(port_id, 1, 1, &conf);
	if (ret != 0) {
		LINK_LOG(ERR, "port %u: configure (MTU %u) failed: %s", port_id, mtu,
			 strerror(-ret));
		return ret;
	}
	ret = rte_eth_dev_adjust_nb_rx_tx_desc(port_id, &nb_rxd, &nb_txd);
	if (ret != 0) {
		LINK_LOG(ERR, "port %u: descriptors: %s", port_id, strerror(-ret));
		return ret;
	}
	ret = rte_eth_rx_queue_setup(port_id, 0, nb_rxd, rte_eth_dev_socket_id(port_id), NULL,
				     pool);
	if (ret != 0) {
		LINK_LOG(ERR, "port %u: RX queue: %s", port_id, strerror(-ret));
		return ret;
	}
	ret = rte_eth_tx_queue_setup(port_id, 0, nb_txd, rte_eth_dev_socket_id(port_id), NULL);
	if (ret != 0) {
		LINK_LOG(ERR, "port %u: TX queue: %s", port_id, strerror(-ret));
		return ret;
	}
	if (rpci_port_is_tcp(port_id)) {
		ret = link_tcp_port_attach(port_id, pool);
		if (ret != 0) {
			LINK_LOG(ERR, "port %u: TCP callbacks: %s", port_id, strerror(-ret));
			return ret;
		}
	}
	if (mac != NULL && rte_eth_macaddr_get(port_id, &cur) == 0 &&
	    !rte_is_same_ether_addr(&cur, mac)) {
		ret = rte_eth_dev_default_mac_addr_set(port_id, (struct rte_ether_addr *)mac);
		if (ret != 0) {
			/* Frames carry our address anyway; the port just does not know it. */
			LINK_LOG(DEBUG, "port %u: cannot set MAC: %s", port_id, strerror(-ret));
		}
	}
	ret = rte_eth_dev_start(port_id);
	if (ret != 0) {
		LINK_LOG(ERR, "port %u: start failed: %s", port_id, strerror(-ret));
		return ret;
	}
	/* Virtual ports may not filter; ask anyway, failure is harmless. */
	rte_eth_promiscuous_enable(port_id);
	if (info != NULL) {
		ret = rpci_port_info_get(port_id, mtu, info);
		if (ret != 0) {
			LINK_LOG(ERR, "port %u: cannot get its info: %s", port_id, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

bool
rpci_port_is_up(uint16_t port_id)
{
	struct rte_eth_link link;

	if (rpci_port_is_tcp(port_id)) {
		/* Up while connected; asking moves the connection on. */
		return link_tcp_port_up(port_id);
	}
	if (rte_eth_link_get_nowait(port_id, &link) != 0) {
		return false;
	}
	return link.link_status == RTE_ETH_LINK_UP;
}

int
rpci_port_wait_up(uint16_t port_id, uint32_t timeout_ms)
{
	uint64_t deadline = rte_get_timer_cycles() + rte_get_timer_hz() * timeout_ms / 1000;
	struct timespec ts = { .tv_sec = 0, .tv_nsec = 1000000 };

	while (!rpci_port_is_up(port_id)) {
		if (rte_get_timer_cycles() > deadline) {
			return -ETIMEDOUT;
		}
		nanosleep(&ts, NULL);
	}
	return 0;
}

void
rpci_port_close(uint16_t port_id)
{
	if (!rte_eth_dev_is_valid_port(port_id)) {
		return;
	}
	rte_eth_dev_stop(port_id);
	link_tcp_port_detach(port_id);
	rte_eth_dev_close(port_id);
	link_tcp_port_destroy(port_id);
}

/*
 * Guarded bursts, for memif ports.
 *
 * DPDK 22.11's memif PMD unmaps the shared rings from the EAL interrupt
 * thread when its peer goes away (memif_disconnect()), with no
 * synchronization with the lcore that may be inside rx/tx_burst on them at
 * that moment: the lcore then faults on unmapped memory. Upstream has no
 * fix (doc/design.md, "memif"). A process must survive its peer, so bursts
 * on such ports run under a SIGSEGV/SIGBUS handler that returns from the
 * burst as if it had moved nothing. The burst only reads and writes ring
 * memory at the points that can fault; mbufs it allocated before the fault
 * are lost (counted), nothing else is left half done.
 */

#include <setjmp.h>
#include <signal.h>

static __thread sigjmp_buf *t_burst_jmp;
static struct sigaction g_old_segv;
static struct sigaction g_old_bus;
static bool g_guard_installed;
static volatile uint64_t g_port_faults;

static void
guard_handler(int sig, siginfo_t *info, void *uctx)
{
	sigjmp_buf *jb = t_burst_jmp;
	const struct sigaction *old = sig == SIGSEGV ? &g_old_segv : &g_old_bus;

	if (jb != NULL) {
		t_burst_jmp = NULL;
		g_port_faults++;
		siglongjmp(*jb, 1);
	}
	/* Not ours: hand it to whoever had it (the fault repeats on return). */
	sigaction(sig, old, NULL);
	if ((old->sa_flags & SA_SIGINFO) && old->sa_sigaction != NULL) {
		old->sa_sigaction(sig, info, uctx);
	}
}

int
rpci_port_guard_install(void)
{
	struct sigaction sa;

	if (g_guard_installed) {
		return 0;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = guard_handler;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSEGV, &sa, &g_old_segv) != 0 || sigaction(SIGBUS, &sa, &g_old_bus) != 0) {
		return -errno;
	}
	g_guard_installed = true;
	return 0;
}

uint16_t
rpci_port_rx_burst_guarded(uint16_t port_id, uint16_t queue_id, struct rte_mbuf **pkts,
			   uint16_t n)
{
	sigjmp_buf jb;
	volatile uint16_t got = 0;

	if (sigsetjmp(jb, 0) != 0) {
		return 0;
	}
	t_burst_jmp = &jb;
	got = rte_eth_rx_burst(port_id, queue_id, pkts, n);
	t_burst_jmp = NULL;
	return got;
}

uint16_t
rpci_port_tx_burst_guarded(uint16_t port_id, uint16_t queue_id, struct rte_mbuf **pkts,
			   uint16_t n)
{
	sigjmp_buf jb;
	volatile uint16_t sent = 0;
	volatile uint16_t asked = n;

	if (sigsetjmp(jb, 0) != 0) {
		/*
		 * memif frees each mbuf right after copying it, and touches the
		 * ring again after the last free: how many it took is unknown.
		 * Report them all as taken, so that the caller never frees one
		 * twice; the references memif did not drop leak (a few mbufs per
		 * fault, counted). Reliability comes from the replay buffer.
		 */
		return asked;
	}
	t_burst_jmp = &jb;
	sent = rte_eth_tx_burst(port_id, queue_id, pkts, n);
	t_burst_jmp = NULL;
	return sent;
}

uint64_t
rpci_port_faults(void)
{
	return g_port_faults;
}
