/* SPDX-License-Identifier: BSD-3-Clause */

#ifndef RPCI_AUTH_PRIVATE_H
#define RPCI_AUTH_PRIVATE_H

/* lib/auth's internals, shared by its files. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "rpci_auth.h"

/* Room for a key file's path. */
#define AUTH_PATH_MAX (RPCI_CONF_STR_MAX + RPCI_CONF_NAME_MAX + 8)

/* Format "what went wrong" into err (err may be NULL). */
void auth_err(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The keys of one host of a deployment (rpci_auth_create()). */
struct rpci_auth {
	/* the deployment and the host we play */
	const struct rpci_conf *conf;
	bool enabled;
	unsigned int self;
	unsigned int nb_hosts;
	uint64_t window_us;
	EVP_MAC *hmac;
	EVP_MAC_CTX *open_mac; /* checks OPENs' blocks: made at the first, keyed at each */
	/* message keys: tx[b] for self -> b, rx[a] for a -> self */
	uint8_t tx[RPCI_CONF_HOSTS_MAX][32];
	uint8_t rx[RPCI_CONF_HOSTS_MAX][32];
};

/* X25519(priv, peer) into shared; 0 or -EIO (also for a low-order peer key). */
int auth_x25519(const uint8_t priv[32], const uint8_t peer[32], uint8_t shared[32]);

/* HKDF-SHA256(ikm, salt, info) into out (out_len bytes); 0 or -EIO. */
int auth_hkdf(const void *ikm, size_t ikm_len, const void *salt, size_t salt_len,
	      const void *info, size_t info_len, void *out, size_t out_len);

/* An HMAC-SHA256 of the pieces under a 32-byte key, first RPCI_AUTH_TAG_LEN bytes; 0 or -EIO. */
int auth_hmac(EVP_MAC_CTX *mac, const uint8_t key[32], const void *const *parts,
	      const size_t *lens, unsigned int nb_parts, uint8_t tag[RPCI_AUTH_TAG_LEN]);

/* Big-endian 64-bit integers of the envelope and the session block. */
static inline void
put_be64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static inline uint64_t
get_be64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++) {
		v = v << 8 | p[i];
	}
	return v;
}

#endif
