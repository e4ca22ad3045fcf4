/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * rpci-console: opens a console session on an rpci daemon's unix socket, as
 * vppctl does for VPP.
 *
 *   rpci-console --socket PATH                       interactive
 *   rpci-console --socket PATH -c "show table" [-c ...] [-f FILE]
 *   rpci-console --config FILE --host NAME [...]     the host's socket
 *
 * Interactive, it relays the terminal (raw: Tab, '?' and the arrows reach
 * the daemon's command line) to the socket and back, until the session
 * ends (quit, Ctrl-D). With -c or -f it runs the commands one after another,
 * prints their output without prompts and echoes, and exits 1 if one of
 * them printed an error line ("error: ..."), 2 on a usage or connection
 * problem, 0 otherwise.
 */

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "rpci_conf.h"
#include "rpci_console.h"

#define PROG "rpci-console"
#define CMDS_MAX 64
#define REPLY_MAX (4 << 20)

static volatile sig_atomic_t g_stop;

static void
usage(FILE *f)
{
	fprintf(f, "usage: %s --socket PATH [-c COMMAND]... [-f FILE] [--timeout S]\n"
		"       %s --config FILE --host NAME [-c COMMAND]... [-f FILE] [--timeout S]\n"
		"  Opens a console session on an rpci daemon. Without -c or -f it is\n"
		"  interactive (quit or Ctrl-D ends the session; the daemon goes on).\n"
		"  -c, --command COMMAND  run a command (repeatable), print its output\n"
		"  -f, --file FILE        run the commands of FILE ('#' comments, blank lines\n"
		"                         skipped)\n"
		"  --timeout S            wait at most S seconds for each answer (default 10)\n"
		"  Exit status: 0, 1 if a command printed an \"%s...\" line, 2 on\n"
		"  a usage or connection problem.\n", PROG, PROG, RPCI_CONSOLE_ERROR);
}

static void
on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

static int
connect_to(const char *path)
{
	struct sockaddr_un addr;
	int fd;

	memset(&addr, 0, sizeof(addr));
	addr.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "%s: socket path too long: %s\n", PROG, path);
		return -1;
	}
	memcpy(addr.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "%s: socket: %s\n", PROG, strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int err = errno;

		fprintf(stderr, "%s: cannot connect to %s: %s%s\n", PROG, path, strerror(err),
			err == ENOENT ? " (is the daemon running?)" :
			err == ECONNREFUSED ? " (nobody listens there: a stale socket)" :
			err == EACCES ? " (the socket is its owner's only)" : "");
		close(fd);
		return -1;
	}
	return fd;
}

static int
write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* ------------------------------------------------------------ interactive */

static int
relay(int fd)
{
	struct termios old, raw;
	bool tty = isatty(0) != 0, stdin_open = true;
	char buf[4096];
	int ret = 0;

	if (tty && tcgetattr(0, &old) == 0) {
		raw = old;
		/* as cmdline does on its own terminal; output processing kept */
		raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO | ISIG);
		raw.c_cc[VMIN] = 1;
		raw.c_cc[VTIME] = 0;
		tcsetattr(0, TCSANOW, &raw);
	} else {
		tty = false;
	}
	while (!g_stop) {
		struct pollfd pfd[2] = {
			{ .fd = fd, .events = POLLIN },
			{ .fd = 0, .events = POLLIN },
		};
		ssize_t n;

		if (poll(pfd, stdin_open ? 2 : 1, -1) < 0) {
			if (errno == EINTR) {
				continue;
			}
			ret = -1;
			break;
		}
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			n = read(fd, buf, sizeof(buf));
			if (n <= 0) {
				break; /* the session ended */
			}
			if (write_all(1, buf, (size_t)n) < 0) {
				ret = -1;
				break;
			}
		}
		if (stdin_open && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			n = read(0, buf, sizeof(buf));
			if (n <= 0) {
				/* end of input: the daemon ends the session when done */
				shutdown(fd, SHUT_WR);
				stdin_open = false;
			} else if (write_all(fd, buf, (size_t)n) < 0) {
				break;
			}
		}
	}
	if (tty) {
		tcsetattr(0, TCSANOW, &old);
		printf("\n");
	}
	return ret;
}

/* ------------------------------------------------------------------ batch */

struct reply {
	char *buf;
	size_t len;
	size_t cap;
	bool eof;
};

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static bool
ends_with(const struct reply *r, const char *tail)
{
	size_t n = strlen(tail);

	return n > 0 && r->len >= n && memcmp(r->buf + r->len - n, tail, n) == 0;
}

