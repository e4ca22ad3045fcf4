/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Replay driver: runs a fuzz harness's LLVMFuzzerTestOneInput() once on
 * every file of the directories (or on the files) given on the command
 * line, so that the harnesses build with gcc, without libFuzzer, as meson
 * tests over the committed corpus and crash files.
 *
 * usage: fuzz_NAME DIR_OR_FILE...
 *
 * Files are run in name order; names starting with '.' and README.md are
 * skipped. Each input is read into a buffer of exactly its size, so that a
 * sanitizer build sees any read past it. A broken invariant or a crash
 * kills the process after it has said which file it was running. Exits 0
 * when every input ran, 1 on a file or directory that cannot be read.
 */

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

/* Largest input replayed, well over what the fuzzers are run with. */
#define REPLAY_MAX_SIZE (1u << 20)

/* The input being run, for the crash message (written from a signal handler). */
static char g_current[4096];

static void
on_fatal(int sig)
{
	static const char pfx[] = "replay: crashed on ";
	size_t n = strnlen(g_current, sizeof(g_current));

	if (write(STDERR_FILENO, pfx, sizeof(pfx) - 1) < 0 ||
	    write(STDERR_FILENO, g_current, n) < 0 || write(STDERR_FILENO, "\n", 1) < 0) {
		/* Nothing more can be done from here. */
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
install_handlers(void)
{
	static const int sigs[] = { SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL };
	struct sigaction sa;
	unsigned int i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fatal;
	sa.sa_flags = SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		sigaction(sigs[i], &sa, NULL);
	}
}

/* Run the harness on one file; -errno if it cannot be read. */
static int
run_file(const char *path)
{
	uint8_t *buf = NULL;
	struct stat st;
	size_t size, got;
	FILE *f;
	int rc = 0;

	f = fopen(path, "rb");
	if (f == NULL) {
		rc = -errno;
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		goto out;
	}
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > REPLAY_MAX_SIZE) {
		rc = -EINVAL;
		fprintf(stderr, "replay: %s: not a regular file of at most %u bytes\n", path,
			REPLAY_MAX_SIZE);
		goto close_file;
	}
	size = (size_t)st.st_size;
	/* malloc(0) may give NULL; libFuzzer always passes a valid pointer. */
	buf = malloc(size != 0 ? size : 1);
	if (buf == NULL) {
		rc = -ENOMEM;
		fprintf(stderr, "replay: %s: out of memory\n", path);
		goto close_file;
	}
	got = fread(buf, 1, size, f);
	if (got != size) {
		rc = -EIO;
		fprintf(stderr, "replay: %s: short read\n", path);
		goto free_buf;
	}
	snprintf(g_current, sizeof(g_current), "%s", path);
	LLVMFuzzerTestOneInput(buf, size);
	g_current[0] = '\0';

free_buf:
	free(buf);
close_file:
	fclose(f);
out:
	return rc;
}

static int
skip_entry(const struct dirent *d)
{
	return d->d_name[0] != '.' && strcmp(d->d_name, "README.md") != 0;
}

/* Run every file of a directory, in name order; the number run, or -errno. */
static int
run_dir(const char *dir)
{
	struct dirent **names;
	char path[4096];
	int i, n, rc = 0, count = 0;

	n = scandir(dir, &names, skip_entry, alphasort);
	if (n < 0) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -errno;
	}
	for (i = 0; i < n; i++) {
		if (rc == 0) {
			if (snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name) >=
			    (int)sizeof(path)) {
				fprintf(stderr, "replay: %s/%s: path too long\n", dir,
					names[i]->d_name);
				rc = -ENAMETOOLONG;
			} else {
				rc = run_file(path);
				count++;
			}
		}
		free(names[i]);
	}
	free(names);
	return rc != 0 ? rc : count;
}

int
main(int argc, char **argv)
{
	struct stat st;
	int i, rc, total = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR_OR_FILE...\n", argv[0]);
		return 2;
	}
	install_handlers();
	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		if (S_ISDIR(st.st_mode)) {
			rc = run_dir(argv[i]);
			if (rc < 0) {
				return 1;
			}
			printf("replay: %d inputs from %s\n", rc, argv[i]);
			total += rc;
		} else {
			if (run_file(argv[i]) != 0) {
				return 1;
			}
			total++;
		}
	}
	printf("replay: %d inputs, all passed\n", total);
	return 0;
}
