/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * rpci-server: serves the devices of one host (virtual GPUs, and PCI
 * functions of the host: devices.c) to clients across the link, one
 * dedicated client per device, one client after another, until SIGINT or
 * SIGTERM.
 *
 *   rpci-server [EAL args --] --config FILE --host NAME [-i] [--cmdfile F]
 */

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <cmdline.h>

#include "app_common.h"
#include "app_telemetry.h"
#include "bench_frame.h"
#include "rpci_conf.h"
#include "rpci_gpu.h"
#include "rpci_link.h"
#include "rpci_pci_host.h"
#include "rpci_vgpu.h"
#include "server.h"

RTE_LOG_REGISTER(rpci_server_logtype, rpci.app.server, INFO);

#define SERVER_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_ ## level, rpci_server_logtype, "rpci-server: " fmt "\n", ##__VA_ARGS__)

/* After a memif client leaves, wait this long for its link to drop. */
#define QUIESCE_MAX_MS 2000
#define QUIESCE_GRACE_MS 20

static struct server g_server;

static void
usage(const char *prog)
{
	printf("usage: %s [EAL args --] --config FILE --host NAME [-i] [--cmdfile F]\n"
	       "       %s --list-pci\n"
	       "  Serves the devices that host NAME of the deployment FILE lists.\n"
	       "  EAL arguments given before -- replace the file's.\n"
	       "  -i, --interactive  the console on this terminal (also on the host's\n"
	       "                     console socket, always)\n"
	       "  --cmdfile F        run the console commands of file F at start\n"
	       "  --list-pci lists this host's own PCI functions and exits.\n", prog, prog);
}

/* This host's PCI functions, as a GPU server operator sees them. */
static int
list_pci(void)
{
	static struct rpci_pci_host_func funcs[1024];
	unsigned int nb, i;
	int b;

	if (rpci_pci_host_scan(funcs, RTE_DIM(funcs), &nb) < 0) {
		fprintf(stderr, "rpci-server: %s\n", rpci_pci_host_error());
		return 1;
	}
	for (i = 0; i < nb && i < RTE_DIM(funcs); i++) {
		const struct rpci_pci_host_func *f = &funcs[i];

		printf("%04x:%02x:%02x.%u  %04x:%04x  subsystem %04x:%04x  class %06x  rev %02x",
		       f->domain, f->bus, f->dev, f->func, f->vendor_id, f->device_id,
		       f->subsystem_vendor_id, f->subsystem_id, f->class_code, f->revision);
		for (b = 0; b < 6; b++) {
			if (f->bar_size[b] != 0) {
				printf("  BAR%d %" PRIu64 " KiB", b, f->bar_size[b] >> 10);
			}
		}
		printf("\n");
	}
	return 0;
}

/* --------------------------------------------------------- link callbacks */

static int
server_rx_msg(struct rpci_link_session *s, const struct rpci_tlp *msg, void *arg)
{
	struct server_dev *d = rpci_link_session_priv(s);

	RTE_SET_USED(arg);
	if (d == NULL) {
		return -ENOTCONN;
	}
	return server_dev_rx(d, msg);
}

void
server_drop_session(struct server *srv, struct server_dev *d)
{
	struct rpci_link_session *s = server_dev_session(d);

	server_dev_unbind(srv, d);
	if (s != NULL) {
		rpci_link_session_set_priv(s, NULL);
		rpci_link_session_free(s);
	}
}

static int
server_open(struct rpci_link_session *s, const struct rpci_link_open_msg *req,
	    struct rpci_link_open_msg *ack, void *arg)
{
	struct server *srv = arg;
	struct server_dev *d;
	struct rpci_link_session *old;
	int ret;