/*
 * Read until the reply ends with the prompt (prompt NULL: with "> "), the
 * session ends, or the time-out. 0, or -1 on a time-out or error.
 */
static int
read_reply(int fd, struct reply *r, const char *prompt, unsigned int timeout_s)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_s * 1000;

	r->len = 0;
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		uint64_t now = now_ms();
		ssize_t n;

		if (prompt != NULL ? ends_with(r, prompt) : ends_with(r, "> ")) {
			return 0;
		}
		if (now >= deadline || g_stop) {
			return -1;
		}
		if (poll(&pfd, 1, (int)(deadline - now)) <= 0) {
			continue;
		}
		if (r->cap - r->len < 4096) {
			size_t cap = r->cap * 2 + 8192;
			char *b;

			if (cap > REPLY_MAX || (b = realloc(r->buf, cap)) == NULL) {
				return -1;
			}
			r->buf = b;
			r->cap = cap;
		}
		n = read(fd, r->buf + r->len, r->cap - r->len - 1);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			r->eof = true;
			return 0;
		}
		r->len += (size_t)n;
	}
}

/*
 * Print a command's output (the reply less the echoed command line and
 * the final prompt). Returns the number of error lines in it.
 */
static unsigned int
print_output(const struct reply *r, const char *prompt)
{
	size_t start = 0, end = r->len, i;
	unsigned int errors = 0;
	const char *nl;

	r->buf[r->len] = '\0';
	/* the command as echoed, up to the first newline */
	nl = memchr(r->buf, '\n', r->len);
	start = nl != NULL ? (size_t)(nl - r->buf) + 1 : r->len;
	if (!r->eof && end - start >= strlen(prompt) && ends_with(r, prompt)) {
		end -= strlen(prompt);
	}
	i = start;
	while (i < end) {
		size_t j = i, k;

		while (j < end && r->buf[j] != '\n') {
			j++;
		}
		k = j;
		while (k > i && r->buf[k - 1] == '\r') {
			k--;
		}
		if (k - i >= strlen(RPCI_CONSOLE_ERROR) &&
		    memcmp(r->buf + i, RPCI_CONSOLE_ERROR, strlen(RPCI_CONSOLE_ERROR)) == 0) {
			errors++;
		}
		printf("%.*s\n", (int)(k - i), r->buf + i);
		i = j + 1;
	}
	fflush(stdout);
	return errors;
}

static int
batch(int fd, const char *path, char **cmds, unsigned int nb, unsigned int timeout_s)
{
	struct reply r = { NULL, 0, 0, false };
	char prompt[128];
	const char *nl;
	unsigned int i, errors = 0;
	int ret = 2;

	/* the session opens with its prompt (after a refusal: an error and EOF) */
	if (read_reply(fd, &r, NULL, timeout_s) < 0) {
		fprintf(stderr, "%s: no prompt from %s within %u s\n", PROG, path, timeout_s);
		goto out;
	}
	if (r.eof) {
		if (r.len > 0) {
			fprintf(stderr, "%s: %s: %.*s", PROG, path, (int)r.len, r.buf);
		}
		fprintf(stderr, "%s: %s closed the session\n", PROG, path);
		goto out;
	}
	nl = memrchr(r.buf, '\n', r.len);
	i = nl != NULL ? (unsigned int)(nl - r.buf) + 1 : 0;
	snprintf(prompt, sizeof(prompt), "%.*s", (int)(r.len - i), r.buf + i);
	for (i = 0; i < nb; i++) {
		if (write_all(fd, cmds[i], strlen(cmds[i])) < 0 || write_all(fd, "\n", 1) < 0) {
			fprintf(stderr, "%s: %s closed the session before '%s'\n", PROG, path,
				cmds[i]);
			goto out;
		}
		if (read_reply(fd, &r, prompt, timeout_s) < 0) {
			fprintf(stderr, "%s: no answer to '%s' within %u s\n", PROG, cmds[i],
				timeout_s);
			goto out;
		}
		errors += print_output(&r, prompt);
		if (r.eof) {
			if (i + 1 < nb) {
				fprintf(stderr, "%s: the session ended after '%s'\n", PROG,
					cmds[i]);
				goto out;
			}
			break;
		}
	}
	ret = errors > 0 ? 1 : 0;
out:
	free(r.buf);
	return ret;
}

