/* SPDX-License-Identifier: BSD-3-Clause */

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>

#include "app_common.h"
#include "rpci_ipc.h"

volatile sig_atomic_t g_force_quit;

void
app_split_args(int argc, char **argv, struct app_args *args)
{
	int i;

	memset(args, 0, sizeof(*args));
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			break;
		}
	}
	if (i < argc) {
		args->eal_argc = i - 1;
		args->eal_argv = argv + 1;
		/* app_argv[0] is the program name again, for getopt */
		argv[i] = argv[0];
		args->app_argc = argc - i;
		args->app_argv = argv + i;
	} else {
		args->app_argc = argc;
		args->app_argv = argv;
	}
}

struct rpci_conf *
app_load_conf(const char *prog, const char *path, const char *host, unsigned int role,
	      const struct rpci_conf_host **out_host)
{
	char err[RPCI_CONF_ERR_MAX];
	struct rpci_conf *conf;
	const struct rpci_conf_host *h;

	if (path == NULL || host == NULL) {
		fprintf(stderr, "%s: --config FILE and --host NAME are required\n", prog);
		return NULL;
	}
	conf = rpci_conf_load(path, err, sizeof(err));
	if (conf == NULL) {
		fprintf(stderr, "%s: %s\n", prog, err);
		return NULL;
	}
	h = rpci_conf_host_find(conf, host);
	if (h == NULL) {
		fprintf(stderr, "%s: %s - no host named '%s'\n", prog, path, host);
		goto fail;
	}
	if (!(h->roles & role)) {
		fprintf(stderr, "%s: %s:%d - host '%s' does not have the %s role\n", prog, path,
			h->line, host,
			role == RPCI_ROLE_SERVER ? "server" :
			role == RPCI_ROLE_CLIENT ? "client" : "selector");
		goto fail;
	}
	if (conf->auth.mode == RPCI_AUTH_NONE) {
		fprintf(stderr,
			"%s: WARNING: AUTHENTICATION IS OFF (auth = \"none\" in %s):\n"
			"%s: any host that reaches the network can register fake devices, attach,\n"
			"%s: detach and release leases and speak for any host, open any free\n"
			"%s: device, and inject, alter, replay or read the frames of any session\n"
			"%s: (they are sent in clear, unauthenticated). For a lab only.\n",
			prog, path, prog, prog, prog, prog);
	}
	*out_host = h;
	return conf;

fail:
	rpci_conf_free(conf);
	return NULL;
}

/*
 * DPDK's telemetry sockets (dpdk_telemetry.v2, and the legacy one if any)
 * live in EAL's runtime directory, which EAL makes mode 0700 (with its
 * parent /var/run/dpdk, or $XDG_RUNTIME_DIR/dpdk), and DPDK 22.11 has no
 * setting for them. They get the owner, group and mode of the host's
 * console socket (the file's console group; 0600 by default): telemetry
 * shows what the console shows. Where that mode lets the group or others
 * in, the runtime directory gets the matching search bit (and the group)
 * and its parent the search bits only (no listing), so that the socket's
 * own mode decides; a runtime directory open further than that is said
 * loudly.
 */