	if (req->function >= srv->nb_devs) {
		snprintf(ack->reason, sizeof(ack->reason), "%s has no device %u",
			 srv->host->name, req->function);
		return -ENODEV;
	}
	d = &srv->devs[req->function];
	ret = agent_open_allowed(srv, d, rpci_link_session_peer_host(s), req,
				 rpci_link_session_peer(s), ack->reason, sizeof(ack->reason));
	if (ret < 0) {
		return ret;
	}
	old = server_dev_session(d);
	if (old != NULL) {
		if (!rte_is_same_ether_addr(rpci_link_session_peer(old),
					    rpci_link_session_peer(s))) {
			snprintf(ack->reason, sizeof(ack->reason),
				 "%.24s is attached to another client", d->conf->name);
			return -EBUSY;
		}
		/* The same port opens again: its previous program is gone. */
		SERVER_LOG(INFO, "%s: client " RTE_ETHER_ADDR_PRT_FMT " reconnected, "
			   "dropping its old session", d->conf->name,
			   RTE_ETHER_ADDR_BYTES(rpci_link_session_peer(s)));
		server_drop_session(srv, d);
	}
	ret = server_dev_bind(srv, d, s, req->requester_id);
	if (ret == -EAGAIN) {
		snprintf(ack->reason, sizeof(ack->reason),
			 "%.24s is being cleared after its last client", d->conf->name);
		return ret;
	}
	if (ret < 0) {
		snprintf(ack->reason, sizeof(ack->reason), "cannot attach %s", d->conf->name);
		return ret;
	}
	rpci_link_session_set_priv(s, d);
	ack->completer_id = d->completer_id;
	SERVER_LOG(INFO, "%s: attached to client " RTE_ETHER_ADDR_PRT_FMT " (requester %04x)",
		   d->conf->name, RTE_ETHER_ADDR_BYTES(rpci_link_session_peer(s)),
		   req->requester_id);
	return 0;
}

static void
server_down(struct rpci_link_session *s, enum rpci_link_state state, void *arg)
{
	struct server *srv = arg;
	struct server_dev *d = rpci_link_session_priv(s);
	struct rpci_sel_usage t, u;

	if (d == NULL) {
		rpci_link_session_free(s);
		return;
	}
	server_dev_usage(d, &t, &u);
	SERVER_LOG(INFO, "%s: client " RTE_ETHER_ADDR_PRT_FMT " %s (this session: %" PRIu64
		   " bytes in, %" PRIu64 " out, %" PRIu64 " kernels, %" PRIu64 " errors)",
		   d->conf->name, RTE_ETHER_ADDR_BYTES(rpci_link_session_peer(s)),
		   state == RPCI_LINK_S_DEAD ? "is gone (silent)" : "closed its session",
		   u.bytes_in, u.bytes_out, u.kernels, u.errors);
	server_drop_session(srv, d);
	agent_session_ended(srv, d);
	SERVER_LOG(INFO, "%s: %s", d->conf->name, server_dev_resetting(d) ?
		   "device will be cleared when its running kernel ends" : "device cleared");
}

/*
 * A client says that it stops its port next (it closes its sessions first;
 * a client daemon keeps its port across sessions and says so only on its
 * way out). DPDK 22.11's memif unmaps the shared rings from its interrupt
 * thread while a burst may be running: do not poll until the link has gone
 * down.
 */
static void
server_peer_port_stops(struct rpci_link *link, const struct rte_ether_addr *src, void *arg)
{
	struct server *srv = arg;

	RTE_SET_USED(link);
	RTE_SET_USED(src);
	if (!srv->port_info.is_memif) {
		return;
	}
	srv->quiesce = true;
	srv->quiesce_deadline = rte_get_timer_cycles() +
				rte_get_timer_hz() * QUIESCE_MAX_MS / 1000;
	srv->quiesce_resume = 0;
}

/* rpci-bench's SINK frames since its last RESET (bench_frame.h). */
static uint64_t g_bench_frames;
static uint64_t g_bench_bytes;

/*
 * Frames that are not the link's: answer rpci-bench's raw frames, the
 * ceiling it measures rpci against (bench_frame.h). The frame goes back in
 * place, MACs swapped; one the PMD shares (refcnt > 1) is only dropped.
 */
