/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Console commands of the server selector: show table [json], show
 * sessions, show clients, set policy, attach, detach, drain.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "console_private.h"

#define POLICIES "first-fit#best-fit#least-loaded#learned"

static bool
need_selector(struct rpci_console *c, struct cmdline *cl, const char *cmd)
{
	if (c->env.selector != NULL) {
		return true;
	}
	console_err(c, cl, "%s: %s has no selector (open the console of rpci-selector)", cmd,
		    console_prog(c));
	return false;
}

/* The whole table, or NULL (error printed). */
static struct rpci_sel_row *
table_read(struct rpci_console *c, struct cmdline *cl, const char *cmd, uint32_t *nb)
{
	struct rpci_sel_row *rows = NULL, *bigger;
	uint32_t cap = 64, n;

	for (;;) {
		bigger = realloc(rows, (size_t)cap * sizeof(*rows));
		if (bigger == NULL) {
			free(rows);
			console_err(c, cl, "%s: out of memory", cmd);
			return NULL;
		}
		rows = bigger;
		memset(rows, 0, (size_t)cap * sizeof(*rows));
		n = rpci_selector_table(c->env.selector, rows, cap);
		if (n <= cap) {
			break;
		}
		cap = n;
	}
	*nb = n;
	return rows;
}

static char *
mac_str(const uint8_t mac[6], char *buf, size_t len)
{
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
		 mac[4], mac[5]);
	return buf;
}

static double
lease_left_s(const struct rpci_sel_row *r, uint64_t now)
{
	return ((double)r->att.expires_us - (double)now) / 1e6;
}

static double
heartbeat_age_ms(const struct rpci_sel_row *r, uint64_t now)
{
	return now > r->last_heartbeat_us ? (double)(now - r->last_heartbeat_us) / 1e3 : 0.0;
}

/* Print the outcome of an action callback. */
static void
action_done(struct rpci_console *c, struct cmdline *cl, const char *what, int ret,
	    const char *msg, const char *ok)
{
	if (ret < 0) {
		console_err(c, cl, "%s: %s", what, msg[0] != '\0' ? msg : strerror(-ret));
		return;
	}
	cmdline_printf(cl, "%s\n", msg[0] != '\0' ? msg : ok);
}

/* *** show table *** */
struct cmd_show_table_result {
	cmdline_fixed_string_t show;
	cmdline_fixed_string_t table;
};

static void
cmd_show_table_parsed(void *parsed_result, struct cmdline *cl, void *data)
{
	struct rpci_console *c = data;
	struct rpci_sel_row *rows;
	uint64_t now;
	uint32_t n, i;

	RTE_SET_USED(parsed_result);
	if (!need_selector(c, cl, "show table")) {
		return;
	}
	rows = table_read(c, cl, "show table", &n);
	if (rows == NULL) {
		return;
	}
	now = console_now_us(c);
	cmdline_printf(cl, "policy %s, %u devices\n",
		       rpci_selector_policy_name(rpci_selector_policy(c->env.selector)), n);
	cmdline_printf(cl, "%-12s %-12s %-9s %-8s %8s %8s %5s %-17s %8s %9s %12s %-9s %-6s %8s"
		       "\n", "SERVER", "DEVICE", "STATE", "BACKEND", "MEM_MIB", "FREE_MIB", "LOAD",
		       "CLIENT", "LEASE", "EXPIRES_S", "HEARTBEAT_MS", "ID", "CLASS", "LOAD_AVG");
	for (i = 0; i < n; i++) {
		const struct rpci_sel_row *r = &rows[i];
		char client[24] = "-", lease[24] = "-", expires[24] = "-";

		if (r->attached) {
			mac_str(r->att.client_mac, client, sizeof(client));
			snprintf(lease, sizeof(lease), "%" PRIu64, r->att.lease_id);
			snprintf(expires, sizeof(expires), "%.1f", lease_left_s(r, now));
		} else if (r->status.in_use) {
			mac_str(r->status.client_mac, client, sizeof(client));
		}
		cmdline_printf(cl, "%-12s %-12s %-9s %-8s %8" PRIu64 " %8" PRIu64
			       " %5.2f %-17s %8s %9s %12.0f %04x:%04x %06x %8.2f\n",
			       r->info.server, r->info.device, rpci_selector_state_name(r->state),
			       r->info.backend, r->info.memory_bytes >> 20,
			       r->status.memory_free >> 20, r->status.load, client, lease,
			       expires, heartbeat_age_ms(r, now), r->info.vendor_id,
			       r->info.device_id, r->info.class_code, r->load_avg);
	}
	free(rows);
}

