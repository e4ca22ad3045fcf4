/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * rpci-proxy: the client daemon of a client host. It owns the host's port,
 * the link and every session, talks to the server selector, and serves the
 * programs of the host (librpci) on a unix socket: a thin daemon around
 * lib/proxy, with the console and telemetry of the other daemons.
 *
 *   rpci-proxy [EAL args --] --config FILE --host NAME [-i] [--cmdfile F]
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmdline.h>
#include <rte_common.h>
#include <rte_eal.h>

#include "app_common.h"
#include "app_console.h"
#include "app_security.h"
#include "app_telemetry.h"
#include "rpci_auth.h"
#include "rpci_conf.h"
#include "rpci_link.h"
#include "rpci_proxy.h"

#define SHOW_MAX 256

struct proxy_daemon {
	const struct rpci_conf *conf;
	const struct rpci_conf_host *host;
	struct rpci_proxy *proxy;
	struct app_console console;
	struct app_security security; /* the core's keys and channel, shown */
};

static struct proxy_daemon g_daemon;

static void
usage(const char *prog)
{
	printf("usage: %s [EAL args --] --config FILE --host NAME [-i] [--cmdfile F]\n"
	       "  The client daemon of client host NAME of the deployment FILE: owns the\n"
	       "  host's port and serves the programs of the host (librpci) on the socket\n"
	       "  of the host's \"proxy\" group. EAL arguments given before -- replace the\n"
	       "  file's.\n"
	       "  -i, --interactive  the console on this terminal (also on the host's\n"
	       "                     console socket, always)\n"
	       "  --cmdfile F        run the console commands of file F at start\n",
	       prog);
}

/* "show devices": the programs and the devices they hold. */
static int
show_devices(void *arg, struct cmdline *cl)
{
	struct proxy_daemon *pd = arg;
	struct rpci_proxy_app_info apps[64];
	struct rpci_proxy_dev_info *devs;
	struct rpci_proxy_stats st;
	unsigned int nb_apps, nb_devs, i;

	nb_apps = rpci_proxy_apps(pd->proxy, apps, RTE_DIM(apps));
	devs = calloc(SHOW_MAX, sizeof(*devs));
	if (devs == NULL) {
		return -ENOMEM;
	}
	nb_devs = rpci_proxy_devices(pd->proxy, devs, SHOW_MAX);
	rpci_proxy_stats_get(pd->proxy, &st);
	cmdline_printf(cl, "%u program%s on %s\n", nb_apps, nb_apps == 1 ? "" : "s",
		       rpci_proxy_socket_path(pd->proxy));
	cmdline_printf(cl, "%-4s %-16s %8s %6s %5s %5s %10s %12s %12s %7s\n", "id", "name",
		       "pid", "uid", "reqid", "devs", "requests", "bytes out", "bytes in",
		       "errors");
	for (i = 0; i < RTE_MIN(nb_apps, (unsigned int)RTE_DIM(apps)); i++) {
		const struct rpci_proxy_app_info *a = &apps[i];

		cmdline_printf(cl, "%-4u %-16.16s %8d %6u  %04x %5u %10" PRIu64 " %12" PRIu64
			       " %12" PRIu64 " %7" PRIu64 "\n", a->id, a->name, a->pid, a->uid,
			       a->requester_id, a->devices, a->requests, a->bytes_out, a->bytes_in,
			       a->errors);
	}
	if (nb_devs > 0) {
		cmdline_printf(cl, "\n%-4s %-4s %-12s %-24s %-10s %-6s %-9s %s\n", "prog", "slot",
			       "state", "device", "lease", "cplid", "vend:dev", "class");
	}
	for (i = 0; i < RTE_MIN(nb_devs, (unsigned int)SHOW_MAX); i++) {
		const struct rpci_proxy_dev_info *d = &devs[i];
		char name[72];

		snprintf(name, sizeof(name), "%s/%s", d->server, d->device);
		cmdline_printf(cl, "%-4u %-4u %-12s %-24.24s %-10" PRIu64
			       " %04x   %04x:%04x %06x\n",
			       d->app_id, d->slot, d->state, name, d->lease_id, d->completer_id,
			       d->vendor_device & 0xffff, d->vendor_device >> 16,
			       d->class_rev >> 8);
	}
	cmdline_printf(cl, "\nprograms: %" PRIu64 " served, %" PRIu64 " refused, cut off %"
		       PRIu64 "; requests %" PRIu64 ", %" PRIu64 " answered with an error\n",
		       st.programs, st.programs_refused, st.program_violations, st.requests,
		       st.requests_refused);
	cmdline_printf(cl, "answered here: %" PRIu64 " configuration reads, %" PRIu64
		       " register reads; forwarded: %" PRIu64 " configuration requests, %" PRIu64
		       " memory reads, %" PRIu64 " write requests\n", st.cfg_local, st.mrd_local,
		       st.cfg_forwarded, st.mrd_forwarded, st.mwr_forwarded);
	free(devs);
	return 0;
}

