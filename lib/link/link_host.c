/* SPDX-License-Identifier: BSD-3-Clause */

/* A host's port and link, brought up as its deployment file says. */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_lcore.h>

#include "link_private.h"
#include "rpci_auth.h"
#include "rpci_port_tcp.h"

static const char *
port_kind_name(enum rpci_port_kind kind)
{
	switch (kind) {
	case RPCI_PORT_MEMIF:
		return "memif";
	case RPCI_PORT_TCP:
		return "kernel TCP";
	case RPCI_PORT_AF_PACKET:
		return "af_packet";
	case RPCI_PORT_PCI:
		return "PCI NIC";
	default:
		return "other";
	}
}

int
rpci_link_host_frame(const struct rpci_conf *conf, const struct rpci_conf_host *host,
		     const struct rpci_port_info *info, uint32_t *frame_max, bool *crc_payload,
		     char *err, size_t err_len)
{
	uint32_t want;

	RTE_BUILD_BUG_ON(RPCI_CONF_FRAME_MAX != RPCI_LINK_FRAME_MAX);
	RTE_BUILD_BUG_ON(RPCI_CONF_FRAME_MIN != RPCI_LINK_FRAME_MIN);
	RTE_BUILD_BUG_ON(RPCI_PORT_TCP_FRAME_MAX != RPCI_LINK_FRAME_MAX);
	RTE_BUILD_BUG_ON((int)RPCI_CONF_CIPHER_AES128GCM != (int)RPCI_AUTH_CIPHER_AES128GCM);
	RTE_BUILD_BUG_ON((int)RPCI_CONF_CIPHER_CHACHA20POLY1305 !=
			 (int)RPCI_AUTH_CIPHER_CHACHA20POLY1305);
	if (conf == NULL || host == NULL || info == NULL || frame_max == NULL ||
	    crc_payload == NULL) {
		snprintf(err, err_len, "no configuration, host or port");
		return -EINVAL;
	}
	/* The host's own setting, else the link section's, else the port kind's. */
	*crc_payload = host->crc_payload_set ? host->crc_payload :
		       conf->link.crc_payload_set ? conf->link.crc_payload : info->crc_payload;
	want = host->frame_max != 0 ? host->frame_max : conf->link.frame_max;
	*frame_max = want != 0 ? want : info->frame_max;
	if (*frame_max > info->frame_max) {
		snprintf(err, err_len, "host '%s': frame_max %u: its port (%s, %s) carries frames "
			 "of at most %u bytes%s", host->name, *frame_max, info->driver,
			 port_kind_name(info->kind), info->frame_max,
			 info->kind == RPCI_PORT_MEMIF ? " (its vdev's bsize)" :
			 info->kind == RPCI_PORT_TCP ? "" : " (the MTU's frame)");
		return -EINVAL;
	}
	if (*frame_max < RPCI_LINK_FRAME_MIN) {
		snprintf(err, err_len, "host '%s': its port (%s) carries frames of %u bytes: at "
			 "least %u are needed%s", host->name, info->driver, *frame_max,
			 RPCI_LINK_FRAME_MIN,
			 info->kind == RPCI_PORT_MEMIF ? " (raise its vdev's bsize)" : "");
		return -EINVAL;
	}
	return 0;
}

/* Frames a link with its own receive pool takes in at once (its credits), and that pool. */
#define RX_POOL_QUEUE 256u
#define RX_POOL_MBUFS 511u

struct rpci_link *
rpci_link_create_for_host(const struct rpci_conf *conf, const struct rpci_conf_host *host,
			  const struct rpci_link_ops *ops, void *ops_arg, uint32_t wait_up_ms,
			  struct rpci_port_info *info, char *err, size_t err_len)
{
	const struct rpci_conf_link *l;
	struct rpci_link_params lp;
	struct rpci_port_info pi;
	struct rte_mempool *pool = NULL, *ext_pool = NULL, *rx_pool = NULL;
	struct rpci_auth *auth = NULL;
	struct rpci_link *link;
	char name[RTE_MEMPOOL_NAMESIZE];
	uint32_t frame_max, max_payload, pool_mtu;
	bool crc_payload;
	int ret;

