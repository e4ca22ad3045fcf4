/* SPDX-License-Identifier: BSD-3-Clause */

#ifndef RPCI_CLIENT_TRANSPORT_H
#define RPCI_CLIENT_TRANSPORT_H

/*
 * How a client reaches its proxy, for lib/proxy only (not installed): a
 * program normally connects to the proxy's socket (rpci_client_create());
 * a process that embeds the proxy's core (rpci_proxy_client_create()) gives
 * the client these callbacks instead, and its waits run the core's poll
 * loop. Everything else (the rings, the shared memory, the driver) is the
 * same code either way.
 */

#include <stdint.h>

#include "rpci_ipc.h"

struct rpci_client;

struct rpci_client_transport {
	/*
	 * The client's shared memory is ready (memfd, mapped at shm, its
	 * control page set up): attach it and fill ack. Returns a handle for
	 * bye() (>= 0) or a negative errno.
	 */
	int (*hello)(void *arg, int memfd, uint8_t *shm, uint64_t shm_size, const char *name,
		     struct rpci_ipc_hello_ack *ack);
	/* One turn of a wait loop: the proxy's work. Returns the work done. */
	int (*progress)(void *arg);
	/* A turn did nothing: back off as the proxy's host says. */
	void (*idle)(void *arg, int work);
	/* The client goes (its devices are closed): forget it. */
	void (*bye)(void *arg, int handle);
};

/*
 * A client that reaches its proxy through t (arg is theirs). NULL with
 * errno set: ENOMEM, or the hello's error.
 */
struct rpci_client *rpci_client_create_with(const struct rpci_client_transport *t, void *arg,
					    const char *name);

#endif /* RPCI_CLIENT_TRANSPORT_H */
