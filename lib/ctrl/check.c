/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Who may send which control message, and what it may say about its
 * sender: the role rules of doc/security.md, against the deployment file.
 * The sender is known (authenticated by lib/auth, or by its address when
 * authentication is off); this decides whether it may.
 */

#include <string.h>

#include "rpci_conf.h"
#include "rpci_ctrl.h"

/* Who may send a type to whom: the sender's role, and the receiver's. */
struct check_rule {
	unsigned int from; /* enum rpci_conf_role bits; SELECTOR means the deployment's selector */
	unsigned int to;
};

static const struct check_rule g_rules[] = {
	[RPCI_CTRL_REGISTER] = { RPCI_ROLE_SERVER, RPCI_ROLE_SELECTOR },
	[RPCI_CTRL_STATUS] = { RPCI_ROLE_SERVER, RPCI_ROLE_SELECTOR },
	[RPCI_CTRL_REQUEST] = { RPCI_ROLE_CLIENT, RPCI_ROLE_SELECTOR },
	[RPCI_CTRL_ATTACH] = { RPCI_ROLE_SELECTOR, RPCI_ROLE_CLIENT | RPCI_ROLE_SERVER },
	[RPCI_CTRL_REJECT] = { RPCI_ROLE_SELECTOR, RPCI_ROLE_CLIENT },
	[RPCI_CTRL_DETACH] = { RPCI_ROLE_SELECTOR, RPCI_ROLE_CLIENT | RPCI_ROLE_SERVER },
	[RPCI_CTRL_RELEASE] = { RPCI_ROLE_CLIENT, RPCI_ROLE_SELECTOR },
	[RPCI_CTRL_RENEW] = { RPCI_ROLE_CLIENT, RPCI_ROLE_SELECTOR },
	[RPCI_CTRL_REPORT] = { RPCI_ROLE_CLIENT, RPCI_ROLE_SELECTOR },
	/* a client to the selector, which passes it on to a client */
	[RPCI_CTRL_MESSAGE] = { RPCI_ROLE_CLIENT | RPCI_ROLE_SELECTOR,
				RPCI_ROLE_SELECTOR | RPCI_ROLE_CLIENT },
	[RPCI_CTRL_ACK] = { RPCI_ROLE_SERVER | RPCI_ROLE_CLIENT | RPCI_ROLE_SELECTOR,
			    RPCI_ROLE_SERVER | RPCI_ROLE_CLIENT | RPCI_ROLE_SELECTOR },
};

/* The sender's roles that count: "selector" only for the deployment's selector host. */
static unsigned int
sender_roles(const struct rpci_conf *conf, const struct rpci_conf_host *sender)
{
	unsigned int r = sender->roles;

	if (!conf->selector.present || strcmp(conf->selector.host, sender->name) != 0) {
		r &= ~(unsigned int)RPCI_ROLE_SELECTOR;
	}
	return r;
}

static enum rpci_ctrl_verdict
check_forged(const char *text, const char **why)
{
	if (why != NULL) {
		*why = text;
	}
	return RPCI_CTRL_FORGED;
}

/* A REGISTER must be the sender's own device, as the file describes it. */
static enum rpci_ctrl_verdict
check_register(const struct rpci_conf_host *sender, const struct rpci_sel_device_info *reg,
	       const char **why)
{
	const struct rpci_conf_device *d;

	if (strcmp(reg->server, sender->name) != 0) {
		return check_forged("REGISTER names another server than its sender", why);
	}
	if (memcmp(reg->server_mac, sender->mac, 6) != 0) {
		return check_forged("REGISTER gives another address than its sender's", why);
	}
	d = rpci_conf_device_find(sender, reg->device);
	if (d == NULL || reg->device[0] == '\0' ||
	    rpci_conf_device_index(sender, d) != (int)reg->function) {
		return check_forged("REGISTER names a device its server does not have", why);
	}
	if (reg->vendor_id != d->vendor_id || reg->device_id != d->device_id ||
	    reg->class_code != d->class_code || reg->memory_bytes != d->memory_bytes ||
	    strcmp(reg->backend, d->backend) != 0) {
		return check_forged("REGISTER describes a device otherwise than the "
				    "deployment file", why);
	}
	return RPCI_CTRL_ALLOWED;
}

