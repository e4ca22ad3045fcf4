/* SPDX-License-Identifier: BSD-3-Clause */

#ifndef RPCI_CTRLNODE_PRIVATE_H
#define RPCI_CTRLNODE_PRIVATE_H

/*
 * What the three endpoints of lib/ctrlnode share (ctrlnode.c): the
 * deployment and host they play, the selector's address, a control
 * channel secured for their role, the clock, the log. Not for other
 * libraries.
 */

#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_log.h>

#include "rpci_conf.h"
#include "rpci_ctrl.h"
#include "rpci_ctrlnode.h"

extern int rpci_ctrlnode_logtype;

#define CTRLNODE_LOG(level, b, fmt, ...) \
	rte_log(RTE_LOG_ ## level, rpci_ctrlnode_logtype, "rpci.ctrlnode: %s %s: %s(): " fmt "\n", \
		(b)->role, (b)->host->name, __func__, ##__VA_ARGS__)

struct ctrlnode_base {
	const struct rpci_conf *conf;
	const struct rpci_conf_host *host;
	const char *role;            /* "client", "server", "selector": for the logs */
	struct rpci_ctrl_chan *chan;
	struct rpci_ctrl_chan_io io; /* its clock, if not the TSC */
	uint64_t tsc_per_us;         /* the TSC's (io.now_us NULL) */
	uint64_t given_up_us;        /* the channel stops resending a message after this long */
	uint8_t selector_mac[6];     /* the deployment's selector */
};

/*
 * Check params for an endpoint of role (an enum rpci_conf_role bit; the
 * selector role means the deployment's selector host) and make its
 * channel, secured for that role. pending_max: reliable messages waiting
 * at once; id_shift: where the message ids start (the TSC's low 32 bits,
 * shifted, so that a restarted process does not reuse its ids). 0, or a
 * negative errno (logged).
 */
int ctrlnode_base_init(struct ctrlnode_base *b, const struct rpci_ctrlnode_params *p,
		       const char *role, unsigned int role_bit, uint32_t pending_max,
		       unsigned int id_shift);

/* Free the channel. */
void ctrlnode_base_fini(struct ctrlnode_base *b);

/*
 * An endpoint of size bytes (zeroed) that starts with its struct
 * ctrlnode_base, made by ctrlnode_base_init(): the endpoint, or NULL with
 * errno set.
 */
void *ctrlnode_new(size_t size, const struct rpci_ctrlnode_params *p, const char *role,
		   unsigned int role_bit, uint32_t pending_max, unsigned int id_shift);

/* Free what ctrlnode_new() made (its channel, then itself). */
void ctrlnode_delete(struct ctrlnode_base *b);

/* Microseconds of the endpoint's clock. */
uint64_t ctrlnode_now_us(const struct ctrlnode_base *b);

/* Send m once, or until the selector acknowledges it. 0 or a negative errno. */
int ctrlnode_to_selector(struct ctrlnode_base *b, struct rpci_ctrl_msg *m, bool reliable);

#endif /* RPCI_CTRLNODE_PRIVATE_H */