static cmdline_parse_token_string_t cmd_show_table_show =
	TOKEN_STRING_INITIALIZER(struct cmd_show_table_result, show, "show");
static cmdline_parse_token_string_t cmd_show_table_table =
	TOKEN_STRING_INITIALIZER(struct cmd_show_table_result, table, "table");

static cmdline_parse_inst_t cmd_show_table = {
	.f = cmd_show_table_parsed,
	.data = NULL,
	.help_str = "show table: the selector's table, one row per device: server, device, "
		    "state, backend, memory, load, client, lease, its expiry, heartbeat age, "
		    "identity, class, smoothed load",
	.tokens = {
		(void *)&cmd_show_table_show,
		(void *)&cmd_show_table_table,
		NULL,
	},
};

/* *** show table json *** */
struct cmd_show_table_json_result {
	cmdline_fixed_string_t show;
	cmdline_fixed_string_t table;
	cmdline_fixed_string_t json;
};

/* Usage counters as members of o (numbers: exact below 2^53). */
static void
usage_json(cJSON *o, const struct rpci_sel_usage *u)
{
	cJSON_AddNumberToObject(o, "bytes_in", (double)u->bytes_in);
	cJSON_AddNumberToObject(o, "bytes_out", (double)u->bytes_out);
	cJSON_AddNumberToObject(o, "kernels", (double)u->kernels);
	cJSON_AddNumberToObject(o, "kernel_ns", (double)u->kernel_ns);
	cJSON_AddNumberToObject(o, "mem_high", (double)u->mem_high);
	cJSON_AddNumberToObject(o, "errors", (double)u->errors);
}

static cJSON *
row_json(const struct rpci_sel_row *r, uint64_t now)
{
	cJSON *o = cJSON_CreateObject();
	char mac[24], lease[24];

	if (o == NULL) {
		return NULL;
	}
	cJSON_AddStringToObject(o, "server", r->info.server);
	cJSON_AddStringToObject(o, "server_mac", mac_str(r->info.server_mac, mac, sizeof(mac)));
	cJSON_AddStringToObject(o, "device", r->info.device);
	cJSON_AddNumberToObject(o, "function", r->info.function);
	cJSON_AddStringToObject(o, "state", rpci_selector_state_name(r->state));
	cJSON_AddStringToObject(o, "backend", r->info.backend);
	cJSON_AddStringToObject(o, "device_name", r->info.device_name);
	cJSON_AddNumberToObject(o, "vendor_id", r->info.vendor_id);
	cJSON_AddNumberToObject(o, "device_id", r->info.device_id);
	cJSON_AddNumberToObject(o, "class_code", r->info.class_code);
	cJSON_AddNumberToObject(o, "memory_bytes", (double)r->info.memory_bytes);
	cJSON_AddNumberToObject(o, "memory_free", (double)r->status.memory_free);
	cJSON_AddNumberToObject(o, "load", r->status.load);
	cJSON_AddBoolToObject(o, "in_use", r->status.in_use);
	if (r->attached) {
		cJSON_AddStringToObject(o, "client_mac",
					mac_str(r->att.client_mac, mac, sizeof(mac)));
		/* all digits (cJSON prints numbers with 15: lease ids have up to 16) */
		snprintf(lease, sizeof(lease), "%" PRIu64, r->att.lease_id);
		cJSON_AddRawToObject(o, "lease_id", lease);
		cJSON_AddNumberToObject(o, "lease_expires_s", lease_left_s(r, now));
	} else {
		if (r->status.in_use) {
			cJSON_AddStringToObject(o, "client_mac",
						mac_str(r->status.client_mac, mac, sizeof(mac)));
		} else {
			cJSON_AddNullToObject(o, "client_mac");
		}
		cJSON_AddNullToObject(o, "lease_id");
		cJSON_AddNullToObject(o, "lease_expires_s");
	}
	cJSON_AddNumberToObject(o, "heartbeat_age_ms", heartbeat_age_ms(r, now));
	cJSON_AddNumberToObject(o, "predicted_us", r->predicted_us);
	cJSON_AddNumberToObject(o, "load_avg", r->load_avg);
	usage_json(o, &r->status.total);
	return o;
}

