/* SPDX-License-Identifier: BSD-3-Clause */

/* A host's port and link, brought up as its deployment file says. */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_lcore.h>

#include "link_private.h"
#include "rpci_port_tcp.h"

struct rpci_link *
rpci_link_create_for_host(const struct rpci_conf *conf, const struct rpci_conf_host *host,
			  const struct rpci_link_ops *ops, void *ops_arg, uint32_t wait_up_ms,
			  struct rpci_port_info *info, char *err, size_t err_len)
{
	const struct rpci_conf_link *l;
	struct rpci_link_params lp;
	struct rpci_port_info pi;
	struct rte_mempool *pool = NULL, *ext_pool = NULL;
	struct rpci_link *link;
	char name[RTE_MEMPOOL_NAMESIZE];
	int ret;

	if (conf == NULL || host == NULL || ops == NULL) {
		snprintf(err, err_len, "no configuration, host or callbacks");
		rte_errno = EINVAL;
		return NULL;
	}
	l = &conf->link;
	snprintf(name, sizeof(name), "rpci%u", (unsigned int)(host - conf->hosts));
	ret = rpci_link_pools_create(name, l->mbufs, l->mtu, (int)rte_socket_id(), &pool,
				     &ext_pool);
	if (ret < 0) {
		snprintf(err, err_len, "cannot create mbuf pools (%u mbufs): %s", l->mbufs,
			 strerror(-ret));
		rte_errno = -ret;
		return NULL;
	}
	/* The host's kernel-TCP ports, if its vdevs name any (rpci_port_tcp.h). */
	ret = rpci_port_tcp_create_for_host(host);
	if (ret < 0) {
		snprintf(err, err_len, "host '%s': cannot create its TCP port: %s", host->name,
			 strerror(-ret));
		rte_errno = -ret;
		goto free_pools;
	}
	memset(&lp, 0, sizeof(lp));
	memcpy(lp.mac.addr_bytes, host->mac, sizeof(lp.mac.addr_bytes));
	ret = rpci_port_init(host->port, l->mtu, 1024, pool, &lp.mac, &pi);
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
	lp.crc_payload = l->crc_payload;
	lp.mtu = l->mtu;
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
	lp.ops = ops;
	lp.ops_arg = ops_arg;
	link = rpci_link_create(&lp);
	if (link == NULL) {
		ret = rte_errno;
		snprintf(err, err_len, "cannot create the link: %s", rte_strerror(ret));
		rte_errno = ret;
		goto close_port;
	}
	link_take_port(link);
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
	if (info != NULL) {
		*info = pi;
	}
	return link;

close_port:
	rpci_port_close(host->port);
free_pools:
	rte_mempool_free(pool);
	rte_mempool_free(ext_pool);
	return NULL;
}