/* /rpci/proxy: the core's counters. */
static int
tel_proxy(void *arg, const char *params, struct rte_tel_data *d)
{
	struct proxy_daemon *pd = arg;
	struct rpci_proxy_stats s;

	RTE_SET_USED(params);
	rpci_proxy_stats_get(pd->proxy, &s);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "host", pd->host->name);
	rte_tel_data_add_dict_string(d, "socket", rpci_proxy_socket_path(pd->proxy));
	rte_tel_data_add_dict_u64(d, "programs_now", rpci_proxy_apps(pd->proxy, NULL, 0));
#define PROXY_U64(f) rte_tel_data_add_dict_u64(d, #f, s.f)
	PROXY_U64(programs);
	PROXY_U64(programs_refused);
	PROXY_U64(program_violations);
	PROXY_U64(requests);
	PROXY_U64(requests_refused);
	PROXY_U64(cfg_local);
	PROXY_U64(cfg_forwarded);
	PROXY_U64(mrd_local);
	PROXY_U64(mrd_forwarded);
	PROXY_U64(mwr_forwarded);
	PROXY_U64(bytes_to_devices);
	PROXY_U64(bytes_from_devices);
	PROXY_U64(dma_reads_served);
	PROXY_U64(dma_refused);
	PROXY_U64(msi);
	PROXY_U64(wakeups);
	PROXY_U64(sessions_opened);
	PROXY_U64(failovers);
	PROXY_U64(resets);
#undef PROXY_U64
	return 0;
}

/* /rpci/apps: the programs, as columns. */
static int
tel_apps(void *arg, const char *params, struct rte_tel_data *d)
{
	struct proxy_daemon *pd = arg;
	struct rpci_proxy_app_info apps[64];
	struct tel_cols t = { .d = d };
	unsigned int nb, i, c_id, c_name, c_pid, c_uid, c_rid, c_devs, c_req, c_out, c_in, c_err;

	RTE_SET_USED(params);
	nb = RTE_MIN(rpci_proxy_apps(pd->proxy, apps, RTE_DIM(apps)), (unsigned int)RTE_DIM(apps));
	rte_tel_data_start_dict(d);
	c_id = col_new(&t, "id", false);
	c_name = col_new(&t, "name", true);
	c_pid = col_new(&t, "pid", false);
	c_uid = col_new(&t, "uid", false);
	c_rid = col_new(&t, "requester_id", false);
	c_devs = col_new(&t, "devices", false);
	c_req = col_new(&t, "requests", false);
	c_out = col_new(&t, "bytes_out", false);
	c_in = col_new(&t, "bytes_in", false);
	c_err = col_new(&t, "errors", false);
	for (i = 0; i < nb; i++) {
		col_u64(&t, c_id, apps[i].id);
		col_str(&t, c_name, apps[i].name);
		col_u64(&t, c_pid, (uint64_t)apps[i].pid);
		col_u64(&t, c_uid, apps[i].uid);
		col_u64(&t, c_rid, apps[i].requester_id);
		col_u64(&t, c_devs, apps[i].devices);
		col_u64(&t, c_req, apps[i].requests);
		col_u64(&t, c_out, apps[i].bytes_out);
		col_u64(&t, c_in, apps[i].bytes_in);
		col_u64(&t, c_err, apps[i].errors);
	}
	return cols_end(&t);
}

