/* SPDX-License-Identifier: BSD-3-Clause */

#ifndef RPCI_CONSOLE_H
#define RPCI_CONSOLE_H

/**
 * @file
 * The operator's console of an rpci process (testpmd-style), built on DPDK's
 * cmdline library: line editing, history, tab completion and '?' help.
 *
 * One console serves at once:
 *  - the process's own terminal (rpci_console_interactive(), the -i option);
 *  - command files run at start (rpci_console_run_file(), --cmdfile);
 *  - any number of sessions on a unix socket (rpci_console_listen()), which
 *    rpci-console or "rpci-cluster console" open to a daemon started in the
 *    background, as vppctl does for VPP.
 *
 * Nothing here blocks and nothing runs behind the caller's back: the
 * process's poll loop calls rpci_console_poll(), which reads what has
 * arrived and runs the commands it completes, in the poll loop's thread; so
 * commands touch the link and the selector without locks. A console is
 * used by one thread.
 *
 * Commands are grouped by area (common, link, selector, server). A command
 * that the process cannot carry out (no link, no selector, no callback for
 * it) is still there and prints why. Every failure prints one line that
 * starts with RPCI_CONSOLE_ERROR ("error: "), lines that cmdline cannot
 * parse included, so that scripts and rpci-console -c can tell. The output
 * of a command goes to the session that typed it.
 *
 * doc/console.md lists the commands.
 */

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rpci_conf.h"
#include "rpci_link.h"
#include "rpci_selector.h"