static int
server_rx_other(struct rpci_link *link, struct rte_mbuf *m, void *arg)
{
	struct rte_ether_hdr *eth;
	struct rte_ether_addr tmp;
	struct bench_hdr *h;

	RTE_SET_USED(arg);
	if (m->nb_segs != 1 || m->data_len < sizeof(*eth) + sizeof(*h)) {
		return -EINVAL;
	}
	eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	h = (struct bench_hdr *)(eth + 1);
	if (eth->ether_type != rte_cpu_to_be_16(BENCH_ETHERTYPE) ||
	    !rte_is_same_ether_addr(&eth->dst_addr, rpci_link_mac(link)) ||
	    h->magic != rte_cpu_to_be_32(BENCH_MAGIC)) {
		return -EINVAL;
	}
	switch (h->op) {
	case BENCH_OP_SINK:
		g_bench_frames++;
		g_bench_bytes += m->pkt_len;
		rte_pktmbuf_free(m);
		return 0;
	case BENCH_OP_COUNT:
		h->frames = rte_cpu_to_be_64(g_bench_frames);
		h->bytes = rte_cpu_to_be_64(g_bench_bytes);
		break;
	case BENCH_OP_RESET:
		g_bench_frames = 0;
		g_bench_bytes = 0;
		break;
	case BENCH_OP_ECHO:
		break;
	default:
		return -EINVAL;
	}
	if (rte_mbuf_refcnt_read(m) != 1) {
		rte_pktmbuf_free(m);
		return 0;
	}
	rte_ether_addr_copy(&eth->src_addr, &tmp);
	rte_ether_addr_copy(&eth->dst_addr, &eth->src_addr);
	rte_ether_addr_copy(&tmp, &eth->dst_addr);
	if (rpci_link_tx_raw(link, &m, 1) == 0) {
		rte_pktmbuf_free(m);
	}
	return 0;
}

static const struct rpci_link_ops server_link_ops = {
	.rx_msg = server_rx_msg,
	.open = server_open,
	.down = server_down,
	.peer_port_stops = server_peer_port_stops,
	.rx_ctrl = agent_rx_ctrl,
	.rx_other = server_rx_other,
};

/* ------------------------------------------------------------------ setup */

