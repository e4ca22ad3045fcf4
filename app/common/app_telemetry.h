/* SPDX-License-Identifier: BSD-3-Clause */

#ifndef RPCI_APP_TELEMETRY_H
#define RPCI_APP_TELEMETRY_H

/*
 * DPDK telemetry commands of the rpci daemons (/rpci/...), readable with
 * usertools/rpci-telemetry or DPDK's dpdk-telemetry.py. A command's handler
 * runs in the telemetry thread, but the state it reports (link, selector
 * table, devices) belongs to the poll loop: the handler hands its request to
 * the loop, which builds the answer in app_telemetry_poll() and hands it
 * back. No locks on the data path; one atomic load per loop turn.
 * Private to app/.
 */

#include <rte_telemetry.h>

#include "rpci_ctrlnode.h"
#include "rpci_link.h"

/* Builds an answer in d, on the poll loop's thread. 0 or a negative errno. */
typedef int (*app_tel_builder)(void *arg, const char *params, struct rte_tel_data *d);

/*
 * Register command cmd ("/rpci/..."). 0, -ENOSPC (too many commands), or
 * what rte_telemetry_register_cmd() returns.
 */
int app_telemetry_register(const char *cmd, app_tel_builder fn, void *arg, const char *help);

/*
 * A table as columns (DPDK 22.11 telemetry nests only arrays of scalars):
 * col_new() a column (strings or numbers), col_str()/col_u64() a value per
 * row, cols_end() puts them in the reply dict d (0, or -ENOMEM).
 */
#define TEL_COLS_MAX 16
struct tel_cols {
	struct rte_tel_data *d;
	struct rte_tel_data *col[TEL_COLS_MAX];
	const char *name[TEL_COLS_MAX];
	unsigned int nb;
	bool no_memory;
};
unsigned int col_new(struct tel_cols *t, const char *name, bool str);
void col_str(struct tel_cols *t, unsigned int i, const char *v);
void col_u64(struct tel_cols *t, unsigned int i, uint64_t v);
int cols_end(struct tel_cols *t);

/* The link's commands: /rpci/link. */
int app_telemetry_register_link(struct rpci_link *link);

/* The selector's: /rpci/servers, /rpci/table, /rpci/sessions, /rpci/selector. */
int app_telemetry_register_selnode(struct rpci_ctrlnode_selector *n);

/* For the poll loop: answer a pending request. Returns the work done. */
int app_telemetry_poll(void);

/* The loop has ended: requests fail from now on. */
void app_telemetry_stop(void);

#endif /* RPCI_APP_TELEMETRY_H */
