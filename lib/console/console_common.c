/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Console commands of the console itself: help, quit, shutdown.
 */

#include <stdio.h>
#include <string.h>

#include "console_private.h"

/* *** help *** */
struct cmd_help_result {
	cmdline_fixed_string_t help;
};

static void
cmd_help_parsed(void *parsed_result, struct cmdline *cl, void *data)
{
	unsigned int a, i;

	RTE_SET_USED(parsed_result);
	RTE_SET_USED(data);
	cmdline_printf(cl, "Commands by area. Tab completes a word; '?' lists what may come "
		       "next.\nA failing command prints a line starting with \"%s\".\n",
		       RPCI_CONSOLE_ERROR);
	for (a = 0; g_console_areas[a] != NULL; a++) {
		const struct console_area *area = g_console_areas[a];

		cmdline_printf(cl, "\n%s: %s\n", area->name, area->what);
		for (i = 0; area->cmds[i] != NULL; i++) {
			cmdline_printf(cl, "  %s\n", area->cmds[i]->help_str);
		}
	}
}

static cmdline_parse_token_string_t cmd_help_help =
	TOKEN_STRING_INITIALIZER(struct cmd_help_result, help, "help");

static cmdline_parse_inst_t cmd_help = {
	.f = cmd_help_parsed,
	.data = NULL,
	.help_str = "help: list the commands by area",
	.tokens = {
		(void *)&cmd_help_help,
		NULL,
	},
};

/* *** quit *** */
struct cmd_quit_result {
	cmdline_fixed_string_t quit;
};

static void
cmd_quit_parsed(void *parsed_result, struct cmdline *cl, void *data)
{
	struct rpci_console *c = data;
	struct console_session *s;

	RTE_SET_USED(parsed_result);
	switch (console_source(c, cl)) {
	case CONSOLE_SRC_SESSION:
		/* a socket session ends; the process goes on (as vppctl) */
		s = console_session_of(c, cl);
		if (s != NULL) {
			s->closing = true;
		}
		cmdline_quit(cl);
		break;
	case CONSOLE_SRC_TERMINAL:
		if (c->env.quit == NULL) {
			cmdline_printf(cl, "console closed; %s goes on\n", console_prog(c));
		}
		console_stop_process(c);
		c->term_quit = true;
		cmdline_quit(cl);
		break;
	case CONSOLE_SRC_FILE:
	default:
		if (c->env.quit == NULL) {
			console_err(c, cl, "quit: %s cannot be stopped from its console",
				    console_prog(c));
			break;
		}
		console_stop_process(c);
		break;
	}
}

static cmdline_parse_token_string_t cmd_quit_quit =
	TOKEN_STRING_INITIALIZER(struct cmd_quit_result, quit, "quit");

static cmdline_parse_inst_t cmd_quit = {
	.f = cmd_quit_parsed,
	.data = NULL,
	.help_str = "quit: leave the console (on the process's own terminal or in a command "
		    "file: stop the process; on a socket session: end the session only)",
	.tokens = {
		(void *)&cmd_quit_quit,
		NULL,
	},
};

/* *** shutdown *** */
struct cmd_shutdown_result {
	cmdline_fixed_string_t shutdown;
};

static void
cmd_shutdown_parsed(void *parsed_result, struct cmdline *cl, void *data)
{
	struct rpci_console *c = data;

	RTE_SET_USED(parsed_result);
	if (c->env.quit == NULL) {
		console_err(c, cl, "shutdown: %s cannot be stopped from its console",
			    console_prog(c));
		return;
	}
	cmdline_printf(cl, "%s: stopping\n", console_prog(c));
	console_stop_process(c);
}

static cmdline_parse_token_string_t cmd_shutdown_shutdown =
	TOKEN_STRING_INITIALIZER(struct cmd_shutdown_result, shutdown, "shutdown");

static cmdline_parse_inst_t cmd_shutdown = {
	.f = cmd_shutdown_parsed,
	.data = NULL,
	.help_str = "shutdown: stop the process (from any console, socket sessions included)",
	.tokens = {
		(void *)&cmd_shutdown_shutdown,
		NULL,
	},
};

/* *** show security *** */
struct cmd_show_security_result {
	cmdline_fixed_string_t show;
	cmdline_fixed_string_t security;
};

static void
cmd_show_security_parsed(void *parsed_result, struct cmdline *cl, void *data)
{
	struct rpci_console *c = data;
	int ret;

	RTE_SET_USED(parsed_result);
	if (c->env.show_security == NULL) {
		console_err(c, cl, "show security: %s has no control plane to secure",
			    console_prog(c));
		return;
	}
	ret = c->env.show_security(c->env.arg, cl);
	if (ret < 0) {
		console_err(c, cl, "show security: %s", strerror(-ret));
	}
}

static cmdline_parse_token_string_t cmd_show_security_show =
	TOKEN_STRING_INITIALIZER(struct cmd_show_security_result, show, "show");
static cmdline_parse_token_string_t cmd_show_security_security =
	TOKEN_STRING_INITIALIZER(struct cmd_show_security_result, security, "security");

static cmdline_parse_inst_t cmd_show_security = {
	.f = cmd_show_security_parsed,
	.data = NULL,
	.help_str = "show security: the authentication mode and every refused control message, "
		    "counted by reason",
	.tokens = {
		(void *)&cmd_show_security_show,
		(void *)&cmd_show_security_security,
		NULL,
	},
};

static cmdline_parse_inst_t *const g_common_cmds[] = {
	&cmd_help,
	&cmd_quit,
	&cmd_shutdown,
	&cmd_show_security,
	NULL,
};

static cmdline_parse_inst_t *const g_common_changes[] = {
	&cmd_shutdown,
	NULL,
};

const struct console_area g_console_area_common = {
	.name = "common",
	.what = "the console itself",
	.cmds = g_common_cmds,
	.changes = g_common_changes,
};
