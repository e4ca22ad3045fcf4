/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * rpci-selector: the server selector on its own control lcore. Servers
 * register their devices and report their status to it; clients ask it
 * for devices by requirements; it dedicates each device to one client,
 * watches heartbeats and leases, and moves clients off servers that go
 * down.
 *
 *   rpci-selector [EAL args --] --config FILE --host NAME [-i] [--cmdfile F]
 */

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>

#include "app_common.h"
#include "app_console.h"
#include "app_security.h"
#include "app_telemetry.h"
#include "rpci_conf.h"
#include "rpci_ctrlnode.h"
#include "rpci_link.h"

struct selector_app {
	const struct rpci_conf *conf;
	const struct rpci_conf_host *host;
	struct rpci_link *link;
	struct rpci_port_info port_info;
	struct rpci_ctrlnode_selector *node;
	struct app_console console;
	struct app_security security;
};

static struct selector_app g_app;

static void
usage(const char *prog)
{
	printf("usage: %s [EAL args --] --config FILE --host NAME [-i] [--cmdfile F]\n"
	       "  Runs the server selector that the deployment FILE names (its selector\n"
	       "  section) on host NAME. EAL arguments given before -- replace the file's.\n"
	       "  -i, --interactive  the console on this terminal (also on the host's\n"
	       "                     console socket, always)\n"
	       "  --cmdfile F        run the console commands of file F at start\n",
	       prog);
}

static int
no_sessions(struct rpci_link_session *s, const struct rpci_tlp *msg, void *arg)
{
	RTE_SET_USED(s);
	RTE_SET_USED(msg);
	RTE_SET_USED(arg);
	return -EPROTO; /* a selector has no data sessions */
}

static void
on_ctrl(struct rpci_link *link, const struct rte_ether_addr *src, const void *body, uint16_t len,
	void *arg)
{
	struct selector_app *app = arg;

	RTE_SET_USED(link);
	rpci_ctrlnode_selector_rx(app->node, src->addr_bytes, body, len);
}

static const struct rpci_link_ops selector_link_ops = {
	.rx_msg = no_sessions,
	.rx_ctrl = on_ctrl,
};

static void
print_stats(const struct selector_app *app)
{
	struct rpci_ctrlnode_selector_stats st, *s = &st;

	rpci_ctrlnode_selector_stats(app->node, &st);
	printf("rpci-selector: %" PRIu64 " registrations, %" PRIu64 " status reports, %" PRIu64
	       " requests: %" PRIu64 " attachments (%" PRIu64 " failovers), %" PRIu64
	       " rejections, %" PRIu64 " detachments, %" PRIu64 " releases, %" PRIu64
	       " job reports, %" PRIu64 " messages passed on, %" PRIu64 " refused\n",
	       s->registers, s->statuses, s->requests, s->attaches, s->failovers, s->rejects,
	       s->detaches, s->releases, s->reports, s->messages, s->messages_refused);
}

int
main(int argc, char **argv)
{
	struct selector_app *app = &g_app;
	struct app_args args;
	struct rpci_conf *conf;
	struct rpci_ctrlnode_params params = { 0 };
	struct rpci_idle idle;
	struct app_daemon_opts o;
	char err[256];
	int ret;

	app_split_args(argc, argv, &args);
	ret = app_daemon_args("rpci-selector", &args, false, usage, &o);
	if (ret != 0) {
		return ret > 0 ? 0 : 2;
	}
	ret = 1;
	conf = app_load_conf("rpci-selector", o.config, o.host, RPCI_ROLE_SELECTOR, &app->host);
	if (conf == NULL) {
		return 2;
	}
	app->conf = conf;
	if (!conf->selector.present || strcmp(conf->selector.host, app->host->name) != 0) {
		fprintf(stderr,
			"rpci-selector: %s - the selector section does not name host '%s'\n",
			conf->path, app->host->name);
		rpci_conf_free(conf);
		return 2;
	}
	/* The keys before anything starts: a bad key file stops us with its reason. */
	if (app_security_init(&app->security, "rpci-selector", conf, app->host) < 0) {
		rpci_conf_free(conf);
		return 1;
	}
	if (app_eal_init("rpci-selector", app->host, &args) < 0) {
		app_security_fini(&app->security);
		rpci_conf_free(conf);
		return 1;
	}
	app_signals();
	app->link = rpci_link_create_for_host(conf, app->host, &selector_link_ops, app, 0,
					      &app->port_info, err, sizeof(err));
	if (app->link == NULL) {
		fprintf(stderr, "rpci-selector: %s\n", err);
		goto cleanup;
	}
	params.conf = conf;
	params.host = app->host;
	params.auth = app->security.auth;
	params.io.link = app->link;
	app->node = rpci_ctrlnode_selector_create(&params);
	if (app->node == NULL) {
		fprintf(stderr, "rpci-selector: cannot start the selector: %s\n", strerror(errno));
		goto free_link;
	}
	app->security.node = app->node;
	app->security.link = app->link;
	if (app_security_add_chan(&app->security, "selector",
				  rpci_ctrlnode_selector_chan(app->node)) < 0) {
		goto free_node;
	}
	if (app_telemetry_register_link(app->link) < 0 ||
	    app_telemetry_register_selnode(app->node) < 0 ||
	    app_security_register_telemetry(&app->security) < 0) {
		fprintf(stderr, "rpci-selector: cannot register the telemetry commands\n");
		goto free_node;
	}
	printf("rpci-selector: host %s selecting with policy %s (heartbeat %u ms, %u missed = "
	       "down, lease %u ms) on port %u (%s)\n", app->host->name, conf->selector.policy,
	       conf->selector.heartbeat_ms, conf->selector.missed_heartbeats,
	       conf->selector.lease_ms, app->host->port, app->port_info.driver);
	fflush(stdout);
	app->console.node = app->node;
	app->console.security = &app->security;
	if (app_console_start(&app->console, "rpci-selector", conf, app->host, app->link,
			      o.interactive, o.cmdfile) < 0) {
		goto free_node;
	}

	rpci_idle_init(&idle, app->host->idle == RPCI_IDLE_ADAPTIVE, conf->link.spin_polls,
		       conf->link.sleep_max_us);
	while (!g_force_quit) {
		int work = rpci_link_poll(app->link);

		work += rpci_ctrlnode_selector_poll(app->node);
		work += app_console_poll(&app->console);
		work += app_telemetry_poll();
		rpci_idle_account(&idle, work);
	}
	app_telemetry_stop();
	app_console_stop(&app->console);
	printf("rpci-selector: shutting down\n");
	print_stats(app);
	ret = 0;
free_node:
	app_telemetry_stop();
	rpci_ctrlnode_selector_free(app->node);
free_link:
	rpci_link_free(app->link);
cleanup:
	rte_eal_cleanup();
	app_security_fini(&app->security);
	rpci_conf_free(conf);
	return ret;
}
