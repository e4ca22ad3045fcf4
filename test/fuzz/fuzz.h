/* SPDX-License-Identifier: BSD-3-Clause */

#ifndef RPCI_FUZZ_H
#define RPCI_FUZZ_H

/*
 * Shared by the fuzz harnesses (test/fuzz/fuzz_*.c) and the replay driver.
 *
 * A harness defines LLVMFuzzerTestOneInput(). Built with clang
 * -fsanitize=fuzzer (test/fuzz/run-fuzzers.sh), libFuzzer calls it with
 * generated inputs; built with replay_main.c (the meson tests of suite
 * 'fuzz'), it is called once for every committed corpus and crash file.
 * A broken invariant aborts, which both count as a crash.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Say which invariant broke, then abort. */
static inline void __attribute__((noreturn))
fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: invariant broken: %s\n", file, line, what);
	fflush(stderr);
	abort();
}

/* An invariant: when cond is false the input has found a bug. */
#define FUZZ_CHECK(cond) \
	do { \
		if (!(cond)) { \
			fuzz_fail(__FILE__, __LINE__, #cond); \
		} \
	} while (0)

#endif /* RPCI_FUZZ_H */