static void
cmd_show_table_json_parsed(void *parsed_result, struct cmdline *cl, void *data)
{
	struct rpci_console *c = data;
	struct rpci_sel_row *rows;
	cJSON *top, *devs, *o;
	char *text;
	uint64_t now;
	uint32_t n, i;

	RTE_SET_USED(parsed_result);
	if (!need_selector(c, cl, "show table json")) {
		return;
	}
	rows = table_read(c, cl, "show table json", &n);
	if (rows == NULL) {
		return;
	}
	now = console_now_us(c);
	top = cJSON_CreateObject();
	if (top == NULL) {
		goto no_memory;
	}
	cJSON_AddStringToObject(top, "policy",
				rpci_selector_policy_name(rpci_selector_policy(c->env.selector)));
	devs = cJSON_AddArrayToObject(top, "devices");
	if (devs == NULL) {
		goto no_memory;
	}
	for (i = 0; i < n; i++) {
		o = row_json(&rows[i], now);
		if (o == NULL) {
			goto no_memory;
		}
		cJSON_AddItemToArray(devs, o);
	}
	text = cJSON_PrintUnformatted(top);
	if (text == NULL) {
		goto no_memory;
	}
	cmdline_printf(cl, "%s\n", text);
	cJSON_free(text);
	cJSON_Delete(top);
	free(rows);
	return;

no_memory:
	console_err(c, cl, "show table json: out of memory");
	cJSON_Delete(top);
	free(rows);
}

static cmdline_parse_token_string_t cmd_show_table_json_show =
	TOKEN_STRING_INITIALIZER(struct cmd_show_table_json_result, show, "show");
static cmdline_parse_token_string_t cmd_show_table_json_table =
	TOKEN_STRING_INITIALIZER(struct cmd_show_table_json_result, table, "table");
static cmdline_parse_token_string_t cmd_show_table_json_json =
	TOKEN_STRING_INITIALIZER(struct cmd_show_table_json_result, json, "json");

static cmdline_parse_inst_t cmd_show_table_json = {
	.f = cmd_show_table_json_parsed,
	.data = NULL,
	.help_str = "show table json: the same table as one line of JSON "
		    "({\"policy\":..., \"devices\":[...]})",
	.tokens = {
		(void *)&cmd_show_table_json_show,
		(void *)&cmd_show_table_json_table,
		(void *)&cmd_show_table_json_json,
		NULL,
	},
};

/* *** show sessions *** */
struct cmd_show_sessions_result {
	cmdline_fixed_string_t show;
	cmdline_fixed_string_t sessions;
};

static void
cmd_show_sessions_parsed(void *parsed_result, struct cmdline *cl, void *data)
{
	struct rpci_console *c = data;
	struct rpci_sel_row *rows;
	unsigned int shown = 0;
	uint64_t now;
	uint32_t n, i;
	int ret;

	RTE_SET_USED(parsed_result);
	if (c->env.show_sessions != NULL) {
		ret = c->env.show_sessions(c->env.arg, cl);
		if (ret < 0) {
			console_err(c, cl, "show sessions: %s", strerror(-ret));
		}
		return;
	}
	if (!need_selector(c, cl, "show sessions")) {
		return;
	}
	rows = table_read(c, cl, "show sessions", &n);
	if (rows == NULL) {
		return;
	}
	now = console_now_us(c);
	cmdline_printf(cl, "%-8s %-17s %-12s %-12s %-9s %9s\n", "LEASE", "CLIENT", "SERVER",
		       "DEVICE", "STATE", "EXPIRES_S");
	for (i = 0; i < n; i++) {
		const struct rpci_sel_row *r = &rows[i];
		char mac[24];

		if (!r->attached) {
			continue;
		}
		cmdline_printf(cl, "%-8" PRIu64 " %-17s %-12s %-12s %-9s %9.1f\n", r->att.lease_id,
			       mac_str(r->att.client_mac, mac, sizeof(mac)), r->att.server,
			       r->att.device, rpci_selector_state_name(r->state),
			       lease_left_s(r, now));
		shown++;
	}
	cmdline_printf(cl, "%u attachments\n", shown);
	free(rows);
}

static cmdline_parse_token_string_t cmd_show_sessions_show =
	TOKEN_STRING_INITIALIZER(struct cmd_show_sessions_result, show, "show");