/* Append the commands of a file to cmds. */
static int
read_file(const char *file, char **cmds, unsigned int *nb, char ***owned, unsigned int *nb_owned)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	FILE *f = fopen(file, "r");

	if (f == NULL) {
		fprintf(stderr, "%s: cannot read %s: %s\n", PROG, file, strerror(errno));
		return -1;
	}
	while ((len = getline(&line, &cap, f)) >= 0) {
		char *p = line, **more;

		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
			line[--len] = '\0';
		}
		while (*p == ' ' || *p == '\t') {
			p++;
		}
		if (*p == '\0' || *p == '#') {
			continue;
		}
		if (*nb >= CMDS_MAX) {
			fprintf(stderr, "%s: more than %d commands\n", PROG, CMDS_MAX);
			goto fail;
		}
		more = realloc(*owned, (*nb_owned + 1) * sizeof(**owned));
		if (more == NULL) {
			goto fail;
		}
		*owned = more;
		(*owned)[*nb_owned] = strdup(p);
		if ((*owned)[*nb_owned] == NULL) {
			goto fail;
		}
		cmds[(*nb)++] = (*owned)[(*nb_owned)++];
	}
	free(line);
	fclose(f);
	return 0;
fail:
	free(line);
	fclose(f);
	return -1;
}

/* The socket of a host of the deployment file. */
static int
socket_of_host(const char *config, const char *host, char *path, size_t len)
{
	char err[RPCI_CONF_ERR_MAX];
	const struct rpci_conf_host *h;
	struct rpci_conf *conf;
	int ret;

	conf = rpci_conf_load(config, err, sizeof(err));
	if (conf == NULL) {
		fprintf(stderr, "%s: %s\n", PROG, err);
		return -1;
	}
	h = rpci_conf_host_find(conf, host);
	if (h == NULL) {
		fprintf(stderr, "%s: %s - no host named '%s'\n", PROG, config, host);
		rpci_conf_free(conf);
		return -1;
	}
	ret = rpci_console_socket_path(h, path, len);
	if (ret < 0) {
		fprintf(stderr, "%s: %s:%d - host '%s': console socket path too long\n", PROG,
			config, h->line, host);
	}
	rpci_conf_free(conf);
	return ret < 0 ? -1 : 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'C' },
		{ "host", required_argument, NULL, 'H' },
		{ "command", required_argument, NULL, 'c' },
		{ "file", required_argument, NULL, 'f' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sock = NULL, *config = NULL, *host = NULL;
	char *cmds[CMDS_MAX], **owned = NULL, path[RPCI_CONF_STR_MAX], *end;
	unsigned int nb = 0, nb_owned = 0, timeout_s = 10, i;
	struct sigaction sa;
	bool batch_mode = false;
	int opt, fd, ret = 2;
	unsigned long v;

	while ((opt = getopt_long(argc, argv, "s:c:f:h", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			sock = optarg;
			break;
		case 'C':
			config = optarg;
			break;
		case 'H':
			host = optarg;
			break;
		case 'c':
			if (nb >= CMDS_MAX) {
				fprintf(stderr, "%s: more than %d commands\n", PROG, CMDS_MAX);
				goto out;
			}
			cmds[nb++] = optarg;
			batch_mode = true;
			break;
		case 'f':
			if (read_file(optarg, cmds, &nb, &owned, &nb_owned) < 0) {
				goto out;
			}
			batch_mode = true;
			break;
		case 't':
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' || v == 0 || v > 3600) {
				fprintf(stderr, "%s: --timeout takes seconds, 1..3600\n", PROG);
				goto out;
			}
			timeout_s = (unsigned int)v;
			break;
		case 'h':
			usage(stdout);
			ret = 0;
			goto out;
		default:
			usage(stderr);
			goto out;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", PROG, argv[optind]);
		goto out;
	}
	if ((sock != NULL) == (config != NULL || host != NULL) ||
	    (sock == NULL && (config == NULL || host == NULL))) {
		fprintf(stderr, "%s: give --socket PATH, or --config FILE and --host NAME\n", PROG);
		goto out;
	}
	if (sock == NULL) {
		if (socket_of_host(config, host, path, sizeof(path)) < 0) {
			goto out;
		}
		sock = path;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	fd = connect_to(sock);
	if (fd < 0) {
		goto out;
	}
	if (batch_mode) {
		ret = batch(fd, sock, cmds, nb, timeout_s);
	} else {
		ret = relay(fd) < 0 ? 2 : 0;
	}
	close(fd);
out:
	for (i = 0; i < nb_owned; i++) {
		free(owned[i]);
	}
	free(owned);
	return ret;
}
