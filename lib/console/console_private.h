/* SPDX-License-Identifier: BSD-3-Clause */

#ifndef RPCI_CONSOLE_PRIVATE_H
#define RPCI_CONSOLE_PRIVATE_H

/*
 * Inside lib/console: the console object, the command areas and the
 * helpers the command files share. Each console_<area>.c declares its
 * commands testpmd-style (one result struct, one token per word, one
 * cmdline_parse_inst_t per command with its help_str in usage form) and
 * lists them in its area; console.c gathers the areas in one table.
 *
 * A command's callback receives the console as its data (each console has
 * its own copies of the instructions) and the session's cmdline as cl.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

#include <cmdline.h>
#include <cmdline_parse.h>
#include <cmdline_parse_string.h>

#include "rpci_console.h"

/** Longest line a session or command file may send. */
#define CONSOLE_LINE_MAX 512

/** Where a command came from. */
enum console_source {
	CONSOLE_SRC_TERMINAL = 0, /* the process's stdin */
	CONSOLE_SRC_FILE = 1,     /* rpci_console_run_file() */
	CONSOLE_SRC_SESSION = 2,  /* a socket session */
};

/* A socket session. */
struct console_session {
	TAILQ_ENTRY(console_session) next;
	struct cmdline *cl; /* owns the fd: cmdline_free() closes it */
	int fd;
	bool closing;       /* "quit" or EOF: free at the next poll */
	uid_t uid;          /* its peer (SO_PEERCRED) */
	bool may_change;    /* root, our own user, or a member of an admin group */
};

/* A command that changes state: its callback behind the console's permission check. */
struct console_gate {
	struct rpci_console *c;
	void (*f)(void *parsed, struct cmdline *cl, void *data);
	const char *what; /* its usage (help_str), for the log */
};

TAILQ_HEAD(console_session_list, console_session);

/* The catch-all instruction's token: it sees the console. */
struct console_catchall_token {
	struct cmdline_token_hdr hdr;
	struct rpci_console *console;
};

struct rpci_console {
	struct rpci_console_env env;
	char prompt[64];
	/* Per-console copies of every instruction, data = this console (or its gate). */
	cmdline_parse_inst_t **insts;
	unsigned int nb_insts;
	struct console_gate *gates; /* one per instruction; used by those that change state */
	/* Who may change state (env.access): the admin groups' ids. */
	gid_t admin_gids[RPCI_CONF_CONSOLE_ADMINS_MAX];
	unsigned int nb_admin_gids;
	uint64_t refused;           /* commands refused to sessions that may only show */
	/* The context sessions use: the instructions, the catch-all, NULL. */
	cmdline_parse_ctx_t *ctx;
	/* The instructions without the catch-all, for its check. */
	cmdline_parse_ctx_t *check_ctx;
	struct cmdline *checker;
	struct console_catchall_token catchall_tok;
	cmdline_parse_inst_t *catchall;
	/* The terminal. */
	struct cmdline *term;
	bool term_quit; /* "quit" typed there */
	/* A command file being run. */
	struct cmdline *file;
	/* The socket. */
	int listen_fd;
	char sock_path[108];
	uint64_t sock_dev;
	uint64_t sock_ino;
	struct console_session_list sessions;
	unsigned int nb_sessions;
	/* Fault injector settings, as last applied. */
	struct rpci_link_faults faults[2]; /* 0 tx, 1 rx */
	uint64_t faults_seed;
	/* Rate limit of rpci_console_poll(). */
	uint64_t next_poll_tsc;
	/* Set by console_err() while a command runs. */
	bool failed;
};

/* A group of commands, listed together by "help". */
struct console_area {
	const char *name;
	const char *what;
	cmdline_parse_inst_t *const *cmds; /* NULL-terminated */
	/* those of cmds that change state: only for the sessions that may (NULL-terminated) */
	cmdline_parse_inst_t *const *changes;
};

extern const struct console_area g_console_area_common;
extern const struct console_area g_console_area_link;
extern const struct console_area g_console_area_selector;
extern const struct console_area g_console_area_server;

/* Every area, in "help" order; NULL-terminated. */
extern const struct console_area *const g_console_areas[];

/*
 * Print a failure on cl: "error: " then the message and a newline; marks
 * the running command as failed (counted by rpci_console_run_file()).
 */
void console_err(struct rpci_console *c, struct cmdline *cl, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Where the command on cl came from. */
enum console_source console_source(const struct rpci_console *c, const struct cmdline *cl);

/* The session of cl, or NULL (terminal, file). */
struct console_session *console_session_of(struct rpci_console *c, const struct cmdline *cl);

/* The program's name for messages ("rpci-server", or "this process"). */
const char *console_prog(const struct rpci_console *c);

/* Set *env.quit (if the process gave one). */
void console_stop_process(struct rpci_console *c);

/* Current time of the selector's clock, in microseconds. */
uint64_t console_now_us(const struct rpci_console *c);

/* Parse a MAC address ("02:00:00:00:00:01"). 0 or -EINVAL. */
int console_parse_mac(const char *s, uint8_t mac[6]);

/* Parse an unsigned 64-bit integer (decimal or 0x hex), whole string. 0 or -EINVAL. */
int console_parse_u64(const char *s, uint64_t *v);

/*
 * A token that takes any word but completes from a '#'-separated list of
 * choices (str): for values the command checks itself, so that a wrong one
 * gets an error line that says what is allowed instead of "Bad arguments".
 */
extern struct cmdline_token_ops g_console_token_choice_ops;

#define CONSOLE_TOKEN_CHOICE_INITIALIZER(structure, field, choices) \
{ \
	{ &g_console_token_choice_ops, offsetof(structure, field) }, \
	{ choices }, \
}

#endif /* RPCI_CONSOLE_PRIVATE_H */