static cmdline_parse_token_string_t cmd_show_sessions_sessions =
	TOKEN_STRING_INITIALIZER(struct cmd_show_sessions_result, sessions, "sessions");

static cmdline_parse_inst_t cmd_show_sessions = {
	.f = cmd_show_sessions_parsed,
	.data = NULL,
	.help_str = "show sessions: the attachments only: lease, client, server, device, "
		    "expiry",
	.tokens = {
		(void *)&cmd_show_sessions_show,
		(void *)&cmd_show_sessions_sessions,
		NULL,
	},
};

/* *** show clients *** */
struct cmd_show_clients_result {
	cmdline_fixed_string_t show;
	cmdline_fixed_string_t clients;
};

static void
cmd_show_clients_parsed(void *parsed_result, struct cmdline *cl, void *data)
{
	struct rpci_console *c = data;
	struct rpci_sel_client *cls;
	uint32_t n, i;
	int ret;

	RTE_SET_USED(parsed_result);
	if (c->env.show_clients != NULL) {
		ret = c->env.show_clients(c->env.arg, cl);
		if (ret < 0) {
			console_err(c, cl, "show clients: %s", strerror(-ret));
		}
		return;
	}
	if (!need_selector(c, cl, "show clients")) {
		return;
	}
	cls = calloc(RPCI_SEL_CLIENTS_MAX, sizeof(*cls));
	if (cls == NULL) {
		console_err(c, cl, "show clients: out of memory");
		return;
	}
	n = rpci_selector_clients(c->env.selector, cls, RPCI_SEL_CLIENTS_MAX);
	cmdline_printf(cl, "%-17s %-12s %8s %12s %12s %8s %10s %10s %6s\n", "CLIENT", "HOST",
		       "SESSIONS", "BYTES_IN", "BYTES_OUT", "KERNELS", "KERNEL_MS", "MEM_MIB",
		       "ERRORS");
	for (i = 0; i < n && i < RPCI_SEL_CLIENTS_MAX; i++) {
		const struct rpci_sel_client *k = &cls[i];
		const struct rpci_conf_host *h = c->env.conf != NULL ?
			rpci_conf_host_by_mac(c->env.conf, k->mac) : NULL;
		char mac[24];

		cmdline_printf(cl, "%-17s %-12s %8" PRIu64 " %12" PRIu64 " %12" PRIu64 " %8" PRIu64
			       " %10.1f %10.1f %6" PRIu64 "\n", mac_str(k->mac, mac, sizeof(mac)),
			       h != NULL ? h->name : "?", k->sessions, k->usage.bytes_in,
			       k->usage.bytes_out, k->usage.kernels,
			       (double)k->usage.kernel_ns / 1e6,
			       (double)k->usage.mem_high / (1 << 20), k->usage.errors);
	}
	cmdline_printf(cl, "%u clients\n", n);
	free(cls);
}

static cmdline_parse_token_string_t cmd_show_clients_show =
	TOKEN_STRING_INITIALIZER(struct cmd_show_clients_result, show, "show");
static cmdline_parse_token_string_t cmd_show_clients_clients =
	TOKEN_STRING_INITIALIZER(struct cmd_show_clients_result, clients, "clients");

static cmdline_parse_inst_t cmd_show_clients = {
	.f = cmd_show_clients_parsed,
	.data = NULL,
	.help_str = "show clients: each client's usage: sessions, bytes in and out, kernels, "
		    "kernel time, memory high-water mark, errors",
	.tokens = {
		(void *)&cmd_show_clients_show,
		(void *)&cmd_show_clients_clients,
		NULL,
	},
};

/* *** set policy NAME *** */
struct cmd_set_policy_result {
	cmdline_fixed_string_t set;
	cmdline_fixed_string_t policy;
	cmdline_fixed_string_t name;
};

