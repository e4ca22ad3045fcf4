/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * rpci-run --load-file, --load-server, --save-file, --save-server: a file
 * into device memory (this host's, streamed over the link; or the
 * server's, by name, read by the device itself) and back out.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "run.h"
#include "user_job.h"

bool
run_files_given(const struct run_files *f)
{
	return f->load_file != NULL || f->load_server != NULL || f->save_file != NULL ||
	       f->save_server != NULL;
}

static void
rate(const char *what, const char *where, uint64_t bytes, double s)
{
	printf("rpci-run: %s %" PRIu64 " bytes %s in %.3f ms (%.2f GB/s)\n", what, bytes, where,
	       s * 1e3, s > 0 ? (double)bytes / s / 1e9 : 0.0);
}

/* The device's bytes [dptr, +size) against the file of this host at path. */
static int
compare(struct rpci_device *dev, uint64_t dptr, uint64_t size, const char *path)
{
	uint8_t *dev_bytes = malloc(size ? size : 1), *file_bytes = malloc(size ? size : 1);
	FILE *fp = fopen(path, "rb");
	int ret = -1;

	if (dev_bytes == NULL || file_bytes == NULL || fp == NULL ||
	    fread(file_bytes, 1, size, fp) != size) {
		fprintf(stderr, "rpci-run: cannot read %s back to compare\n", path);
		goto out;
	}
	if (rpci_memcpy_dtoh(dev, dev_bytes, dptr, size) < 0) {
		fprintf(stderr, "rpci-run: copy back: %s\n", rpci_last_error());
		goto out;
	}
	ret = memcmp(dev_bytes, file_bytes, size) == 0 ? 0 : 1;
out:
	if (fp != NULL) {
		fclose(fp);
	}
	free(dev_bytes);
	free(file_bytes);
	return ret;
}

int
run_files(struct rpci_device *dev, const struct run_files *f)
{
	uint64_t size = 0, dptr = 0, loaded = 0;
	struct stat st;
	double t0;
	int ret, verdict = -1;

	if (f->load_file != NULL) {
		if (stat(f->load_file, &st) < 0) {
			fprintf(stderr, "rpci-run: %s: %s\n", f->load_file, strerror(errno));
			return 1;
		}
		size = (uint64_t)st.st_size;
	} else if (rpci_file_size_server(dev, f->load_server, &size) < 0) {
		fprintf(stderr, "rpci-run: %s\n", rpci_last_error());
		return 1;
	}
	if (size == 0) {
		fprintf(stderr, "rpci-run: %s is empty\n",
			f->load_file != NULL ? f->load_file : f->load_server);
		return 1;
	}
	if (rpci_mem_alloc(dev, size, &dptr) < 0) {
		fprintf(stderr, "rpci-run: %s\n", rpci_last_error());
		return 1;
	}
	t0 = run_now_s();
	if (f->load_file != NULL) {
		ret = rpci_file_load(dev, dptr, f->load_file, &loaded);
	} else {
		ret = rpci_file_load_server(dev, dptr, f->load_server, 0, 0, &loaded);
	}
	if (ret < 0) {
		fprintf(stderr, "rpci-run: load: %s\n", rpci_last_error());
		return 1;
	}
	rate("loaded", f->load_file != NULL ? "from this host's file (over the link)" :
	     "from the server's file (on the server)", loaded, run_now_s() - t0);
	if (f->save_file != NULL) {
		t0 = run_now_s();
		if (rpci_file_save(dev, f->save_file, dptr, loaded) < 0) {
			fprintf(stderr, "rpci-run: save: %s\n", rpci_last_error());
			return 1;
		}
		rate("saved", "to this host's file (over the link)", loaded, run_now_s() - t0);
	}
	if (f->save_server != NULL) {
		t0 = run_now_s();
		if (rpci_file_save_server(dev, f->save_server, dptr, loaded, f->replace) < 0) {
			fprintf(stderr, "rpci-run: save: %s\n", rpci_last_error());
			return 1;
		}
		rate("saved", "to the server's file (on the server)", loaded, run_now_s() - t0);
	}
	/* What can be compared here: the input file, or what was saved to this host. */
	if (f->load_file != NULL) {
		verdict = compare(dev, dptr, loaded, f->load_file);
	} else if (f->save_file != NULL) {
		verdict = compare(dev, dptr, loaded, f->save_file);
	}
	rpci_mem_free(dev, dptr);
	if (verdict > 0) {
		printf("MISMATCH\n");
		return 1;
	}
	if (verdict < 0 && (f->load_file != NULL || f->save_file != NULL)) {
		return 1; /* could not compare (said why) */
	}
	printf(verdict == 0 ? "verified\n" : "done\n");
	return 0;
}
