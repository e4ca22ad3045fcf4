/* SPDX-License-Identifier: BSD-3-Clause */

#ifndef RPCI_APP_CLIENT_H
#define RPCI_APP_CLIENT_H

/*
 * How the client programs (rpci-run, rpci-bench, rpci-lspci) reach
 * devices, in one place: as a program of the host's rpci-proxy (--proxy
 * SOCKET, by default $RPCI_PROXY, else RPCI_PROXY_DEFAULT_SOCKET; no EAL),
 * or owning the host's port with the proxy's core embedded (--config FILE
 * --host NAME, EAL arguments before "--"). Their options, their check, and
 * an open and a close that own EAL, the core and the deployment file when
 * embedded. Private to app/.
 *
 *   struct app_client ac;
 *
 *   app_client_init(&ac, "rpci-x", false);
 *   getopt_long(...) with APP_CLIENT_LONG_OPTIONS: app_client_option()
 *   app_client_check(&ac, argc, argv);        usage errors (exit 2)
 *   app_client_load(&ac, &args);              the file, before anything starts (exit 2)
 *   client = app_client_open(&ac, &args);     EAL, the core, the client (exit 1)
 *   ...
 *   app_client_close(&ac);
 */

#include <getopt.h>
#include <stdbool.h>

#include "app_common.h"
#include "rpci_client.h"
#include "rpci_conf.h"
#include "rpci_proxy.h"

/* The getopt values of the options (as the programs have always used). */
enum {
	APP_CLIENT_OPT_PROXY = 'X',
	APP_CLIENT_OPT_CONFIG = 'c',
	APP_CLIENT_OPT_HOST = 'H',
};

/* The options, for a program's table of long options. */
#define APP_CLIENT_LONG_OPTIONS \
	{ "proxy", required_argument, NULL, APP_CLIENT_OPT_PROXY }, \
	{ "config", required_argument, NULL, APP_CLIENT_OPT_CONFIG }, \
	{ "host", required_argument, NULL, APP_CLIENT_OPT_HOST }

/* Their lines of --help. */
#define APP_CLIENT_HELP \
	"  --proxy SOCKET      the host's rpci-proxy (default: $RPCI_PROXY, else\n" \
	"                      " RPCI_PROXY_DEFAULT_SOCKET ")\n" \
	"  --config FILE --host NAME   own the port of client host NAME instead (the\n" \
	"                      proxy's core in this process; no rpci-proxy there)\n"

struct app_client {
	const char *prog;     /* for messages, and the name the core gives the client */
	bool command;         /* a command, not a daemon: EAL without its telemetry thread */
	const char *proxy;    /* --proxy SOCKET */
	const char *config;   /* --config FILE */
	const char *host;     /* --host NAME */
	/* embedded (--config), once loaded and opened */
	struct rpci_conf *conf;
	const struct rpci_conf_host *conf_host;
	bool eal_started;
	struct rpci_proxy *core;
	/* both */
	struct rpci_client *client;
};

/* Start with no option given. command: EAL runs without its telemetry thread. */
void app_client_init(struct app_client *ac, const char *prog, bool command);

/* An option of getopt: 0 (one of APP_CLIENT_LONG_OPTIONS, taken) or 1 (not one). */
int app_client_option(struct app_client *ac, int opt, const char *arg);

/*
 * After getopt: no argument left over (from optind on); --config and
 * --host together or not at all, and then no --proxy. 0, or -1 with the
 * reason printed as "prog: ...".
 */
int app_client_check(const struct app_client *ac, int argc, char **argv);

/* --h2d push|pull (rpci-run, rpci-bench): 0, or -1 with the reason printed. */
int app_client_parse_h2d(const struct app_client *ac, const char *arg,
			 enum rpci_h2d_mode *mode);

/* Whether the proxy's core is embedded (--config and --host). */
bool app_client_embedded(const struct app_client *ac);

/* The proxy's socket a program of the proxy uses (--proxy, $RPCI_PROXY or the default). */
const char *app_client_socket(const struct app_client *ac);

/*
 * Before anything starts: EAL arguments only with --config; embedded, the
 * deployment file loaded and the host (of the client role) found
 * (ac->conf, ac->conf_host). 0, or -1 with the reason printed (bad usage:
 * exit 2).
 */
int app_client_load(struct app_client *ac, const struct app_args *args);

/*
 * Reach the devices: embedded, EAL with the host's settings, the proxy's
 * core and a client of it; else a client of the proxy. The client (also
 * ac->client), or NULL with the reason printed.
 */
struct rpci_client *app_client_open(struct app_client *ac, const struct app_args *args);

/*
 * Destroy the client and the core (the host's port is closed), leaving EAL
 * up for what the program still has to free of its own (a mempool).
 */
void app_client_disconnect(struct app_client *ac);

/* Destroy the client, the core, EAL and the file, whatever was made; again is harmless. */
void app_client_close(struct app_client *ac);

#endif /* RPCI_APP_CLIENT_H */