#ifdef __cplusplus
extern "C" {
#endif

struct cmdline;

/** Every line that reports a failed command starts with this. */
#define RPCI_CONSOLE_ERROR "error: "
/** Directory of the default console sockets. */
#define RPCI_CONSOLE_DIR "/run/rpci"
/** Most socket sessions at once; more are told so and closed. */
#define RPCI_CONSOLE_SESSIONS_MAX 16
/** Default of rpci_console_env.poll_interval_us. */
#define RPCI_CONSOLE_POLL_US 1000
/** Room for a message from an action callback (msg, len). */
#define RPCI_CONSOLE_MSG_MAX 256

/** What a console can reach in its process. Copied by rpci_console_create(). */
struct rpci_console_env {
	/** The process, for messages and the banner ("rpci-server"); NULL: "rpci". */
	const char *prog;
	/** The host it plays, for the prompt "rpci-<host>> " (NULL: "rpci> "). */
	const char *host;
	/** The link (NULL: the link commands say there is none). */
	struct rpci_link *link;
	/** The link's port ("show port"); used only when link is set. */
	uint16_t port_id;
	/**
	 * The fault injector's rates and seed that the process gave the link
	 * at start (the deployment file's "faults" group): "set link faults"
	 * changes one direction and keeps the other, so it must know them.
	 */
	struct rpci_link_faults faults_tx;
	struct rpci_link_faults faults_rx;
	uint64_t faults_seed;
	/** The selector (NULL: the selector commands say there is none). */
	struct rpci_selector *selector;
	/**
	 * The selector's clock, in microseconds (lease expiry, heartbeat age):
	 * the same clock the process gives rpci_selector_*(). NULL:
	 * CLOCK_MONOTONIC.
	 */
	uint64_t (*now_us)(void *arg);
	/**
	 * "attach SERVER DEVICE MAC": make the attachment and send the
	 * control messages. Return 0 or a negative errno; msg (len bytes,
	 * NUL-terminated) may say what was done or why not. NULL: the command
	 * says that this process cannot attach.
	 */
	int (*attach)(void *arg, const char *server, const char *device,
		      const uint8_t client_mac[6], char *msg, size_t len);
	/** "detach LEASE_ID": as attach. NULL: cannot detach. */
	int (*detach)(void *arg, uint64_t lease_id, char *msg, size_t len);
	/**
	 * "drain SERVER on|off": as attach. NULL: rpci_selector_drain() on the
	 * selector directly (draining needs no message).
	 */
	int (*drain)(void *arg, const char *server, bool on, char *msg, size_t len);
	/**
	 * "set policy NAME" (NAME already checked with
	 * rpci_selector_policy_parse()): as attach. NULL:
	 * rpci_selector_set_policy() on the selector directly.
	 */
	int (*set_policy)(void *arg, const char *policy, char *msg, size_t len);
	/**
	 * "show devices": print the process's devices on cl with
	 * cmdline_printf(). Return 0 or a negative errno (the console then
	 * prints the error line). NULL: this process serves no devices.
	 */
	int (*show_devices)(void *arg, struct cmdline *cl);
	/** "show sessions": as show_devices. NULL: the selector's attachments. */
	int (*show_sessions)(void *arg, struct cmdline *cl);
	/**
	 * "show security": the authentication mode and the refusals of the
	 * process's control channels, as show_devices. NULL: the command says
	 * the process has no control plane.
	 */
	int (*show_security)(void *arg, struct cmdline *cl);
	/**
	 * "show clients": each client's usage, as show_devices. NULL: the
	 * selector's view (rpci_selector_clients()), or that there is none.
	 */
	int (*show_clients)(void *arg, struct cmdline *cl);
	/**
	 * "set personality DEVICE PROFILE": give a device of this process the
	 * identity of a profile of the deployment file, with a function-level
	 * reset; as attach. NULL: this process serves no devices.
	 */
	int (*set_personality)(void *arg, const char *device, const char *profile, char *msg,
			       size_t len);
	/** "reset DEVICE": a function-level reset of a device; as attach. NULL: as above. */
	int (*reset_device)(void *arg, const char *device, char *msg, size_t len);
	/** The deployment, for host names by MAC in "show clients" (NULL: MACs only). */
	const struct rpci_conf *conf;
	/**
	 * Who may use the socket (rpci_console_listen()): its owner, group
	 * and mode, and the groups whose members may change state. NULL:
	 * mode 0600, the process's user, and only root and that user change
	 * state.
	 */
	const struct rpci_conf_console *access;
	/** Argument of the callbacks. */
	void *arg;
	/** "quit" on the terminal or in a command file, and "shutdown", set it to 1. */
	volatile sig_atomic_t *quit;
	/**
	 * rpci_console_poll() looks at its file descriptors at most this often
	 * (a system call each time): 0 means RPCI_CONSOLE_POLL_US. Tests use 1.
	 */
	uint32_t poll_interval_us;
};

struct rpci_console;

/**
 * Create a console. It reads nothing until rpci_console_interactive() or
 * rpci_console_listen() is called; rpci_console_run_file() works at once.
 *
 * @param env
 *   What the commands can reach (copied; the strings must outlive the
 *   console).
 * @return
 *   The console, or NULL with errno EINVAL (env is NULL) or ENOMEM.
 */
struct rpci_console *rpci_console_create(const struct rpci_console_env *env);

/**
 * Free a console: restore the terminal (cmdline_stdin_exit()), close every
 * session and the listening socket, and remove the socket file. Call it
 * before the process exits, also after a quit.
 *
 * @param c
 *   The console; NULL is ignored.
 */
void rpci_console_free(struct rpci_console *c);

/**
 * Open the console on the process's terminal (stdin and stdout, raw mode:
 * Ctrl-C clears the line instead of stopping the process). Input is read by
 * rpci_console_poll(). "quit", Ctrl-D on an empty line and the end of
 * stdin stop the process (*env->quit = 1), as in testpmd.
 *
 * @param c
 *   The console.
 * @return
 *   0, -EALREADY (already open), -ENOMEM.
 */
int rpci_console_interactive(struct rpci_console *c);

/**
 * Run a file of console commands now, one per line; blank lines and lines
 * starting with '#' are skipped. Each command is echoed after the prompt,
 * and its output printed, on stdout. A failing command does not stop the
 * file; "quit" does (and stops the process as on the terminal).
 *
 * @param c
 *   The console.
 * @param path
 *   The file.
 * @return
 *   The number of commands that failed (0: all succeeded), or a negative
 *   errno if the file cannot be read (an error line says why).
 */
int rpci_console_run_file(struct rpci_console *c, const char *path);

/**
 * Take console sessions on a unix stream socket. The socket's directory is
 * created if missing (mode 0755), a stale socket left by a dead process is
 * removed, and the socket gets the owner, group and mode of env.access
 * (default: the process's user, 0600).
 * Every connection gets its own command line; a session ends with "quit",
 * Ctrl-D, or when its peer closes (then it is freed at the next poll).
 * A session whose peer (SO_PEERCRED) is root, the process's own user, or a
 * member of one of env.access's admin groups may run every command; any
 * other may only run those that show (the others answer "error:
 * permission denied", counted by rpci_console_refused()).
 * SIGPIPE is ignored from then on if it was not handled: a session closed
 * under a command's output must not stop the process.
 *
 * @param c
 *   The console.
 * @param path
 *   The socket (rpci_console_socket_path() gives the deployment's).
 * @return
 *   0, -EALREADY (already listening), -ENAMETOOLONG, -EADDRINUSE (a live
 *   process listens there), -EEXIST (the path is not a socket), or the
 *   negative errno of the mkdir, socket, bind or listen that failed.
 */
int rpci_console_listen(struct rpci_console *c, const char *path);

/**
 * Commands the console refused to sessions that may only show.
 *
 * @param c
 *   The console.
 * @return
 *   The count.
 */
uint64_t rpci_console_refused(const struct rpci_console *c);

/**
 * Do the console's work once, without blocking: accept new sessions, read
 * what the terminal and every session sent and run the commands completed,
 * free the sessions that ended. At most once per poll_interval_us it looks
 * at the file descriptors; calls in between return 0 at once, so a poll
 * loop can call it on every turn.
 *
 * @param c
 *   The console.
 * @return
 *   The number of bytes read and sessions opened or closed (0: nothing
 *   happened, the loop may back off).
 */
int rpci_console_poll(struct rpci_console *c);

/**
 * Number of open socket sessions.
 *
 * @param c
 *   The console.
 * @return
 *   The count.
 */
unsigned int rpci_console_sessions(const struct rpci_console *c);

/**
 * The console socket of a host of the deployment: its "console" setting,
 * or RPCI_CONSOLE_DIR "/<host>.sock" by default. The daemons listen there
 * and rpci-console connects there.
 *
 * @param host
 *   The host.
 * @param buf
 *   Receives the path.
 * @param len
 *   Size of buf.
 * @return
 *   0, -EINVAL (NULL argument), -ENAMETOOLONG (longer than buf or than a
 *   unix socket address takes).
 */
int rpci_console_socket_path(const struct rpci_conf_host *host, char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* RPCI_CONSOLE_H */
