/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * The console's machinery: per-console instruction tables, the terminal,
 * command files, the unix socket and its sessions, and the catch-all that
 * turns lines cmdline cannot parse into error lines.
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmdline_rdline.h>
#include <cmdline_socket.h>
#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_log.h>

#include "console_private.h"
#include "rpci_ipc.h"

RTE_LOG_REGISTER(rpci_console_logtype, rpci.lib.console, INFO);

/* Bytes read from a session or the terminal per poll. */
#define CONSOLE_READ_MAX 4096
/* A session's socket buffer for output (large tables fit at once). */
#define CONSOLE_SNDBUF (1 << 20)
/* Stop reading a session while this much of its output is unread. */
#define CONSOLE_OUTQ_MAX (256 * 1024)

const struct console_area *const g_console_areas[] = {
	&g_console_area_common,
	&g_console_area_link,
	&g_console_area_selector,
	&g_console_area_server,
	NULL,
};

/* ------------------------------------------------------------- helpers */

void
console_err(struct rpci_console *c, struct cmdline *cl, const char *fmt, ...)
{
	char msg[CONSOLE_LINE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cmdline_printf(cl, RPCI_CONSOLE_ERROR "%s\n", msg);
	c->failed = true;
}

enum console_source
console_source(const struct rpci_console *c, const struct cmdline *cl)
{
	if (cl != NULL && cl == c->term) {
		return CONSOLE_SRC_TERMINAL;
	}
	if (cl != NULL && cl == c->file) {
		return CONSOLE_SRC_FILE;
	}
	return CONSOLE_SRC_SESSION;
}

struct console_session *
console_session_of(struct rpci_console *c, const struct cmdline *cl)
{
	struct console_session *s;

	TAILQ_FOREACH(s, &c->sessions, next) {
		if (s->cl == cl) {
			return s;
		}
	}
	return NULL;
}

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

const char *
console_prog(const struct rpci_console *c)
{
	return c->env.prog != NULL && c->env.prog[0] != '\0' ? c->env.prog : "this process";
}

void
console_stop_process(struct rpci_console *c)
{
	if (c->env.quit != NULL) {
		*c->env.quit = 1;
	}
}

uint64_t
console_now_us(const struct rpci_console *c)
{
	if (c->env.now_us != NULL) {
		return c->env.now_us(c->env.arg);
	}
	return mono_ns() / 1000;
}

int
console_parse_mac(const char *s, uint8_t mac[6])
{
	struct rte_ether_addr ea;
	unsigned int i, colons = 0;

	/* rte_ether_unformat_addr() also takes "0200.0000.0001" forms: only xx:xx:.. here */
	if (s == NULL || strlen(s) != 17) {
		return -EINVAL;
	}
	for (i = 0; s[i] != '\0'; i++) {
		colons += s[i] == ':';
	}
	if (colons != 5 || rte_ether_unformat_addr(s, &ea) != 0) {
		return -EINVAL;
	}
	memcpy(mac, ea.addr_bytes, 6);
	return 0;
}

int
console_parse_u64(const char *s, uint64_t *v)
{
	unsigned long long x;
	char *end;

	if (s == NULL || *s == '\0' || *s == '-' || *s == '+' || *s == ' ') {
		return -EINVAL;
	}
	errno = 0;
	x = strtoull(s, &end, 0);
	if (errno != 0 || end == s || *end != '\0') {
		return -EINVAL;
	}
	*v = x;
	return 0;
}

/* ------------------------------------------------------ the choice token */

static int
choice_parse(cmdline_parse_token_hdr_t *tk, const char *buf, void *res, unsigned int ressize)
{
	struct cmdline_token_string any;

	/* any word: the command checks it and says what is allowed */
	memcpy(&any, tk, sizeof(any));
	any.string_data.str = NULL;
	return cmdline_parse_string(&any.hdr, buf, res, ressize);
}

static int
choice_help(cmdline_parse_token_hdr_t *tk, char *dst, unsigned int size)
{
	const struct cmdline_token_string *t = (const struct cmdline_token_string *)tk;
	unsigned int i;

	if (size == 0) {
		return -1;
	}
	snprintf(dst, size, "%s", t->string_data.str != NULL ? t->string_data.str : "WORD");
	for (i = 0; dst[i] != '\0'; i++) {
		if (dst[i] == '#') {
			dst[i] = '|';
		}
	}
	return 0;
}

struct cmdline_token_ops g_console_token_choice_ops = {
	.parse = choice_parse,
	.complete_get_nb = cmdline_complete_get_nb_string,
	.complete_get_elt = cmdline_complete_get_elt_string,
	.get_help = choice_help,
};

/* ---------------------------------------------------------- the catch-all */

/*
 * The last instruction of every context: it matches a line only when no
 * command does (cmdline_parse_check() on the context without it), so that
 * cmdline's "Command not found" / "Bad arguments" become error lines that
 * count as failures. Never offered for completion.
 */
struct catchall_result {
	int32_t why;
	char line[CONSOLE_LINE_MAX];
};

static int
catchall_parse(cmdline_parse_token_hdr_t *tk, const char *buf, void *res, unsigned int ressize)
{
	struct console_catchall_token *t = (struct console_catchall_token *)tk;
	struct catchall_result *r = res;
	char line[CONSOLE_LINE_MAX + 2];
	size_t n = 0;
	int ret;

	/* completion matches without a result buffer: never match there */
	if (res == NULL || ressize < sizeof(*r)) {
		return -1;
	}
	while (buf[n] != '\0' && buf[n] != '\n' && buf[n] != '\r' && n < CONSOLE_LINE_MAX) {
		n++;
	}
	memcpy(line, buf, n);
	line[n] = '\n';
	line[n + 1] = '\0';
	ret = cmdline_parse_check(t->console->checker, line);
	if (ret >= 0) {
		return -1; /* a command takes it */
	}
	r->why = ret;
	/* the line as typed, without a trailing comment or blanks */
	while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t')) {
		n--;
	}
	memcpy(r->line, buf, n);
	r->line[n] = '\0';
	return (int)n;
}

