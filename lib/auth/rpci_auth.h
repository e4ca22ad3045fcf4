/* SPDX-License-Identifier: BSD-3-Clause */

#ifndef RPCI_AUTH_H
#define RPCI_AUTH_H

/**
 * @file
 * Who sent a control message, and that it is fresh: the hosts' keys and
 * the authenticated envelope of CTRL datagrams (doc/security.md).
 *
 * Each host of a deployment has an X25519 key pair: KEY_DIR/HOST.key (the
 * private key, PEM, mode 0600, on that host only) and KEY_DIR/HOST.pub
 * (the public key, on every host). Two hosts derive the same secret from
 * one's private and the other's public key, so every ordered pair (a, b)
 * has its own message key, HKDF-SHA256(X25519(a, b), "rpci ctrl v1",
 * a's public key || b's public key): a message that verifies under it came
 * from a (or from b itself), and a host that knows only its own private key
 * cannot speak as a third host.
 *
 * The envelope (all integers big-endian), 32 bytes, then the message, then
 * a 16-byte tag:
 *
 *   0 version (1)   1 algorithm (1: X25519 + HMAC-SHA256)
 *   2 sender host index   3 receiver host index   4 reserved (4, zero)
 *   8 instance (8): random, one per sending endpoint (process, channel)
 *  16 counter (8): 1, 2, 3... per instance
 *  24 time (8): the sender's CLOCK_REALTIME in microseconds
 *  32 message   then HMAC-SHA256 of everything before it, first 16 bytes
 *
 * A receiving endpoint refuses what does not verify, what is stamped
 * further than the deployment's window from its own clock (or before it
 * started), and what it has seen already (a 1024-message window per sender
 * instance, RFC 6479 style). Pure C on OpenSSL's libcrypto; no DPDK.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rpci_conf.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Bytes of an X25519 key. */
#define RPCI_AUTH_KEY_LEN 32
/** Bytes of the envelope's header. */
#define RPCI_AUTH_HDR_LEN 32
/** Bytes of the envelope's tag. */
#define RPCI_AUTH_TAG_LEN 16
/** What the envelope adds to a message. */
#define RPCI_AUTH_OVERHEAD (RPCI_AUTH_HDR_LEN + RPCI_AUTH_TAG_LEN)
/** Envelope version. */
#define RPCI_AUTH_VERSION 1
/** Algorithm 1: X25519 host keys, HKDF-SHA256, HMAC-SHA256 tags of 128 bits. */
#define RPCI_AUTH_ALG_HMAC_SHA256 1
/** Messages behind the newest of a sender instance that are still taken once. */
#define RPCI_AUTH_WINDOW 1024
/** Sender instances (processes, channels) tracked at once per sending host. */
#define RPCI_AUTH_INSTANCES 8
/** Suffixes of the key files in the key directory. */
#define RPCI_AUTH_PRIVATE_SUFFIX ".key"
#define RPCI_AUTH_PUBLIC_SUFFIX ".pub"

/** Why a received message was refused. */
enum rpci_auth_refusal {
	RPCI_AUTH_OK = 0,        /**< not refused */
	RPCI_AUTH_MALFORMED = 1, /**< too short, or a bad version, algorithm or field */
	RPCI_AUTH_UNSIGNED = 2,  /**< no envelope at all (a plain message) */
	RPCI_AUTH_UNKNOWN_HOST = 3, /**< the sender index is no host of the deployment */
	RPCI_AUTH_NOT_FOR_US = 4,   /**< addressed to another host */
	RPCI_AUTH_BAD_TAG = 5,   /**< the tag does not verify: forged or altered */
	RPCI_AUTH_STALE = 6,     /**< stamped outside the window of our clock, or before we began */
	RPCI_AUTH_REPLAY = 7,    /**< seen already, or too far behind the sender's newest */
	RPCI_AUTH_NB_REFUSALS = 8,
};

/** Counters of an endpoint. */
struct rpci_auth_stats {
	uint64_t sealed; /**< messages sealed */
	uint64_t opened; /**< messages that verified and were fresh */
	uint64_t refused[RPCI_AUTH_NB_REFUSALS]; /**< by reason ([0] unused) */
};

struct rpci_auth;
struct rpci_auth_ep;

/**
 * Name of a refusal ("bad-tag", "replay", ...), for logs and telemetry.
 *
 * @return
 *   The name, or "?" for an unknown value.
 */
const char *rpci_auth_refusal_name(enum rpci_auth_refusal r);

/**
 * Paths of a host's key files.
 *
 * @param key_dir
 *   The deployment's key directory (rpci_conf.auth.key_dir).
 * @param host
 *   Host name.
 * @param priv, priv_len
 *   Receives KEY_DIR/HOST.key (may be NULL).
 * @param pub, pub_len
 *   Receives KEY_DIR/HOST.pub (may be NULL).
 * @return
 *   0, -EINVAL (NULL argument), -ENAMETOOLONG.
 */
int rpci_auth_key_paths(const char *key_dir, const char *host, char *priv, size_t priv_len,
			char *pub, size_t pub_len);

