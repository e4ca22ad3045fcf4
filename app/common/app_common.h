/* SPDX-License-Identifier: BSD-3-Clause */

#ifndef RPCI_APP_COMMON_H
#define RPCI_APP_COMMON_H

/*
 * What every rpci program does first: split the command line at "--"
 * (EAL arguments before it), load the deployment file, find its host,
 * start EAL with the host's settings, and catch SIGINT/SIGTERM.
 * Private to app/.
 */

#include <signal.h>
#include <stdbool.h>

#include "rpci_conf.h"

/* Set by SIGINT and SIGTERM. */
extern volatile sig_atomic_t g_force_quit;

/* The command line, split. */
struct app_args {
	int eal_argc;      /* EAL arguments given before "--" */
	char **eal_argv;
	int app_argc;      /* the program's own (app_argv[0] is the program) */
	char **app_argv;
};

/*
 * Split argv: "prog [EAL args] -- [app args]" or "prog [app args]".
 * The vectors point into argv.
 */
void app_split_args(int argc, char **argv, struct app_args *args);

/*
 * Load the deployment file and find the host, which must have the role.
 * Prints "prog: file:line - what is wrong" and returns NULL on error.
 */
struct rpci_conf *app_load_conf(const char *prog, const char *path, const char *host,
				unsigned int role, const struct rpci_conf_host **out_host);

/* Start EAL with the host's settings and the user's EAL arguments. 0 or -1. */
int app_eal_init(const char *prog, const struct rpci_conf_host *host,
		 const struct app_args *args);

/* Install the SIGINT/SIGTERM handlers. */
void app_signals(void);

/* A daemon's options (rpci-server, rpci-selector, rpci-proxy). */
struct app_daemon_opts {
	const char *config;   /* --config FILE */
	const char *host;     /* --host NAME */
	const char *cmdfile;  /* --cmdfile F: console commands run at start */
	bool interactive;     /* -i: a console on the terminal */
	bool list_pci;        /* --list-pci (where the daemon takes it) */
};

/*
 * A daemon's command line after the EAL's: --config, --host, -i,
 * --cmdfile, --help, and --list-pci when with_list_pci. 0: go on; 1:
 * --help was printed (exit 0); -1: an error, usage printed (exit 2).
 */
int app_daemon_args(const char *prog, const struct app_args *args, bool with_list_pci,
		    void (*usage)(const char *argv0), struct app_daemon_opts *o);

/* Parse an unsigned integer (decimal or 0x hex) with an optional K/M/G suffix. */
int app_parse_u64(const char *s, unsigned long long *v);

#endif /* RPCI_APP_COMMON_H */