static int
catchall_nb(cmdline_parse_token_hdr_t *tk)
{
	RTE_SET_USED(tk);
	return 1;
}

static int
catchall_elt(cmdline_parse_token_hdr_t *tk, int idx, char *dst, unsigned int size)
{
	RTE_SET_USED(tk);
	RTE_SET_USED(idx);
	RTE_SET_USED(dst);
	RTE_SET_USED(size);
	return -1; /* nothing to offer: invisible to completion */
}

static struct cmdline_token_ops g_catchall_ops = {
	.parse = catchall_parse,
	.complete_get_nb = catchall_nb,
	.complete_get_elt = catchall_elt,
	.get_help = NULL,
};

static void
catchall_cb(void *parsed, struct cmdline *cl, void *data)
{
	struct catchall_result *r = parsed;
	struct rpci_console *c = data;
	char word[64];
	size_t n = 0;

	while (r->line[n] != '\0' && r->line[n] != ' ' && r->line[n] != '\t' &&
	       n < sizeof(word) - 1) {
		word[n] = r->line[n];
		n++;
	}
	word[n] = '\0';
	if (r->why == CMDLINE_PARSE_BAD_ARGS) {
		console_err(c, cl, "bad arguments: '%s' ('help' shows the syntax)", r->line);
	} else if (r->why == CMDLINE_PARSE_AMBIGUOUS) {
		console_err(c, cl, "ambiguous command: '%s'", r->line);
	} else {
		console_err(c, cl, "unknown command '%s' ('help' lists the commands)", word);
	}
}

/* ------------------------------------------------------- create and free */

/* Whether an instruction of an area changes state. */
static bool
inst_changes(const struct console_area *area, const cmdline_parse_inst_t *inst)
{
	unsigned int i;

	for (i = 0; area->changes != NULL && area->changes[i] != NULL; i++) {
		if (area->changes[i] == inst) {
			return true;
		}
	}
	return false;
}

/*
 * A command that changes state: run only for the terminal, a command file,
 * and a session that may (console_session.may_change).
 */