int
main(int argc, char **argv)
{
	struct proxy_daemon *pd = &g_daemon;
	struct rpci_proxy_stats st;
	struct app_args args;
	struct rpci_conf *conf;
	struct app_daemon_opts o;
	char err[RPCI_CONF_ERR_MAX];
	int ret;

	app_split_args(argc, argv, &args);
	ret = app_daemon_args("rpci-proxy", &args, false, usage, &o);
	if (ret != 0) {
		return ret > 0 ? 0 : 2;
	}
	ret = 1;
	conf = app_load_conf("rpci-proxy", o.config, o.host, RPCI_ROLE_CLIENT, &pd->host);
	if (conf == NULL) {
		return 2;
	}
	pd->conf = conf;
	/* The host's keys, before anything starts: a bad key file is refused with its reason. */
	{
		struct rpci_auth *keys = rpci_auth_create(conf, pd->host->name, err, sizeof(err));

		if (keys == NULL) {
			fprintf(stderr, "rpci-proxy: %s\n", err);
			rpci_conf_free(conf);
			return 1;
		}
		rpci_auth_free(keys);
	}
	if (app_eal_init("rpci-proxy", pd->host, &args) < 0) {
		rpci_conf_free(conf);
		return 1;
	}
	app_signals();
	pd->proxy = rpci_proxy_create(conf, pd->host->name, err, sizeof(err));
	if (pd->proxy == NULL) {
		fprintf(stderr, "rpci-proxy: %s\n", err);
		goto cleanup;
	}
	ret = rpci_proxy_listen(pd->proxy);
	if (ret < 0) {
		fprintf(stderr, "rpci-proxy: %s:%d - socket %s: %s%s\n", conf->path,
			pd->host->proxy.line ? pd->host->proxy.line : pd->host->line,
			pd->host->proxy.socket, strerror(-ret),
			ret == -EADDRINUSE ? " (another rpci-proxy serves it)" :
			ret == -ENOENT ? " (no such owner or group)" : "");
		ret = 1;
		goto free_proxy;
	}
	ret = 1;
	if (app_telemetry_register_link(rpci_proxy_link(pd->proxy)) < 0 ||
	    app_telemetry_register("/rpci/proxy", tel_proxy, pd,
				   "The client daemon's counters. No parameters") < 0 ||
	    app_telemetry_register("/rpci/apps", tel_apps, pd,
				   "The programs the client daemon serves. No parameters") < 0) {
		fprintf(stderr, "rpci-proxy: cannot register the telemetry commands\n");
		goto free_proxy;
	}
	/* the sessions' refusals, and the core's channel and keys: show security, /rpci/security */
	pd->security.conf = conf;
	pd->security.auth = rpci_proxy_auth(pd->proxy);
	pd->security.link = rpci_proxy_link(pd->proxy);
	if (rpci_proxy_ctrl_chan(pd->proxy) != NULL) {
		pd->security.chan[0] = rpci_proxy_ctrl_chan(pd->proxy);
		pd->security.chan_name[0] = "selector";
		pd->security.nb_chans = 1;
	}
	if (app_security_register_telemetry(&pd->security) < 0) {
		fprintf(stderr, "rpci-proxy: cannot register /rpci/security\n");
		goto free_proxy;
	}
	pd->console.security = &pd->security;
	pd->console.show_devices = show_devices;
	pd->console.arg = pd;
	if (app_console_start(&pd->console, "rpci-proxy", conf, pd->host,
			      rpci_proxy_link(pd->proxy), o.interactive, o.cmdfile) < 0) {
		goto free_proxy;
	}
	printf("rpci-proxy: host %s serving programs on %s (mode %04o%s%s%s%s) on port %u%s\n",
	       pd->host->name, rpci_proxy_socket_path(pd->proxy), pd->host->proxy.mode,
	       pd->host->proxy.owner[0] ? ", owner " : "", pd->host->proxy.owner,
	       pd->host->proxy.group[0] ? ", group " : "", pd->host->proxy.group,
	       pd->host->port, conf->selector.present ? ", with the selector" : "");
	fflush(stdout);
	while (!g_force_quit) {
		int work = rpci_proxy_poll(pd->proxy);

		work += app_console_poll(&pd->console);
		work += app_telemetry_poll();
		rpci_proxy_idle(pd->proxy, work);
	}
	app_telemetry_stop();
	app_console_stop(&pd->console);
	printf("rpci-proxy: shutting down\n");
	rpci_proxy_stats_get(pd->proxy, &st);
	printf("rpci-proxy: %" PRIu64 " programs (%" PRIu64 " refused, %" PRIu64 " cut off), %"
	       PRIu64 " requests (%" PRIu64 " refused), %" PRIu64 " sessions opened, %" PRIu64
	       " failovers, %" PRIu64 " device resets; answered here %" PRIu64
	       " configuration and %" PRIu64 " register reads, forwarded %" PRIu64 " and %"
	       PRIu64 "\n", st.programs, st.programs_refused, st.program_violations, st.requests,
	       st.requests_refused, st.sessions_opened, st.failovers, st.resets, st.cfg_local,
	       st.mrd_local, st.cfg_forwarded, st.mrd_forwarded);
	ret = 0;
free_proxy:
	app_telemetry_stop();
	rpci_proxy_destroy(pd->proxy);
cleanup:
	rte_eal_cleanup();
	rpci_conf_free(conf);
	return ret;
}
