/* SPDX-License-Identifier: BSD-3-Clause */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "app_common.h"
#include "app_console.h"
#include "app_security.h"

static uint64_t
console_now_us(void *arg)
{
	struct app_console *ac = arg;

	return rpci_ctrlnode_selector_now_us(ac->node);
}

static int
console_attach(void *arg, const char *server, const char *device, const uint8_t client_mac[6],
	       char *msg, size_t len)
{
	struct app_console *ac = arg;

	return rpci_ctrlnode_selector_attach(ac->node, server, device, client_mac, msg, len);
}

static int
console_detach(void *arg, uint64_t lease_id, char *msg, size_t len)
{
	struct app_console *ac = arg;

	return rpci_ctrlnode_selector_detach(ac->node, lease_id, msg, len);
}

static int
console_drain(void *arg, const char *server, bool on, char *msg, size_t len)
{
	struct app_console *ac = arg;

	return rpci_ctrlnode_selector_drain(ac->node, server, on, msg, len);
}

static int
console_show_devices(void *arg, struct cmdline *cl)
{
	struct app_console *ac = arg;

	return ac->show_devices(ac->arg, cl);
}

static int
console_show_security(void *arg, struct cmdline *cl)
{
	struct app_console *ac = arg;

	return app_security_show(ac->security, cl);
}

static int
console_show_clients(void *arg, struct cmdline *cl)
{
	struct app_console *ac = arg;

	return ac->show_clients(ac->arg, cl);
}

static int
console_set_personality(void *arg, const char *device, const char *profile, char *msg,
			size_t len)
{
	struct app_console *ac = arg;

	return ac->set_personality(ac->arg, device, profile, msg, len);
}

static int
console_reset_device(void *arg, const char *device, char *msg, size_t len)
{
	struct app_console *ac = arg;

	return ac->reset_device(ac->arg, device, msg, len);
}

static void
faults_from_conf(struct rpci_link_faults *f, const struct rpci_conf_faults *c)
{
	f->drop = c->drop;
	f->dup = c->dup;
	f->reorder = c->reorder;
	f->corrupt = c->corrupt;
}

int
app_console_start(struct app_console *ac, const char *prog, const struct rpci_conf *conf,
		  const struct rpci_conf_host *host, struct rpci_link *link, bool interactive,
		  const char *cmdfile)
{
	struct rpci_console_env env = {
		.prog = prog,
		.host = host->name,
		.link = link,
		.port_id = host->port,
		.faults_seed = conf->link.faults_seed,
		.arg = ac,
		.quit = &g_force_quit,
		.conf = conf,
		.access = &host->console_access,
	};
	char path[108];
	int ret;

	faults_from_conf(&env.faults_tx, &conf->link.faults_tx);
	faults_from_conf(&env.faults_rx, &conf->link.faults_rx);
	if (ac->node != NULL) {
		env.selector = rpci_ctrlnode_selector_logic(ac->node);
		env.now_us = console_now_us;
		env.attach = console_attach;
		env.detach = console_detach;
		env.drain = console_drain;
	}
	if (ac->show_devices != NULL) {
		env.show_devices = console_show_devices;
	}
	if (ac->security != NULL) {
		env.show_security = console_show_security;
	}
	if (ac->show_clients != NULL) {
		env.show_clients = console_show_clients;
	}
	if (ac->set_personality != NULL) {
		env.set_personality = console_set_personality;
	}
	if (ac->reset_device != NULL) {
		env.reset_device = console_reset_device;
	}
	ac->console = rpci_console_create(&env);
	if (ac->console == NULL) {
		fprintf(stderr, "%s: console: %s\n", prog, strerror(errno));
		return -1;
	}
	if (cmdfile != NULL) {
		ret = rpci_console_run_file(ac->console, cmdfile);
		if (ret < 0) {
			goto fail; /* the console said why */
		}
		if (ret > 0) {
			fprintf(stderr, "%s: %s: %d command%s failed\n", prog, cmdfile, ret,
				ret == 1 ? "" : "s");
		}
		fflush(stdout);
	}
	ret = rpci_console_socket_path(host, path, sizeof(path));
	if (ret == 0) {
		ret = rpci_console_listen(ac->console, path);
	}
	if (ret < 0) {
		fprintf(stderr, "%s: console socket %s: %s\n", prog, path, strerror(-ret));
		goto fail;
	}
	if (interactive && rpci_console_interactive(ac->console) < 0) {
		fprintf(stderr, "%s: cannot open the console on the terminal\n", prog);
		goto fail;
	}
	return 0;
fail:
	rpci_console_free(ac->console);
	ac->console = NULL;
	return -1;
}

int
app_console_poll(struct app_console *ac)
{
	return ac->console != NULL ? rpci_console_poll(ac->console) : 0;
}

void
app_console_stop(struct app_console *ac)
{
	rpci_console_free(ac->console);
	ac->console = NULL;
}