static void
cmd_set_policy_parsed(void *parsed_result, struct cmdline *cl, void *data)
{
	struct cmd_set_policy_result *res = parsed_result;
	struct rpci_console *c = data;
	char msg[RPCI_CONSOLE_MSG_MAX] = "";
	enum rpci_sel_policy policy;
	int ret;

	if (rpci_selector_policy_parse(res->name, &policy) < 0) {
		console_err(c, cl, "set policy: unknown policy '%s' (first-fit, best-fit, "
			    "least-loaded, learned)", res->name);
		return;
	}
	if (c->env.set_policy != NULL) {
		ret = c->env.set_policy(c->env.arg, rpci_selector_policy_name(policy), msg,
					sizeof(msg));
	} else if (need_selector(c, cl, "set policy")) {
		ret = rpci_selector_set_policy(c->env.selector, policy);
	} else {
		return;
	}
	msg[sizeof(msg) - 1] = '\0';
	if (ret >= 0 && msg[0] == '\0') {
		snprintf(msg, sizeof(msg), "policy %s", rpci_selector_policy_name(policy));
	}
	action_done(c, cl, "set policy", ret, msg, "");
}

static cmdline_parse_token_string_t cmd_set_policy_set =
	TOKEN_STRING_INITIALIZER(struct cmd_set_policy_result, set, "set");
static cmdline_parse_token_string_t cmd_set_policy_policy =
	TOKEN_STRING_INITIALIZER(struct cmd_set_policy_result, policy, "policy");
static cmdline_parse_token_string_t cmd_set_policy_name =
	CONSOLE_TOKEN_CHOICE_INITIALIZER(struct cmd_set_policy_result, name, POLICIES);

static cmdline_parse_inst_t cmd_set_policy = {
	.f = cmd_set_policy_parsed,
	.data = NULL,
	.help_str = "set policy first-fit|best-fit|least-loaded|learned: how the selector "
		    "chooses a device from now on",
	.tokens = {
		(void *)&cmd_set_policy_set,
		(void *)&cmd_set_policy_policy,
		(void *)&cmd_set_policy_name,
		NULL,
	},
};

/* *** attach SERVER DEVICE CLIENT_MAC *** */
struct cmd_attach_result {
	cmdline_fixed_string_t attach;
	cmdline_fixed_string_t server;
	cmdline_fixed_string_t device;
	cmdline_fixed_string_t mac;
};

static void
cmd_attach_parsed(void *parsed_result, struct cmdline *cl, void *data)
{
	struct cmd_attach_result *res = parsed_result;
	struct rpci_console *c = data;
	char msg[RPCI_CONSOLE_MSG_MAX] = "";
	uint8_t mac[6];
	int ret;

	if (console_parse_mac(res->mac, mac) < 0) {
		console_err(c, cl, "attach: '%s' is not a MAC address (xx:xx:xx:xx:xx:xx)",
			    res->mac);
		return;
	}
	if (mac[0] & 1) {
		console_err(c, cl, "attach: %s is a multicast address, not a client's", res->mac);
		return;
	}
	if (c->env.attach == NULL) {
		console_err(c, cl, "attach: %s cannot attach devices (open the console of "
			    "rpci-selector)", console_prog(c));
		return;
	}
	ret = c->env.attach(c->env.arg, res->server, res->device, mac, msg, sizeof(msg));
	msg[sizeof(msg) - 1] = '\0';
	action_done(c, cl, "attach", ret, msg, "attached");
}

static cmdline_parse_token_string_t cmd_attach_attach =
	TOKEN_STRING_INITIALIZER(struct cmd_attach_result, attach, "attach");
static cmdline_parse_token_string_t cmd_attach_server =
	TOKEN_STRING_INITIALIZER(struct cmd_attach_result, server, NULL);
static cmdline_parse_token_string_t cmd_attach_device =
	TOKEN_STRING_INITIALIZER(struct cmd_attach_result, device, NULL);
static cmdline_parse_token_string_t cmd_attach_mac =
	TOKEN_STRING_INITIALIZER(struct cmd_attach_result, mac, NULL);

static cmdline_parse_inst_t cmd_attach = {
	.f = cmd_attach_parsed,
	.data = NULL,
	.help_str = "attach <SERVER> <DEVICE> <CLIENT_MAC>: dedicate a device to a client by "
		    "hand (its lease is printed)",
	.tokens = {
		(void *)&cmd_attach_attach,
		(void *)&cmd_attach_server,
		(void *)&cmd_attach_device,
		(void *)&cmd_attach_mac,
		NULL,
	},
};

/* *** detach LEASE_ID *** */
struct cmd_detach_result {
	cmdline_fixed_string_t detach;
	cmdline_fixed_string_t lease;
};

