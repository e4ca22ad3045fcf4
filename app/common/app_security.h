/* SPDX-License-Identifier: BSD-3-Clause */

#ifndef RPCI_APP_SECURITY_H
#define RPCI_APP_SECURITY_H

/*
 * A daemon's keys and what its control channels refused: loaded at start
 * (a bad key file stops the process with its reason; auth = "none" is said
 * loudly), shown by the console's "show security" and telemetry's
 * /rpci/security. Private to app/.
 */

#include <stdint.h>

#include "rpci_auth.h"
#include "rpci_conf.h"
#include "rpci_ctrl.h"
#include "rpci_ctrlnode.h"
#include "rpci_link.h"

struct cmdline;

#define APP_SECURITY_CHANS 2

struct app_security {
	const struct rpci_conf *conf;
	struct rpci_auth *auth;
	/* the process's control channels, and the selector here (or NULL) */
	struct rpci_ctrl_chan *chan[APP_SECURITY_CHANS];
	const char *chan_name[APP_SECURITY_CHANS];
	unsigned int nb_chans;
	struct rpci_ctrlnode_selector *node;
	/* the process's link: its sessions' refusals (NULL: none) */
	struct rpci_link *link;
};

/* Everything refused, summed over the channels. */
struct app_security_totals {
	struct rpci_ctrl_chan_stats chan;   /* rx_* refusals summed */
	struct rpci_auth_stats auth;        /* by lib/auth's reason */
	uint64_t not_holder;                /* RELEASE/REPORT of a lease that is not the sender's */
	uint64_t over_limit;                /* REQUESTs over the client's limits */
	struct rpci_link_stats link;        /* the sessions': frames and OPENs refused */
	uint64_t link_refused;              /* of those, all */
	uint64_t refused;                   /* all of the above */
};

/*
 * Load the host's keys (auth.auth), or say loudly that authentication is
 * off. 0, or -1 with the reason printed.
 */
int app_security_init(struct app_security *s, const char *prog, const struct rpci_conf *conf,
		      const struct rpci_conf_host *host);

/* Free the keys. */
void app_security_fini(struct app_security *s);

/*
 * Count the refusals of a control channel (secured by its endpoint,
 * lib/ctrlnode, with s->auth). 0, or -1 (too many channels).
 */
int app_security_add_chan(struct app_security *s, const char *name, struct rpci_ctrl_chan *c);

/* Sum the refusals. */
void app_security_totals(const struct app_security *s, struct app_security_totals *t);

/* The console's "show security". */
int app_security_show(void *arg, struct cmdline *cl);

/* Telemetry /rpci/security. 0 or a negative errno. */
int app_security_register_telemetry(struct app_security *s);

#endif /* RPCI_APP_SECURITY_H */
