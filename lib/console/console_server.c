/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Console commands of a GPU server: show devices (printed by the process,
 * which knows its devices, through env.show_devices).
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

static cmdline_parse_inst_t *const g_server_cmds[] = {
	&cmd_show_devices,
	NULL,
};

const struct console_area g_console_area_server = {
	.name = "server",
	.what = "the devices of a GPU server (rpci-server)",
	.cmds = g_server_cmds,
};
