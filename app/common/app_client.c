/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * The client programs' way to the devices (app_client.h): a program of the
 * host's rpci-proxy, or the proxy's core embedded in the program, which
 * then owns EAL and the host's port for its lifetime.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>

#include "app_client.h"

void
app_client_init(struct app_client *ac, const char *prog, bool command)
{
	memset(ac, 0, sizeof(*ac));
	ac->prog = prog;
	ac->command = command;
}

int
app_client_option(struct app_client *ac, int opt, const char *arg)
{
	switch (opt) {
	case APP_CLIENT_OPT_PROXY:
		ac->proxy = arg;
		return 0;
	case APP_CLIENT_OPT_CONFIG:
		ac->config = arg;
		return 0;
	case APP_CLIENT_OPT_HOST:
		ac->host = arg;
		return 0;
	default:
		return 1;
	}
}

int
app_client_check(const struct app_client *ac, int argc, char **argv)
{
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", ac->prog, argv[optind]);
		return -1;
	}
	if ((ac->config == NULL) != (ac->host == NULL)) {
		fprintf(stderr, "%s: --config FILE and --host NAME go together\n", ac->prog);
		return -1;
	}
	if (ac->config != NULL && ac->proxy != NULL) {
		fprintf(stderr, "%s: --proxy names the host's daemon; --config and --host own the "
			"port instead: one or the other\n", ac->prog);
		return -1;
	}
	return 0;
}

int
app_client_parse_h2d(const struct app_client *ac, const char *arg, enum rpci_h2d_mode *mode)
{
	if (strcmp(arg, "push") == 0) {
		*mode = RPCI_H2D_PUSH;
	} else if (strcmp(arg, "pull") == 0) {
		*mode = RPCI_H2D_PULL;
	} else {
		fprintf(stderr, "%s: --h2d must be push or pull\n", ac->prog);
		return -1;
	}
	return 0;
}

bool
app_client_embedded(const struct app_client *ac)
{
	return ac->config != NULL;
}

const char *
app_client_socket(const struct app_client *ac)
{
	const char *env = getenv("RPCI_PROXY");

	if (ac->proxy != NULL && ac->proxy[0] != '\0') {
		return ac->proxy;
	}
	return env != NULL && env[0] != '\0' ? env : RPCI_PROXY_DEFAULT_SOCKET;
}

int
app_client_load(struct app_client *ac, const struct app_args *args)
{
	if (!app_client_embedded(ac)) {
		if (args->eal_argc > 0) {
			fprintf(stderr, "%s: EAL arguments are for --config and --host (a program "
				"of the proxy runs no EAL)\n", ac->prog);
			return -1;
		}
		return 0;
	}
	ac->conf = app_load_conf(ac->prog, ac->config, ac->host, RPCI_ROLE_CLIENT,
				 &ac->conf_host);
	return ac->conf != NULL ? 0 : -1;
}

/* EAL with the host's settings; a command's without the telemetry thread (nor its banner). */
static int
eal_start(struct app_client *ac, const struct app_args *args)
{
	char *eal[args->eal_argc + 2];
	struct app_args a = *args;

	if (ac->command) {
		memcpy(eal, args->eal_argv, sizeof(char *) * (size_t)args->eal_argc);
		eal[args->eal_argc] = (char *)(uintptr_t)"--no-telemetry";
		eal[args->eal_argc + 1] = NULL;
		a.eal_argc = args->eal_argc + 1;
		a.eal_argv = eal;
	}
	if (app_eal_init(ac->prog, ac->conf_host, &a) < 0) {
		return -1;
	}
	ac->eal_started = true;
	return 0;
}

struct rpci_client *
app_client_open(struct app_client *ac, const struct app_args *args)
{
	char err[RPCI_CONF_ERR_MAX];

	if (!app_client_embedded(ac)) {
		ac->client = rpci_client_create(ac->proxy);
	} else {
		if (ac->conf == NULL && app_client_load(ac, args) < 0) {
			return NULL;
		}
		if (eal_start(ac, args) < 0) {
			return NULL;
		}
		ac->core = rpci_proxy_create(ac->conf, ac->host, err, sizeof(err));
		if (ac->core == NULL) {
			fprintf(stderr, "%s: %s\n", ac->prog, err);
			return NULL;
		}
		ac->client = rpci_proxy_client_create(ac->core, ac->prog);
	}
	if (ac->client == NULL) {
		fprintf(stderr, "%s: %s\n", ac->prog, rpci_last_error());
	}
	return ac->client;
}

void
app_client_disconnect(struct app_client *ac)
{
	if (ac->client != NULL) {
		rpci_client_destroy(ac->client);
		ac->client = NULL;
	}
	if (ac->core != NULL) {
		rpci_proxy_destroy(ac->core);
		ac->core = NULL;
	}
}

void
app_client_close(struct app_client *ac)
{
	app_client_disconnect(ac);
	if (ac->eal_started) {
		rte_eal_cleanup();
		ac->eal_started = false;
	}
	rpci_conf_free(ac->conf);
	ac->conf = NULL;
	ac->conf_host = NULL;
}