static void
telemetry_protect(const char *prog, const struct rpci_conf_host *host)
{
	const struct rpci_conf_console *ca = &host->console_access;
	const char *dir = rte_eal_get_runtime_dir();
	mode_t mode = (mode_t)ca->mode, search = 0;
	char path[4096], *slash;
	struct dirent *e;
	struct stat st;
	uid_t uid;
	gid_t gid;
	DIR *d;

	if (dir == NULL || stat(dir, &st) != 0) {
		return;
	}
	if (rpci_ipc_ids(ca->owner, ca->group, &uid, &gid) < 0) {
		/* the file was checked at start: a user or group removed since */
		fprintf(stderr, "%s: the console's owner '%s' or group '%s' does not exist: "
			"telemetry stays 0600\n", prog, ca->owner, ca->group);
		uid = (uid_t)-1;
		gid = (gid_t)-1;
		mode = 0600;
	}
	search = (mode & 0070 ? 0010 : 0) | (mode & 0007 ? 0001 : 0);
	if (search != 0) {
		if ((gid != (gid_t)-1 && chown(dir, (uid_t)-1, gid) != 0) ||
		    chmod(dir, 0700 | search) != 0) {
			fprintf(stderr, "%s: cannot open %s to the console's group: %s\n", prog,
				dir, strerror(errno));
		}
		snprintf(path, sizeof(path), "%s", dir);
		slash = strrchr(path, '/');
		if (slash != NULL && slash != path) {
			struct stat pst;

			*slash = '\0';
			if (stat(path, &pst) == 0 && (pst.st_mode & 0011) != 0011 &&
			    chmod(path, (pst.st_mode & 07777) | 0011) != 0) {
				fprintf(stderr, "%s: cannot make %s searchable: %s\n", prog, path,
					strerror(errno));
			}
		}
		if (stat(dir, &st) != 0) {
			return;
		}
	}
	if ((st.st_mode & 0077 & ~search) != 0) {
		fprintf(stderr, "%s: WARNING: EAL's runtime directory %s is mode %04o: its "
			"telemetry socket is open to others (EAL makes it 0700)\n", prog, dir,
			(unsigned int)(st.st_mode & 07777));
	}
	d = opendir(dir);
	if (d == NULL) {
		return;
	}
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, "dpdk_telemetry", 14) != 0 ||
		    (size_t)snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= sizeof(path)) {
			continue;
		}
		if (((uid != (uid_t)-1 || gid != (gid_t)-1) && chown(path, uid, gid) != 0) ||
		    chmod(path, mode) != 0) {
			fprintf(stderr, "%s: cannot give %s mode %04o: %s\n", prog, path,
				(unsigned int)mode, strerror(errno));
		}
	}
	closedir(d);
}

int
app_eal_init(const char *prog, const struct rpci_conf_host *host, const struct app_args *args)
{
	char **argv;
	int argc, ret;

	argv = rpci_conf_eal_argv(host, prog, args->eal_argc, args->eal_argv, &argc);
	if (argv == NULL) {
		fprintf(stderr, "%s: cannot build the EAL arguments: %s\n", prog, strerror(errno));
		return -1;
	}
	/* rte_eal_init() permutes argv: give it a copy of the vector. */
	{
		char *copy[argc + 1];

		memcpy(copy, argv, sizeof(char *) * (argc + 1));
		ret = rte_eal_init(argc, copy);
	}
	if (ret < 0) {
		fprintf(stderr, "%s: EAL did not start: %s\n", prog, rte_strerror(rte_errno));
		rpci_conf_eal_argv_free(argv);
		return -1;
	}
	/* EAL keeps pointers into argv (e.g. vdev args): keep it for the process. */
	telemetry_protect(prog, host);
	return 0;
}

static void
on_signal(int sig)
{
	(void)sig;
	g_force_quit = 1;
}

void
app_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

int
app_parse_u64(const char *s, unsigned long long *v)
{
	char *end;
	unsigned long long x, mul = 1;

	if (s == NULL || *s == '\0' || *s == '-') {
		return -EINVAL;
	}
	errno = 0;
	x = strtoull(s, &end, 0);
	if (errno != 0 || end == s) {
		return -EINVAL;
	}
	if (*end == 'K' || *end == 'k') {
		mul = 1ull << 10;
		end++;
	} else if (*end == 'M' || *end == 'm') {
		mul = 1ull << 20;
		end++;
	} else if (*end == 'G' || *end == 'g') {
		mul = 1ull << 30;
		end++;
	}
	if (*end != '\0' || (x != 0 && mul > ~0ull / x)) {
		return -EINVAL;
	}
	*v = x * mul;
	return 0;
}

int
app_daemon_args(const char *prog, const struct app_args *args, bool with_list_pci,
		void (*usage)(const char *argv0), struct app_daemon_opts *o)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "host", required_argument, NULL, 'H' },
		{ "interactive", no_argument, NULL, 'i' },
		{ "cmdfile", required_argument, NULL, 'f' },
		{ "list-pci", no_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	memset(o, 0, sizeof(*o));
	optind = 1;
	while ((opt = getopt_long(args->app_argc, args->app_argv, "c:H:if:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			o->config = optarg;
			break;
		case 'H':
			o->host = optarg;
			break;
		case 'i':
			o->interactive = true;
			break;
		case 'f':
			o->cmdfile = optarg;
			break;
		case 'L':
			if (!with_list_pci) {
				usage(args->app_argv[0]);
				return -1;
			}
			o->list_pci = true;
			break;
		case 'h':
			usage(args->app_argv[0]);
			return 1;
		default:
			usage(args->app_argv[0]);
			return -1;
		}
	}
	if (optind < args->app_argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", prog, args->app_argv[optind]);
		return -1;
	}
	return 0;
}
