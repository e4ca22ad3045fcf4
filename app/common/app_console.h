/* SPDX-License-Identifier: BSD-3-Clause */

#ifndef RPCI_APP_CONSOLE_H
#define RPCI_APP_CONSOLE_H

/*
 * The console of a daemon (rpci-server, rpci-selector): the process's
 * terminal with -i, a command file with --cmdfile, and sessions on the
 * host's console socket (rpci-console, "rpci-cluster console"). Commands
 * run in the poll loop's thread, from app_console_poll(). Private to app/.
 */

#include <stdbool.h>

#include "rpci_conf.h"
#include "rpci_console.h"
#include "rpci_ctrlnode.h"
#include "rpci_link.h"

struct app_security;

struct app_console {
	struct rpci_console *console;
	/* set before app_console_start() */
	struct rpci_ctrlnode_selector *node;         /* the selector here, or NULL */
	struct app_security *security;               /* "show security", or NULL */
	int (*show_devices)(void *arg, struct cmdline *cl); /* NULL: no devices */
	int (*show_clients)(void *arg, struct cmdline *cl); /* NULL: the selector's, if any */
	int (*set_personality)(void *arg, const char *device, const char *profile, char *msg,
			       size_t len);                 /* NULL: no devices */
	int (*reset_device)(void *arg, const char *device, char *msg, size_t len);
	void *arg;                                   /* of the callbacks */
};

/*
 * Open the console: run cmdfile (if not NULL; failed commands are reported
 * and do not stop the process), listen on the host's console socket, and
 * take the terminal if interactive. 0 or -1 (message printed).
 */
int app_console_start(struct app_console *ac, const char *prog, const struct rpci_conf *conf,
		      const struct rpci_conf_host *host, struct rpci_link *link,
		      bool interactive, const char *cmdfile);

/* The console's work, for the poll loop: returns the work done. */
int app_console_poll(struct app_console *ac);

/* Close the console (restores the terminal, removes the socket). */
void app_console_stop(struct app_console *ac);

#endif /* RPCI_APP_CONSOLE_H */