static void
gate_cb(void *parsed, struct cmdline *cl, void *data)
{
	struct console_gate *g = data;
	struct console_session *s = console_session_of(g->c, cl);

	if (s != NULL && !s->may_change) {
		g->c->refused++;
		rte_log(RTE_LOG_WARNING, rpci_console_logtype,
			"rpci.console: %s(): refused: uid %u may only show: %.*s\n", __func__,
			(unsigned int)s->uid, (int)strcspn(g->what, ":"), g->what);
		console_err(g->c, cl, "permission denied: uid %u may only show here (root, the "
			    "process's user and the console's admin groups may change state)",
			    (unsigned int)s->uid);
		return;
	}
	g->f(parsed, cl, g->c);
}

static cmdline_parse_inst_t *
inst_copy(const cmdline_parse_inst_t *src, void *data)
{
	cmdline_parse_inst_t *dst;
	unsigned int n = 0;

	while (src->tokens[n] != NULL) {
		n++;
	}
	dst = calloc(1, sizeof(*dst) + (n + 1) * sizeof(dst->tokens[0]));
	if (dst == NULL) {
		return NULL;
	}
	dst->f = src->f;
	dst->data = data;
	dst->help_str = src->help_str;
	memcpy(dst->tokens, src->tokens, (n + 1) * sizeof(dst->tokens[0]));
	return dst;
}

static int
tables_build(struct rpci_console *c)
{
	unsigned int a, i, n = 0;

	for (a = 0; g_console_areas[a] != NULL; a++) {
		for (i = 0; g_console_areas[a]->cmds[i] != NULL; i++) {
			n++;
		}
	}
	c->insts = calloc(n, sizeof(*c->insts));
	c->gates = calloc(n, sizeof(*c->gates));
	c->ctx = calloc(n + 2, sizeof(*c->ctx));
	c->check_ctx = calloc(n + 1, sizeof(*c->check_ctx));
	c->catchall = calloc(1, sizeof(*c->catchall) + 2 * sizeof(c->catchall->tokens[0]));
	if (c->insts == NULL || c->gates == NULL || c->ctx == NULL || c->check_ctx == NULL ||
	    c->catchall == NULL) {
		return -ENOMEM;
	}
	for (a = 0; g_console_areas[a] != NULL; a++) {
		for (i = 0; g_console_areas[a]->cmds[i] != NULL; i++) {
			const cmdline_parse_inst_t *src = g_console_areas[a]->cmds[i];
			cmdline_parse_inst_t *inst = inst_copy(src, c);

			if (inst == NULL) {
				return -ENOMEM;
			}
			if (inst_changes(g_console_areas[a], src)) {
				struct console_gate *g = &c->gates[c->nb_insts];

				g->c = c;
				g->f = inst->f;
				g->what = src->help_str != NULL ? src->help_str : "?";
				inst->f = gate_cb;
				inst->data = g;
			}
			c->insts[c->nb_insts] = inst;
			c->ctx[c->nb_insts] = inst;
			c->check_ctx[c->nb_insts] = inst;
			c->nb_insts++;
		}
	}
	c->catchall_tok.hdr.ops = &g_catchall_ops;
	c->catchall_tok.hdr.offset = 0;
	c->catchall_tok.console = c;
	c->catchall->f = catchall_cb;
	c->catchall->data = c;
	c->catchall->help_str = NULL;
	c->catchall->tokens[0] = &c->catchall_tok.hdr;
	c->catchall->tokens[1] = NULL;
	c->ctx[c->nb_insts] = c->catchall;
	c->ctx[c->nb_insts + 1] = NULL;
	c->check_ctx[c->nb_insts] = NULL;
	/* parses for the catch-all; writes nowhere */
	c->checker = cmdline_new(c->check_ctx, "", -1, -1);
	if (c->checker == NULL) {
		return -ENOMEM;
	}
	return 0;
}

static void
tables_free(struct rpci_console *c)
{
	unsigned int i;

	cmdline_free(c->checker);
	for (i = 0; i < c->nb_insts; i++) {
		free(c->insts[i]);
	}
	free(c->insts);
	free(c->gates);
	free(c->ctx);
	free(c->check_ctx);
	free(c->catchall);
}