/**
 * Make a host's key pair: KEY_DIR/HOST.key (created with mode 0600, never
 * over an existing file) and KEY_DIR/HOST.pub; the directory is created
 * (0755) if missing.
 *
 * @param key_dir
 *   The key directory.
 * @param host
 *   Host name.
 * @param err, err_len
 *   Receives what went wrong (may be NULL).
 * @return
 *   0, -EEXIST (the host already has a private key: kept as it is),
 *   -ENAMETOOLONG, -EIO (OpenSSL failed), or the errno of a file operation.
 */
int rpci_auth_keygen(const char *key_dir, const char *host, char *err, size_t err_len);

/**
 * Read a private key file. The file must be a regular file owned by the
 * effective user, with no permission for group or others and no execute
 * bit (mode 0600 or 0400): anything more open is refused.
 *
 * @param path
 *   The file.
 * @param priv
 *   Receives the raw X25519 private key.
 * @param err, err_len
 *   Receives "PATH: what is wrong" (may be NULL).
 * @return
 *   0, -EPERM (too open, or owned by someone else), -EBADMSG (not an
 *   X25519 private key in PEM), or the errno of open().
 */
int rpci_auth_key_load_private(const char *path, uint8_t priv[RPCI_AUTH_KEY_LEN], char *err,
			       size_t err_len);

/**
 * Read a public key file (PEM).
 *
 * @param path
 *   The file.
 * @param pub
 *   Receives the raw X25519 public key.
 * @param err, err_len
 *   Receives "PATH: what is wrong" (may be NULL).
 * @return
 *   0, -EBADMSG (not an X25519 public key in PEM), or the errno of open().
 */
int rpci_auth_key_load_public(const char *path, uint8_t pub[RPCI_AUTH_KEY_LEN], char *err,
			      size_t err_len);

/**
 * Load the keys of one host of a deployment: its private key and every
 * host's public key, and derive the message keys of every pair it is in.
 * With auth mode "none", nothing is read and the result authenticates
 * nothing (rpci_auth_enabled() is false).
 *
 * @param conf
 *   The deployment (kept by reference: it must outlive the result).
 * @param host
 *   The host this process plays.
 * @param err, err_len
 *   Receives what is wrong (a file, its mode, a key that does not match).
 * @return
 *   The keys, or NULL with errno ENOENT (no such host, or a key file
 *   missing), EPERM (a private key file too open), EBADMSG (a bad key
 *   file), EINVAL, ENOMEM, EIO.
 */
struct rpci_auth *rpci_auth_create(const struct rpci_conf *conf, const char *host, char *err,
				   size_t err_len);

/**
 * Free keys (wiped first); NULL is ignored.
 */
void rpci_auth_free(struct rpci_auth *a);

/**
 * Whether messages are authenticated (auth mode "keys").
 */
bool rpci_auth_enabled(const struct rpci_auth *a);

/**
 * Index in the deployment file of the host the keys are for.
 */
unsigned int rpci_auth_self(const struct rpci_auth *a);

/**
 * The deployment the keys belong to.
 */
const struct rpci_conf *rpci_auth_conf(const struct rpci_auth *a);

/**
 * CLOCK_REALTIME in microseconds: the clock of the envelope's time.
 */
uint64_t rpci_auth_now_us(void);

/**
 * An endpoint: a sender instance (random id, counter) and the replay state
 * of what it receives. One per control channel; used by one thread.
 *
 * @param a
 *   The keys (must outlive the endpoint).
 * @param now_us
 *   rpci_auth_now_us(): messages stamped well before it are refused.
 * @return
 *   The endpoint, or NULL with errno EINVAL, ENOMEM, EIO (no random bytes).
 */
struct rpci_auth_ep *rpci_auth_ep_create(struct rpci_auth *a, uint64_t now_us);

/**
 * Free an endpoint; NULL is ignored.
 */
void rpci_auth_ep_free(struct rpci_auth_ep *ep);

/**
 * Seal a message for a host.
 *
 * @param ep
 *   The sending endpoint.
 * @param to
 *   The receiver's host index.
 * @param msg, len
 *   The message.
 * @param out, size
 *   Where the envelope goes (len + RPCI_AUTH_OVERHEAD bytes).
 * @param now_us
 *   rpci_auth_now_us().
 * @return
 *   The envelope's length, -EINVAL (keys off, bad host), -EMSGSIZE, -EIO.
 */
int rpci_auth_seal(struct rpci_auth_ep *ep, unsigned int to, const void *msg, size_t len,
		   void *out, size_t size, uint64_t now_us);

/**
 * Open a received envelope: check its tag, its time and that it is new.
 * Refusals are counted in the endpoint's stats.
 *
 * @param ep
 *   The receiving endpoint.
 * @param buf, len
 *   What arrived.
 * @param now_us
 *   rpci_auth_now_us().
 * @param from
 *   Receives the sender's host index.
 * @param msg, msg_len
 *   Receive the message inside buf.
 * @param why
 *   Receives the refusal (RPCI_AUTH_OK when taken); may be NULL.
 * @return
 *   0, or -EACCES (refused: *why says why).
 */
int rpci_auth_open(struct rpci_auth_ep *ep, const void *buf, size_t len, uint64_t now_us,
		   unsigned int *from, const void **msg, size_t *msg_len,
		   enum rpci_auth_refusal *why);

/**
 * Copy an endpoint's counters.
 */
void rpci_auth_ep_stats(const struct rpci_auth_ep *ep, struct rpci_auth_stats *stats);

#ifdef __cplusplus
}
#endif

#endif /* RPCI_AUTH_H */
