/* SPDX-License-Identifier: BSD-3-Clause */

#ifndef RPCI_APP_RUN_H
#define RPCI_APP_RUN_H

/*
 * rpci-run's modes besides jobs (files.c, messages.c): moving files into
 * and out of device memory, and texts between clients; and the timings
 * a job reports. Private to app/run (user_job.h: the jobs of a user's
 * kernel).
 */

#include <stdbool.h>
#include <stdint.h>

#include "rpci_client.h"

/* Timings of one job, in seconds, and the bytes it moved. */
struct run_times {
	double build; /* module load (user kernels) */
	double h2d;
	double kernel;
	double d2h;
	double total;
	double local; /* the CPU reference */
	uint64_t h2d_bytes;
	uint64_t d2h_bytes;
};

/* --load-file / --load-server, --save-file / --save-server. */
struct run_files {
	const char *load_file;   /* a file of this host, streamed over the link */
	const char *load_server; /* a file of the server's file directory, by name */
	const char *save_file;   /* then the device memory to a file of this host */
	const char *save_server; /* ... or of the server's directory */
	bool replace;            /* --replace: an existing server file may be replaced */
};

/* Whether any of the file options was given. */
bool run_files_given(const struct run_files *f);

/*
 * Load the input into newly allocated device memory, save it where asked,
 * and check it: the device's bytes against the input when the input is a
 * file of this host. Prints the timings, then "verified" (or "done" when
 * nothing here can be compared) or "MISMATCH". Exit status: 0, or 1.
 */
int run_files(struct rpci_device *dev, const struct run_files *f);

/* --send HOST TEXT: through the selector. Exit status: 0, or 1. */
int run_send(struct rpci_client *client, const char *to, const char *text);

/* --recv: wait up to wait_s seconds for one text and print it. Exit status: 0, or 1. */
int run_recv(struct rpci_client *client, double wait_s);

#endif /* RPCI_APP_RUN_H */
