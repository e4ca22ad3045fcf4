/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * rpci-run --send, --recv: texts between the client hosts of a deployment,
 * through the selector, which passes a text on only under the name of the
 * host that really sent it.
 */

#include <stdio.h>
#include <time.h>

#include "run.h"

int
run_send(struct rpci_client *client, const char *to, const char *text)
{
	struct timespec pause = { .tv_sec = 0, .tv_nsec = 1000000 };
	int ret = rpci_client_message_send(client, to, text);
	int i;

	if (ret < 0) {
		fprintf(stderr, "rpci-run: --send: %s\n", rpci_last_error());
		return 1;
	}
	/* The selector acknowledges it within a few retries: poll a moment for them. */
	for (i = 0; i < 300; i++) {
		rpci_client_poll(client);
		nanosleep(&pause, NULL);
	}
	printf("rpci-run: sent to %s: %s\n", to, text);
	return 0;
}

int
run_recv(struct rpci_client *client, double wait_s)
{
	struct timespec t0, t, pause = { .tv_sec = 0, .tv_nsec = 200000 };
	char from[64], text[512];

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (rpci_client_message_recv(client, from, sizeof(from), text, sizeof(text)) == 1) {
			printf("rpci-run: message from %s: %s\n", from, text);
			return 0;
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((double)(t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) * 1e-9 > wait_s) {
			fprintf(stderr, "rpci-run: --recv: no message in %.1f s\n", wait_s);
			return 1;
		}
		nanosleep(&pause, NULL);
	}
}
