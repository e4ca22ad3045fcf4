/* SPDX-License-Identifier: BSD-3-Clause */

#ifndef RPCI_AUTH_PRIVATE_H
#define RPCI_AUTH_PRIVATE_H

/* lib/auth's internals, shared by its files. */

#include <stddef.h>

#include "rpci_auth.h"

/* Room for a key file's path. */
#define AUTH_PATH_MAX (RPCI_CONF_STR_MAX + RPCI_CONF_NAME_MAX + 8)

/* Format "what went wrong" into err (err may be NULL). */
void auth_err(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif /* RPCI_AUTH_PRIVATE_H */