struct rpci_console *
rpci_console_create(const struct rpci_console_env *env)
{
	struct rpci_console *c;
	int ret;

	if (env == NULL) {
		errno = EINVAL;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	c->env = *env;
	if (c->env.poll_interval_us == 0) {
		c->env.poll_interval_us = RPCI_CONSOLE_POLL_US;
	}
	c->listen_fd = -1;
	TAILQ_INIT(&c->sessions);
	c->faults[0] = env->faults_tx;
	c->faults[1] = env->faults_rx;
	c->faults_seed = env->faults_seed;
	if (env->host != NULL && env->host[0] != '\0') {
		snprintf(c->prompt, sizeof(c->prompt), "rpci-%.24s> ", env->host);
	} else {
		snprintf(c->prompt, sizeof(c->prompt), "rpci> ");
	}
	ret = tables_build(c);
	if (ret < 0) {
		goto free_tables;
	}
	return c;

free_tables:
	tables_free(c);
	free(c);
	errno = -ret;
	return NULL;
}

static void
session_free(struct rpci_console *c, struct console_session *s)
{
	TAILQ_REMOVE(&c->sessions, s, next);
	c->nb_sessions--;
	cmdline_free(s->cl); /* closes s->fd */
	free(s);
}

static void
listener_close(struct rpci_console *c)
{
	rpci_ipc_unlisten(c->listen_fd, c->sock_path, c->sock_dev, c->sock_ino);
	c->listen_fd = -1;
}

static void
terminal_close(struct rpci_console *c)
{
	if (c->term == NULL) {
		return;
	}
	/* restores the terminal and frees the cmdline (fds 0 and 1 stay open) */
	cmdline_stdin_exit(c->term);
	c->term = NULL;
}

void
rpci_console_free(struct rpci_console *c)
{
	if (c == NULL) {
		return;
	}
	terminal_close(c);
	while (!TAILQ_EMPTY(&c->sessions)) {
		session_free(c, TAILQ_FIRST(&c->sessions));
	}
	listener_close(c);
	tables_free(c);
	free(c);
}

unsigned int
rpci_console_sessions(const struct rpci_console *c)
{
	return c->nb_sessions;
}

/* -------------------------------------------------------------- terminal */

int
rpci_console_interactive(struct rpci_console *c)
{
	if (c->term != NULL) {
		return -EALREADY;
	}
	c->term = cmdline_stdin_new(c->ctx, c->prompt);
	if (c->term == NULL) {
		return -ENOMEM;
	}
	return 0;
}

static int
terminal_poll(struct rpci_console *c)
{
	struct pollfd pfd = { .fd = 0, .events = POLLIN };
	char buf[CONSOLE_READ_MAX];
	ssize_t n;

	if (poll(&pfd, 1, 0) <= 0) {
		return 0;
	}
	n = read(0, buf, sizeof(buf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		return 0;
	}
	/* end of input, Ctrl-D, or "quit": the process stops, as testpmd does */
	c->term_quit = false;
	if (n <= 0 || cmdline_in(c->term, buf, (int)n) < 0) {
		if (!c->term_quit) {
			cmdline_printf(c->term, "\n"); /* after the prompt */
		}
		console_stop_process(c);
		terminal_close(c);
		return 1;
	}
	return (int)n;
}

/* ----------------------------------------------------------- command files */

int
rpci_console_run_file(struct rpci_console *c, const char *path)
{
	char cmd[CONSOLE_LINE_MAX + 2];
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	unsigned int lineno = 0;
	int failures = 0, ret;
	FILE *f;

	if (c->file != NULL) {
		return -EALREADY; /* a file runs a file: refused */
	}
	c->file = cmdline_new(c->ctx, "", -1, 1);
	if (c->file == NULL) {
		return -ENOMEM;
	}
	f = fopen(path, "r");
	if (f == NULL) {
		ret = -errno;
		console_err(c, c->file, "cannot read the command file %s: %s", path,
			    strerror(-ret));
		goto free_cmdline;
	}
	while ((len = getline(&line, &cap, f)) >= 0) {
		const char *p = line;

		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
			line[--len] = '\0';
		}
		while (*p == ' ' || *p == '\t') {
			p++;
		}
		if (*p == '\0' || *p == '#') {
			continue;
		}
		cmdline_printf(c->file, "%s%s\n", c->prompt, p);
		if (len >= CONSOLE_LINE_MAX) {
			console_err(c, c->file, "%s:%u: line longer than %d characters", path,
				    lineno, CONSOLE_LINE_MAX - 1);
			failures++;
			continue;
		}
		memcpy(cmd, line, (size_t)len);
		cmd[len] = '\n';
		cmd[len + 1] = '\0';
		c->failed = false;
		ret = cmdline_parse(c->file, cmd);
		if (ret < 0) {
			/* only if the catch-all did not take it (cannot happen) */
			console_err(c, c->file, "%s:%u: cannot parse '%s'", path, lineno, p);
		}
		if (c->failed) {
			failures++;
		}
		if (c->env.quit != NULL && *c->env.quit) {
			break; /* "quit" or "shutdown" */
		}
	}
	free(line);
	fclose(f);
	ret = failures;
free_cmdline:
	cmdline_free(c->file);
	c->file = NULL;
	return ret;
}

/* ------------------------------------------------------------ the socket */

int
rpci_console_listen(struct rpci_console *c, const char *path)
{
	const struct rpci_conf_console *ac = c->env.access;
	uid_t owner = (uid_t)-1;
	gid_t group = (gid_t)-1;
	struct sigaction sa;
	unsigned int i;
	int fd;

	if (c->listen_fd >= 0) {
		return -EALREADY;
	}
	c->nb_admin_gids = 0;
	if (ac != NULL) {
		fd = rpci_ipc_ids(ac->owner, ac->group, &owner, &group);
		for (i = 0; fd == 0 && i < ac->nb_admin; i++) {
			uid_t none;

			fd = rpci_ipc_ids(NULL, ac->admin[i], &none, &c->admin_gids[i]);
			c->nb_admin_gids = i + 1;
		}
		if (fd < 0) {
			return fd;
		}
	}
	fd = rpci_ipc_listen(path, SOCK_STREAM, owner, group, ac != NULL ? ac->mode : 0600, 8,
			     &c->sock_dev, &c->sock_ino);
	if (fd < 0) {
		return fd;
	}
	/* a session closed under a command's output must not stop the process */
	if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_IGN;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGPIPE, &sa, NULL);
	}
	c->listen_fd = fd;
	snprintf(c->sock_path, sizeof(c->sock_path), "%s", path);
	return 0;
}