static int
port_and_link_create(struct server *srv)
{
	char err[256];

	srv->link = rpci_link_create_for_host(srv->conf, srv->host, &server_link_ops, srv, 0,
					      &srv->port_info, err, sizeof(err));
	if (srv->link == NULL) {
		fprintf(stderr, "rpci-server: %s\n", err);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------- the loop */

/* memif: true while polling must pause (see server_down()). */
static bool
quiescing(struct server *srv)
{
	uint64_t now = rte_get_timer_cycles();

	if (!srv->quiesce) {
		return false;
	}
	if (srv->quiesce_resume == 0 && !rpci_port_is_up(srv->host->port)) {
		/* Down: the unmap is under way; give it a moment to finish. */
		srv->quiesce_resume = now + rte_get_timer_hz() * QUIESCE_GRACE_MS / 1000;
	}
	if ((srv->quiesce_resume != 0 && now >= srv->quiesce_resume) ||
	    now >= srv->quiesce_deadline) {
		srv->quiesce = false;
		return false;
	}
	return true;
}

static void
serve(struct server *srv)
{
	struct rpci_idle idle;
	struct timespec pause = { .tv_sec = 0, .tv_nsec = 1000000 };
	unsigned int i;

	rpci_idle_init(&idle, srv->host->idle == RPCI_IDLE_ADAPTIVE,
		       srv->conf->link.spin_polls, srv->conf->link.sleep_max_us);
	while (!g_force_quit) {
		int work;

		if (unlikely(quiescing(srv))) {
			/*
			 * A selector in this process keeps its clock (its
			 * messages to this server stay in the process).
			 */
			if (srv->selector != NULL) {
				agent_poll(srv);
			}
			nanosleep(&pause, NULL);
			continue;
		}
		work = rpci_link_poll(srv->link);
		for (i = 0; i < srv->nb_devs; i++) {
			if (srv->devs[i].vgpu != NULL) {
				work += rpci_vgpu_poll(srv->devs[i].vgpu);
			}
		}
		work += agent_poll(srv);
		work += app_console_poll(&srv->console);
		work += app_telemetry_poll();
		if (work > 0) {
			rpci_link_flush(srv->link);
		}
		rpci_idle_account(&idle, work);
	}
}

/* ------------------------------------------------------ console, telemetry */

static int
telemetry_register(struct server *srv)
{
	int ret = app_telemetry_register_link(srv->link);

	if (ret == 0) {
		ret = devices_telemetry_register(srv);
	}
	if (ret == 0 && srv->selector != NULL) {
		ret = app_telemetry_register_selnode(srv->selector);
	}
	/* the sessions' refusals always; the control channels' with a selector */
	srv->security.link = srv->link;
	if (ret == 0) {
		ret = app_security_register_telemetry(&srv->security);
	}
	return ret;
}

static void
print_stats(struct server *srv)
{
	struct rpci_link_stats ls;

	rpci_link_stats_get(srv->link, &ls);
	printf("rpci-server: link: rx %" PRIu64 " frames, tx %" PRIu64 " frames, "
	       "%" PRIu64 " retransmitted, %" PRIu64 " bad CRC, %" PRIu64 " malformed, "
	       "%" PRIu64 " port faults survived\n",
	       ls.rx_frames, ls.tx_frames, ls.tx_retransmit, ls.rx_bad_crc, ls.rx_malformed_msg,
	       rpci_port_faults());
	devices_print_stats(srv);
}

int
main(int argc, char **argv)
{
	struct server *srv = &g_server;
	struct app_args args;
	struct rpci_conf *conf;
	struct app_daemon_opts o;
	int ret;
	unsigned int i;

	srv->file_dir_fd = -1;
	app_split_args(argc, argv, &args);
	ret = app_daemon_args("rpci-server", &args, true, usage, &o);
	if (ret != 0) {
		return ret > 0 ? 0 : 2;
	}
	if (o.list_pci) {
		return list_pci();
	}
	ret = 1;
	conf = app_load_conf("rpci-server", o.config, o.host, RPCI_ROLE_SERVER, &srv->host);
	if (conf == NULL) {
		return 2;
	}
	srv->conf = conf;
	srv->host_index = (uint16_t)(srv->host - conf->hosts);
	/* The keys of a control plane before anything starts: a bad key file stops us. */
	if (conf->selector.present &&
	    app_security_init(&srv->security, "rpci-server", conf, srv->host) < 0) {
		rpci_conf_free(conf);
		return 1;
	}
	/* Without a selector, no control channel: the file's mode and the link's refusals. */
	srv->security.conf = conf;
	/*
	 * Backends first: their compute threads then keep the process's CPU
	 * set instead of inheriting the poll lcore's pinning.
	 */
	if (devices_create(srv) < 0) {
		goto free_devices;
	}
	if (app_eal_init("rpci-server", srv->host, &args) < 0) {
		goto free_devices;
	}
	app_signals();
	if (port_and_link_create(srv) < 0 || agent_init(srv) < 0) {
		goto cleanup;
	}
	printf("rpci-server: host %s serving", srv->host->name);
	for (i = 0; i < srv->nb_devs; i++) {
		const struct server_dev *d = &srv->devs[i];
		const struct rpci_conf_device *cd = d->conf;
		uint16_t vendor, device;
		uint32_t class_code;

		server_dev_identity(d, &vendor, &device, &class_code);
		if (d->pfn != NULL) {
			printf(" %s (PCI function %04x:%02x:%02x.%u, %04x:%04x class %06x, %u "
			       "access rules)", cd->name, cd->pci_domain, cd->pci_bus, cd->pci_dev,
			       cd->pci_func, vendor, device, class_code, cd->nb_rules);
		} else {
			printf(" %s (%s, %" PRIu64 " MiB, %04x:%04x class %06x)", cd->name,
			       cd->backend, cd->memory_bytes >> 20, vendor, device, class_code);
		}
	}
	printf(" on port %u (%s)\n", srv->host->port, srv->port_info.driver);
	fflush(stdout);
	if (telemetry_register(srv) < 0) {
		fprintf(stderr, "rpci-server: cannot register the telemetry commands\n");
		goto cleanup;
	}
	srv->console.node = srv->selector;
	srv->console.security = &srv->security;
	devices_console_setup(srv);
	if (app_console_start(&srv->console, "rpci-server", conf, srv->host, srv->link,
			      o.interactive, o.cmdfile) < 0) {
		goto cleanup;
	}

	serve(srv);
	app_telemetry_stop();
	app_console_stop(&srv->console);

	printf("rpci-server: shutting down\n");
	for (i = 0; i < srv->nb_devs; i++) {
		if (server_dev_session(&srv->devs[i]) != NULL) {
			server_drop_session(srv, &srv->devs[i]);
		}
	}
	print_stats(srv);
	ret = 0;
cleanup:
	app_telemetry_stop();
	agent_fini(srv);
	rpci_link_free(srv->link);
	devices_free(srv);
	rte_eal_cleanup();
	app_security_fini(&srv->security);
	rpci_conf_free(conf);
	return ret;
free_devices:
	devices_free(srv);
	app_security_fini(&srv->security);
	rpci_conf_free(conf);
	return 1;
}