static void
cmd_detach_parsed(void *parsed_result, struct cmdline *cl, void *data)
{
	struct cmd_detach_result *res = parsed_result;
	struct rpci_console *c = data;
	char msg[RPCI_CONSOLE_MSG_MAX] = "";
	uint64_t lease;
	int ret;

	if (console_parse_u64(res->lease, &lease) < 0 || lease == 0) {
		console_err(c, cl, "detach: '%s' is not a lease id ('show sessions' lists them)",
			    res->lease);
		return;
	}
	if (c->env.detach == NULL) {
		console_err(c, cl, "detach: %s cannot detach devices (open the console of "
			    "rpci-selector)", console_prog(c));
		return;
	}
	ret = c->env.detach(c->env.arg, lease, msg, sizeof(msg));
	msg[sizeof(msg) - 1] = '\0';
	action_done(c, cl, "detach", ret, msg, "detached");
}

static cmdline_parse_token_string_t cmd_detach_detach =
	TOKEN_STRING_INITIALIZER(struct cmd_detach_result, detach, "detach");
static cmdline_parse_token_string_t cmd_detach_lease =
	TOKEN_STRING_INITIALIZER(struct cmd_detach_result, lease, NULL);

static cmdline_parse_inst_t cmd_detach = {
	.f = cmd_detach_parsed,
	.data = NULL,
	.help_str = "detach <LEASE_ID>: end an attachment by hand (client and server are told)",
	.tokens = {
		(void *)&cmd_detach_detach,
		(void *)&cmd_detach_lease,
		NULL,
	},
};

/* *** drain SERVER on|off *** */
struct cmd_drain_result {
	cmdline_fixed_string_t drain;
	cmdline_fixed_string_t server;
	cmdline_fixed_string_t onoff;
};

static void
cmd_drain_parsed(void *parsed_result, struct cmdline *cl, void *data)
{
	struct cmd_drain_result *res = parsed_result;
	struct rpci_console *c = data;
	char msg[RPCI_CONSOLE_MSG_MAX] = "";
	bool on = strcmp(res->onoff, "on") == 0;
	int ret;

	if (c->env.drain != NULL) {
		ret = c->env.drain(c->env.arg, res->server, on, msg, sizeof(msg));
		msg[sizeof(msg) - 1] = '\0';
	} else if (need_selector(c, cl, "drain")) {
		ret = rpci_selector_drain(c->env.selector, res->server, on);
		if (ret == -ENOENT) {
			snprintf(msg, sizeof(msg), "no server named '%s'", res->server);
		} else if (ret >= 0 && on) {
			snprintf(msg, sizeof(msg), "%s: draining (%d devices take no new client)",
				 res->server, ret);
		} else if (ret >= 0) {
			snprintf(msg, sizeof(msg), "%s: taking clients again", res->server);
		}
	} else {
		return;
	}
	action_done(c, cl, "drain", ret, msg, on ? "draining" : "drain off");
}

static cmdline_parse_token_string_t cmd_drain_drain =
	TOKEN_STRING_INITIALIZER(struct cmd_drain_result, drain, "drain");
static cmdline_parse_token_string_t cmd_drain_server =
	TOKEN_STRING_INITIALIZER(struct cmd_drain_result, server, NULL);
static cmdline_parse_token_string_t cmd_drain_onoff =
	TOKEN_STRING_INITIALIZER(struct cmd_drain_result, onoff, "on#off");

static cmdline_parse_inst_t cmd_drain = {
	.f = cmd_drain_parsed,
	.data = NULL,
	.help_str = "drain <SERVER> on|off: the server's devices take no new client (current "
		    "ones finish), or take clients again",
	.tokens = {
		(void *)&cmd_drain_drain,
		(void *)&cmd_drain_server,
		(void *)&cmd_drain_onoff,
		NULL,
	},
};

static cmdline_parse_inst_t *const g_selector_cmds[] = {
	&cmd_show_table,
	&cmd_show_table_json,
	&cmd_show_sessions,
	&cmd_show_clients,
	&cmd_set_policy,
	&cmd_attach,
	&cmd_detach,
	&cmd_drain,
	NULL,
};

static cmdline_parse_inst_t *const g_selector_changes[] = {
	&cmd_set_policy,
	&cmd_attach,
	&cmd_detach,
	&cmd_drain,
	NULL,
};

const struct console_area g_console_area_selector = {
	.name = "selector",
	.what = "the server selector's table and actions (rpci-selector)",
	.cmds = g_selector_cmds,
	.changes = g_selector_changes,
};
