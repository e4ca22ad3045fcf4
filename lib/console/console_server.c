/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Console commands of a GPU server: show devices, set personality, reset
 * (done by the process, which knows its devices, through env callbacks).
 */

#include <errno.h>
#include <string.h>

#include "console_private.h"

/* *** show devices *** */
struct cmd_show_devices_result {
	cmdline_fixed_string_t show;
	cmdline_fixed_string_t devices;
};

static void
cmd_show_devices_parsed(void *parsed_result, struct cmdline *cl, void *data)
{
	struct rpci_console *c = data;
	int ret;

	RTE_SET_USED(parsed_result);
	if (c->env.show_devices == NULL) {
		console_err(c, cl, "show devices: %s serves no devices (open the console of an "
			    "rpci-server)", console_prog(c));
		return;
	}
	ret = c->env.show_devices(c->env.arg, cl);
	if (ret < 0) {
		console_err(c, cl, "show devices: %s", strerror(-ret));
	}
}

static cmdline_parse_token_string_t cmd_show_devices_show =
	TOKEN_STRING_INITIALIZER(struct cmd_show_devices_result, show, "show");
static cmdline_parse_token_string_t cmd_show_devices_devices =
	TOKEN_STRING_INITIALIZER(struct cmd_show_devices_result, devices, "devices");

static cmdline_parse_inst_t cmd_show_devices = {
	.f = cmd_show_devices_parsed,
	.data = NULL,
	.help_str = "show devices: the devices this server serves, their clients and counters",
	.tokens = {
		(void *)&cmd_show_devices_show,
		(void *)&cmd_show_devices_devices,
		NULL,
	},
};

/* *** set personality DEVICE PROFILE *** */
struct cmd_set_personality_result {
	cmdline_fixed_string_t set;
	cmdline_fixed_string_t personality;
	cmdline_fixed_string_t device;
	cmdline_fixed_string_t profile;
};

static void
cmd_set_personality_parsed(void *parsed_result, struct cmdline *cl, void *data)
{
	struct cmd_set_personality_result *res = parsed_result;
	struct rpci_console *c = data;
	char msg[RPCI_CONSOLE_MSG_MAX] = "";
	int ret;

	if (c->env.set_personality == NULL) {
		console_err(c, cl, "set personality: %s serves no devices (open the console of an "
			    "rpci-server)", console_prog(c));
		return;
	}
	ret = c->env.set_personality(c->env.arg, res->device, res->profile, msg, sizeof(msg));
	if (ret < 0) {
		console_err(c, cl, "set personality: %s", msg[0] != '\0' ? msg : strerror(-ret));
		return;
	}
	cmdline_printf(cl, "%s\n", msg[0] != '\0' ? msg : "done");
}

static cmdline_parse_token_string_t cmd_set_personality_set =
	TOKEN_STRING_INITIALIZER(struct cmd_set_personality_result, set, "set");
static cmdline_parse_token_string_t cmd_set_personality_personality =
	TOKEN_STRING_INITIALIZER(struct cmd_set_personality_result, personality, "personality");
static cmdline_parse_token_string_t cmd_set_personality_device =
	TOKEN_STRING_INITIALIZER(struct cmd_set_personality_result, device, NULL);
static cmdline_parse_token_string_t cmd_set_personality_profile =
	TOKEN_STRING_INITIALIZER(struct cmd_set_personality_result, profile, NULL);

static cmdline_parse_inst_t cmd_set_personality = {
	.f = cmd_set_personality_parsed,
	.data = NULL,
	.help_str = "set personality <DEVICE> <PROFILE>: the identity of a profile of the file "
		    "(vendor, device, subsystem, class, BAR sizes), with a function-level reset",
	.tokens = {
		(void *)&cmd_set_personality_set,
		(void *)&cmd_set_personality_personality,
		(void *)&cmd_set_personality_device,
		(void *)&cmd_set_personality_profile,
		NULL,
	},
};

/* *** reset DEVICE *** */
struct cmd_reset_result {
	cmdline_fixed_string_t reset;
	cmdline_fixed_string_t device;
};

static void
cmd_reset_parsed(void *parsed_result, struct cmdline *cl, void *data)
{
	struct cmd_reset_result *res = parsed_result;
	struct rpci_console *c = data;
	char msg[RPCI_CONSOLE_MSG_MAX] = "";
	int ret;

	if (c->env.reset_device == NULL) {
		console_err(c, cl, "reset: %s serves no devices (open the console of an "
			    "rpci-server)", console_prog(c));
		return;
	}
	ret = c->env.reset_device(c->env.arg, res->device, msg, sizeof(msg));
	if (ret < 0) {
		console_err(c, cl, "reset: %s", msg[0] != '\0' ? msg : strerror(-ret));
		return;
	}
	cmdline_printf(cl, "%s\n", msg[0] != '\0' ? msg : "done");
}

static cmdline_parse_token_string_t cmd_reset_reset =
	TOKEN_STRING_INITIALIZER(struct cmd_reset_result, reset, "reset");
static cmdline_parse_token_string_t cmd_reset_device =
	TOKEN_STRING_INITIALIZER(struct cmd_reset_result, device, NULL);

static cmdline_parse_inst_t cmd_reset = {
	.f = cmd_reset_parsed,
	.data = NULL,
	.help_str = "reset <DEVICE>: a function-level reset of a device (its client is told)",
	.tokens = {
		(void *)&cmd_reset_reset,
		(void *)&cmd_reset_device,
		NULL,
	},
};

static cmdline_parse_inst_t *const g_server_cmds[] = {
	&cmd_show_devices,
	&cmd_set_personality,
	&cmd_reset,
	NULL,
};

static cmdline_parse_inst_t *const g_server_changes[] = {
	&cmd_set_personality,
	&cmd_reset,
	NULL,
};

const struct console_area g_console_area_server = {
	.name = "server",
	.what = "the devices of a GPU server (rpci-server)",
	.cmds = g_server_cmds,
	.changes = g_server_changes,
};