static void
session_refuse(int fd, const char *why)
{
	char msg[128];
	int n;

	n = snprintf(msg, sizeof(msg), RPCI_CONSOLE_ERROR "%s\n", why);
	if (n > 0 && write(fd, msg, (size_t)n) < 0) {
		/* nothing more to tell a peer that is gone */
	}
	close(fd);
}

/* Who the peer of a session is, and whether it may change state. */
static void
session_permissions(const struct rpci_console *c, struct console_session *s)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	unsigned int i;

	s->uid = (uid_t)-1;
	s->may_change = false;
	if (getsockopt(s->fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof(cred)) {
		return; /* unknown: show only */
	}
	s->uid = cred.uid;
	s->may_change = cred.uid == 0 || cred.uid == geteuid();
	for (i = 0; !s->may_change && i < c->nb_admin_gids; i++) {
		s->may_change = rpci_ipc_user_in_group(cred.uid, cred.gid, c->admin_gids[i]);
	}
}

uint64_t
rpci_console_refused(const struct rpci_console *c)
{
	return c->refused;
}

static int
sessions_accept(struct rpci_console *c)
{
	struct console_session *s;
	int fd, sndbuf = CONSOLE_SNDBUF, work = 0;

	while ((fd = accept4(c->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		work++;
		if (c->nb_sessions >= RPCI_CONSOLE_SESSIONS_MAX) {
			session_refuse(fd, "too many console sessions");
			continue;
		}
		s = calloc(1, sizeof(*s));
		if (s == NULL) {
			session_refuse(fd, "out of memory");
			continue;
		}
		/* best effort: the default buffer holds most outputs anyway */
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
		s->fd = fd;
		session_permissions(c, s);
		s->cl = cmdline_new(c->ctx, c->prompt, fd, fd); /* writes the prompt */
		if (s->cl == NULL) {
			free(s);
			session_refuse(fd, "out of memory");
			continue;
		}
		TAILQ_INSERT_TAIL(&c->sessions, s, next);
		c->nb_sessions++;
	}
	return work;
}

static int
session_poll(struct console_session *s, short revents)
{
	char buf[CONSOLE_READ_MAX];
	ssize_t n;
	int outq = 0;

	if (!(revents & (POLLIN | POLLHUP | POLLERR))) {
		return 0;
	}
	/* its client does not read what it is sent: wait for it */
	if (!(revents & (POLLHUP | POLLERR)) && ioctl(s->fd, TIOCOUTQ, &outq) == 0 &&
	    outq > CONSOLE_OUTQ_MAX) {
		return 0;
	}
	n = recv(s->fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		return 0;
	}
	if (n <= 0) {
		s->closing = true; /* the client closed its end */
		return 1;
	}
	if (cmdline_in(s->cl, buf, (int)n) < 0) {
		s->closing = true; /* Ctrl-D or "quit" */
	}
	return (int)n;
}

/* ------------------------------------------------------------------ poll */

int
rpci_console_poll(struct rpci_console *c)
{
	struct pollfd pfd[RPCI_CONSOLE_SESSIONS_MAX + 2];
	struct console_session *s, *tmp;
	unsigned int n = 0, i;
	uint64_t now;
	int work = 0;

	if (c->term == NULL && c->listen_fd < 0) {
		return 0;
	}
	/* Called every turn of a poll loop: the TSC, not a clock_gettime() each time. */
	now = rte_get_timer_cycles();
	if (now < c->next_poll_tsc) {
		return 0;
	}
	c->next_poll_tsc = now + rte_get_timer_hz() / 1000000 * c->env.poll_interval_us;
	if (c->listen_fd >= 0) {
		pfd[n].fd = c->listen_fd;
		pfd[n].events = POLLIN;
		n++;
	}
	TAILQ_FOREACH(s, &c->sessions, next) {
		pfd[n].fd = s->fd;
		pfd[n].events = POLLIN;
		n++;
	}
	if (n > 0 && poll(pfd, n, 0) > 0) {
		i = 0;
		if (c->listen_fd >= 0) {
			if (pfd[i].revents & POLLIN) {
				work += sessions_accept(c);
			}
			i++;
		}
		/* sessions accepted just now are polled next time */
		TAILQ_FOREACH(s, &c->sessions, next) {
			if (i >= n) {
				break;
			}
			work += session_poll(s, pfd[i].revents);
			i++;
		}
	}
	if (c->term != NULL) {
		work += terminal_poll(c);
	}
	for (s = TAILQ_FIRST(&c->sessions); s != NULL; s = tmp) {
		tmp = TAILQ_NEXT(s, next);
		if (s->closing) {
			session_free(c, s);
			work++;
		}
	}
	return work;
}

/* ------------------------------------------------------------ the path */

int
rpci_console_socket_path(const struct rpci_conf_host *host, char *buf, size_t len)
{
	size_t max = sizeof(((struct sockaddr_un *)0)->sun_path);
	int n;

	if (host == NULL || buf == NULL || len == 0) {
		return -EINVAL;
	}
	if (host->console[0] != '\0') {
		n = snprintf(buf, len, "%s", host->console);
	} else {
		n = snprintf(buf, len, "%s/%s.sock", RPCI_CONSOLE_DIR, host->name);
	}
	if (n < 0 || (size_t)n >= len || (size_t)n >= max) {
		return -ENAMETOOLONG;
	}
	return 0;
}