	if (conf == NULL || host == NULL || ops == NULL) {
		snprintf(err, err_len, "no configuration, host or callbacks");
		rte_errno = EINVAL;
		return NULL;
	}
	l = &conf->link;
	/* The host's keys: its sessions are authenticated (doc/security.md). */
	if (conf->auth.mode == RPCI_AUTH_KEYS) {
		auth = rpci_auth_create(conf, host->name, err, err_len);
		if (auth == NULL) {
			rte_errno = errno != 0 ? errno : EINVAL;
			return NULL;
		}
	}
	/* The host's kernel-TCP ports, if its vdevs name any (rpci_port_tcp.h). */
	ret = rpci_port_tcp_create_for_host(host);
	if (ret < 0) {
		snprintf(err, err_len, "host '%s': cannot create its TCP port: %s", host->name,
			 strerror(-ret));
		rte_errno = -ret;
		goto free_auth;
	}
	/* What the port carries decides the frames, and so the pools. */
	ret = rpci_port_info_get(host->port, l->mtu, &pi);
	if (ret < 0) {
		snprintf(err, err_len, "port %u of host '%s' would not start: %s", host->port,
			 host->name, strerror(-ret));
		rte_errno = ret == -ENODEV ? ENODEV : EIO;
		goto free_auth;
	}
	if (rpci_link_host_frame(conf, host, &pi, &frame_max, &crc_payload, err, err_len) < 0) {
		rte_errno = EINVAL;
		goto free_auth;
	}
	max_payload = l->max_payload != 0 ? l->max_payload :
		rpci_link_max_payload_for_mtu(frame_max - RTE_ETHER_HDR_LEN);
	/* Header mbufs hold a largest message copied in (ports without chains copy all). */
	pool_mtu = RTE_MIN(frame_max - RTE_ETHER_HDR_LEN,
			   RPCI_LINK_HDR_LEN + RPCI_TLP_HDR_MAX_LEN + max_payload);
	pool_mtu = RTE_MAX(l->mtu, pool_mtu);
	snprintf(name, sizeof(name), "rpci%u", (unsigned int)(host - conf->hosts));
	ret = rpci_link_pools_create(name, l->mbufs, pool_mtu, (int)rte_socket_id(), &pool,
				     &ext_pool);
	if (ret < 0) {
		snprintf(err, err_len, "cannot create mbuf pools (%u mbufs): %s", l->mbufs,
			 strerror(-ret));
		rte_errno = -ret;
		goto free_auth;
	}
	memset(&lp, 0, sizeof(lp));
	if (frame_max + RTE_PKTMBUF_HEADROOM > rte_pktmbuf_data_room_size(pool)) {
		/*
		 * Larger frames than a header mbuf holds: the port receives
		 * into mbufs of a whole frame each, so that messages are read
		 * where they lie. The link takes in no more frames than that
		 * pool holds (its credits), so a session never starves it.
		 */
		rx_pool = rpci_link_rx_pool_create(name, RX_POOL_MBUFS, frame_max,
						   (int)rte_socket_id());
		if (rx_pool == NULL) {
			ret = -rte_errno;
			snprintf(err, err_len, "cannot create a pool of %u mbufs of %u bytes: %s",
				 RX_POOL_MBUFS, frame_max, strerror(-ret));
			goto free_pools;
		}
		lp.rx_queue_frames = RTE_MIN(RX_POOL_QUEUE, 2 * l->replay_frames);
	}
	memcpy(lp.mac.addr_bytes, host->mac, sizeof(lp.mac.addr_bytes));
	ret = rpci_port_init(host->port, l->mtu, 1024, rx_pool != NULL ? rx_pool : pool, &lp.mac,
			     &pi);
	if (ret < 0) {
		snprintf(err, err_len, "port %u of host '%s' would not start: %s%s", host->port,
			 host->name, strerror(-ret),
			 (host->roles & RPCI_ROLE_CLIENT) ? " (is its server running?)" : "");
		rte_errno = ret == -ENODEV ? ENODEV : EIO;
		goto free_pools;
	}
	if (wait_up_ms > 0 && rpci_port_wait_up(host->port, wait_up_ms) < 0) {
		snprintf(err, err_len, "port %u of host '%s' did not come up in %u ms",
			 host->port, host->name, wait_up_ms);
		rte_errno = EIO;
		goto close_port;
	}
	lp.port_id = host->port;
	lp.ethertype = l->ethertype;
	lp.crc_payload = crc_payload;
	lp.mtu = l->mtu;
	lp.frame_max = frame_max;
	lp.tx_segs_max = pi.tx_segs_max;
	lp.max_payload = l->max_payload;
	lp.replay_frames = l->replay_frames;
	lp.retransmit_us = l->retransmit_us;
	lp.retransmit_max = l->retransmit_max;
	lp.keepalive_ms = l->keepalive_ms;
	lp.dead_ms = l->dead_ms;
	lp.burst = l->burst;
	/* A port that takes no chains gets every payload copied. */
	lp.copy_threshold = pi.multi_seg ? l->copy_threshold : UINT32_MAX;
	lp.guard_bursts = pi.is_memif;
	lp.pool = pool;
	lp.ext_pool = ext_pool;
	lp.rx_pool = rx_pool;
	lp.ops = ops;
	lp.ops_arg = ops_arg;
	lp.auth = auth;
	lp.cipher = (uint8_t)conf->auth.cipher;
	lp.encrypt = l->encrypt;
	lp.sessions_optional = conf->auth.sessions == RPCI_AUTH_SESSIONS_OPTIONAL;
	link = rpci_link_create(&lp);
	if (link == NULL) {
		ret = rte_errno;
		snprintf(err, err_len, "cannot create the link: %s", rte_strerror(ret));
		rte_errno = ret;
		goto close_port;
	}
	link_take_port(link);
	link_take_auth(link);
	{
		const struct rpci_link_faults tx = {
			.drop = l->faults_tx.drop, .dup = l->faults_tx.dup,
			.reorder = l->faults_tx.reorder, .corrupt = l->faults_tx.corrupt,
		};
		const struct rpci_link_faults rx = {
			.drop = l->faults_rx.drop, .dup = l->faults_rx.dup,
			.reorder = l->faults_rx.reorder, .corrupt = l->faults_rx.corrupt,
		};

		/* The file's injector (rates checked when it was loaded). */
		rpci_link_set_faults(link, &tx, &rx, l->faults_seed);
	}
	LINK_LOG(INFO, "host '%s': port %u (%s, %s): frames of up to %u bytes, max payload %u, "
		 "CRC over %s; sessions %s", host->name, host->port, pi.driver,
		 port_kind_name(pi.kind), frame_max, rpci_link_max_payload(link),
		 crc_payload ? "payloads too (frames without a tag)" : "headers only",
		 auth == NULL ? "NOT AUTHENTICATED (auth \"none\")" :
		 l->encrypt ? "authenticated and encrypted" : "authenticated");
	if (info != NULL) {
		*info = pi;
	}
	return link;

close_port:
	rpci_port_close(host->port);
free_pools:
	rte_mempool_free(pool);
	rte_mempool_free(ext_pool);
	rte_mempool_free(rx_pool);
free_auth:
	rpci_auth_free(auth);
	return NULL;
}