static enum rpci_ctrl_verdict
check_status(const struct rpci_conf *conf, const struct rpci_conf_host *sender,
	     const struct rpci_ctrl_msg *m, const char **why)
{
	const struct rpci_conf_device *d;
	const struct rpci_conf_host *client;

	if (strcmp(m->u.status.server, sender->name) != 0) {
		return check_forged("STATUS names another server than its sender", why);
	}
	d = rpci_conf_device_find(sender, m->u.status.device);
	if (d == NULL || m->u.status.device[0] == '\0') {
		return check_forged("STATUS names a device its server does not have", why);
	}
	if (m->u.status.st.memory_free > d->memory_bytes) {
		return check_forged("STATUS gives more free memory than the device has", why);
	}
	if (m->u.status.st.in_use) {
		client = rpci_conf_host_by_mac(conf, m->u.status.st.client_mac);
		if (client == NULL || !(client->roles & RPCI_ROLE_CLIENT)) {
			return check_forged("STATUS gives a client that is no client of the "
					    "deployment", why);
		}
	}
	return RPCI_CTRL_ALLOWED;
}

enum rpci_ctrl_verdict
rpci_ctrl_check(const struct rpci_conf *conf, const struct rpci_conf_host *sender,
		unsigned int roles, const struct rpci_ctrl_msg *msg, const char **why)
{
	const struct check_rule *rule;
	unsigned int from;

	if (why != NULL) {
		*why = NULL;
	}
	if (conf == NULL || sender == NULL || msg == NULL ||
	    (unsigned int)msg->type >= sizeof(g_rules) / sizeof(g_rules[0]) ||
	    g_rules[msg->type].from == 0) {
		if (why != NULL) {
			*why = "not a message type";
		}
		return RPCI_CTRL_ROLE;
	}
	rule = &g_rules[msg->type];
	from = sender_roles(conf, sender);
	if (!(from & rule->from) || !(roles & rule->to)) {
		if (why != NULL) {
			*why = !(roles & rule->to) ? "a message this endpoint does not take" :
			       "a message its sender's role may not send";
		}
		return RPCI_CTRL_ROLE;
	}
	switch (msg->type) {
	case RPCI_CTRL_REGISTER:
		return check_register(sender, &msg->u.reg, why);
	case RPCI_CTRL_STATUS:
		return check_status(conf, sender, msg, why);
	case RPCI_CTRL_RENEW:
		if (memcmp(msg->u.renew.client_mac, sender->mac, 6) != 0) {
			return check_forged("RENEW for another address than its sender's", why);
		}
		return RPCI_CTRL_ALLOWED;
	case RPCI_CTRL_MESSAGE:
		/* To the selector: from a client, who must sign with its own name. */
		if ((roles & RPCI_ROLE_SELECTOR) && !(from & RPCI_ROLE_CLIENT)) {
			if (why != NULL) {
				*why = "a MESSAGE to the selector from another than a client";
			}
			return RPCI_CTRL_ROLE;
		}
		if ((roles & RPCI_ROLE_SELECTOR) &&
		    strcmp(msg->u.message.from, sender->name) != 0) {
			return check_forged("MESSAGE signed with another name than its sender's",
					    why);
		}
		/* To a client: only the selector passes messages on. */
		if (!(roles & RPCI_ROLE_SELECTOR) && !(from & RPCI_ROLE_SELECTOR)) {
			if (why != NULL) {
				*why = "a MESSAGE to a client from another than the selector";
			}
			return RPCI_CTRL_ROLE;
		}
		return RPCI_CTRL_ALLOWED;
	default:
		return RPCI_CTRL_ALLOWED;
	}
}
