/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * What the endpoints of the control plane share: the checks of their
 * making, the channel (lib/ctrl) secured for their role (lib/auth), the
 * clock their timers run on, and the library's log type.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_log.h>

#include "ctrlnode_private.h"

RTE_LOG_REGISTER(rpci_ctrlnode_logtype, rpci.lib.ctrlnode, INFO);

/* Whether host plays role in conf: the selector role only on the selector's host. */
static bool
plays(const struct rpci_conf *conf, const struct rpci_conf_host *host, unsigned int role_bit)
{
	if (role_bit == RPCI_ROLE_SELECTOR) {
		return strcmp(conf->selector.host, host->name) == 0;
	}
	return (host->roles & role_bit) != 0;
}

int
ctrlnode_base_init(struct ctrlnode_base *b, const struct rpci_ctrlnode_params *p,
		   const char *role, unsigned int role_bit, uint32_t pending_max,
		   unsigned int id_shift)
{
	const struct rpci_conf_host *sh;
	uint64_t hz;
	uint32_t retry_ms, max_tries;
	int ret;

	memset(b, 0, sizeof(*b));
	if (p == NULL || p->conf == NULL || p->host == NULL || p->auth == NULL ||
	    !p->conf->selector.present) {
		return -EINVAL;
	}
	b->conf = p->conf;
	b->host = p->host;
	b->role = role;
	if (!plays(p->conf, p->host, role_bit)) {
		CTRLNODE_LOG(ERR, b, "host '%s' is no %s of %s", p->host->name, role,
			     p->conf->path);
		return -EINVAL;
	}
	sh = rpci_conf_host_find(p->conf, p->conf->selector.host);
	if (sh == NULL) {
		CTRLNODE_LOG(ERR, b, "the selector host '%s' is not in %s", p->conf->selector.host,
			     p->conf->path);
		return -EINVAL;
	}
	memcpy(b->selector_mac, sh->mac, 6);
	b->io = p->io;
	hz = rte_get_timer_hz();
	b->tsc_per_us = hz / 1000000 != 0 ? hz / 1000000 : 1;
	retry_ms = p->retry_ms != 0 ? p->retry_ms : RPCI_CTRLNODE_RETRY_MS;
	max_tries = p->max_tries != 0 ? p->max_tries : RPCI_CTRLNODE_MAX_TRIES;
	b->given_up_us = (uint64_t)retry_ms * max_tries * 1000;
	b->chan = rpci_ctrl_chan_create_io(&p->io, retry_ms, max_tries, pending_max,
					   (rte_get_timer_cycles() & 0xffffffffull) << id_shift);
	if (b->chan == NULL) {
		ret = -errno;
		CTRLNODE_LOG(ERR, b, "cannot create the control channel: %s", strerror(errno));
		return ret;
	}
	/* Only what the role may take, from who may send it (doc/security.md). */
	ret = rpci_ctrl_chan_secure(b->chan, p->auth, role_bit);
	if (ret < 0) {
		CTRLNODE_LOG(ERR, b, "cannot secure the control channel: %s", strerror(-ret));
		rpci_ctrl_chan_free(b->chan);
		b->chan = NULL;
		return ret;
	}
	return 0;
}

void
ctrlnode_base_fini(struct ctrlnode_base *b)
{
	rpci_ctrl_chan_free(b->chan);
	b->chan = NULL;
}

void *
ctrlnode_new(size_t size, const struct rpci_ctrlnode_params *p, const char *role,
	     unsigned int role_bit, uint32_t pending_max, unsigned int id_shift)
{
	struct ctrlnode_base *b = calloc(1, size);
	int ret;

	if (b == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	ret = ctrlnode_base_init(b, p, role, role_bit, pending_max, id_shift);
	if (ret < 0) {
		free(b);
		errno = -ret;
		return NULL;
	}
	return b;
}

void
ctrlnode_delete(struct ctrlnode_base *b)
{
	if (b != NULL) {
		ctrlnode_base_fini(b);
		free(b);
	}
}

uint64_t
ctrlnode_now_us(const struct ctrlnode_base *b)
{
	if (b->io.now_us != NULL) {
		return b->io.now_us(b->io.arg);
	}
	return rte_get_timer_cycles() / b->tsc_per_us;
}

int
ctrlnode_to_selector(struct ctrlnode_base *b, struct rpci_ctrl_msg *m, bool reliable)
{
	if (reliable) {
		return rpci_ctrl_chan_send_reliable(b->chan, b->selector_mac, m);
	}
	return rpci_ctrl_chan_send(b->chan, b->selector_mac, m);
}
