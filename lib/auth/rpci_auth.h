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

/** Words of a replay window's bitmap. */
#define RPCI_AUTH_WINDOW_WORDS (RPCI_AUTH_WINDOW / 64)

/**
 * A replay window (RFC 6479): which of the last RPCI_AUTH_WINDOW counters
 * were taken. Any order within it, each once; behind it, refused.
 */
struct rpci_auth_window {
	uint64_t top;                                 /**< highest counter taken */
	uint64_t bits[RPCI_AUTH_WINDOW_WORDS];        /**< counter c taken: bit c % WINDOW */
};

/**
 * Start a window: nothing taken, counters up to first - (RPCI_AUTH_WINDOW -
 * 64) refused as behind it.
 *
 * @param w
 *   The window.
 * @param first
 *   The counter it starts at (0: any counter is new).
 */
void rpci_auth_window_init(struct rpci_auth_window *w, uint64_t first);

/**
 * Take a counter if it is new.
 *
 * @param w
 *   The window.
 * @param c
 *   The counter.
 * @return
 *   true if new (now taken), false if taken already or behind the window.
 */
bool rpci_auth_window_take(struct rpci_auth_window *w, uint64_t c);

/** Refusal log lines written at once before the rate limit applies. */
#define RPCI_AUTH_LOG_BURST 20
/** Refusal log lines a second after the burst. */
#define RPCI_AUTH_LOG_PER_S 10

/**
 * The rate limit of refusal log lines: a token bucket of RPCI_AUTH_LOG_BURST
 * lines, refilled at RPCI_AUTH_LOG_PER_S a second. Zeroed to start.
 */
struct rpci_auth_log_limit {
	uint64_t empty_at;   /**< the time at which the bucket is empty */
	uint64_t skipped;    /**< lines not written since the last one written */
	uint64_t skipped_total; /**< lines not written in all */
};

/**
 * Whether a refusal may be logged now.
 *
 * @param l
 *   The limit.
 * @param now
 *   The time, in ticks of any clock that only grows.
 * @param hz
 *   Ticks a second.
 * @param skipped
 *   When allowed, receives the lines not written since the last one (then
 *   counted again from 0); may be NULL.
 * @return
 *   true: write the line; false: counted as skipped.
 */
bool rpci_auth_log_allow(struct rpci_auth_log_limit *l, uint64_t now, uint64_t hz,
			 uint64_t *skipped);

/*
 * ---------------------------------------------------------------------
 * Sessions (phase 2): the OPEN and OPEN_ACK of a link session carry an
 * authentication block; both ends derive the session's keys from it, and
 * every frame of the session carries a counter and an AEAD tag.
 *
 * The block (80 bytes, integers big-endian):
 *   0 cipher (1): RPCI_AUTH_CIPHER_*     1 flags (1): RPCI_AUTH_SESS_ENCRYPT
 *   2 sender host index (1)  3 receiver host index (1)   4 reserved (4) = 0
 *   8 time (8): the sender's CLOCK_REALTIME in microseconds
 *  16 ephemeral X25519 public key (32)
 *  48 nonce (16)
 *  64 tag (16): HMAC-SHA256 under the pair's message key (K(sender ->
 *     receiver)) of what the link gives (its header, CRC field zero, and
 *     the body before the block), then bytes 0..63 of the block; an
 *     OPEN_ACK's tag also covers the OPEN's ephemeral key and nonce.
 * Session keys: HKDF-SHA256(ikm = X25519(the two ephemeral keys) ||
 * K(client -> server) || K(server -> client), salt = client nonce || server
 * nonce, info = "rpci session v1" || both ephemeral keys || session id ||
 * lease id || cipher || flags || client index || server index): a 32-byte
 * key and a 4-byte nonce salt each way, client to server first.
 * ---------------------------------------------------------------------
 */

/** Bytes of the authentication block of an OPEN or OPEN_ACK. */
#define RPCI_AUTH_OPEN_LEN 80
/** Bytes of a frame's authentication: counter (8) and tag (16). */
#define RPCI_AUTH_FRAME_LEN 24
/** Bytes of a frame's tag. */
#define RPCI_AUTH_FRAME_TAG_LEN 16

/** How the frames of a session are protected (the block's cipher). */
enum rpci_auth_cipher {
	/** The OPEN is authenticated, the frames are not (a server's auth.sessions "optional"). */
	RPCI_AUTH_CIPHER_NONE = 0,
	RPCI_AUTH_CIPHER_AES128GCM = 1,        /**< AES-128-GCM (GMAC without encryption) */
	RPCI_AUTH_CIPHER_CHACHA20POLY1305 = 2, /**< ChaCha20-Poly1305 */
	RPCI_AUTH_NB_CIPHERS = 3,
};

/** Flag of the block: payloads encrypted, not only authenticated. */
#define RPCI_AUTH_SESS_ENCRYPT 0x01

/** What a received OPEN offers, once verified (rpci_auth_offer_verify()). */
struct rpci_auth_offer {
	unsigned int from;       /**< the client's host index */
	uint8_t cipher;          /**< enum rpci_auth_cipher */
	uint8_t flags;           /**< RPCI_AUTH_SESS_* */
	uint64_t time_us;        /**< when the client stamped it */
	uint8_t eph_pub[RPCI_AUTH_KEY_LEN];
	uint8_t nonce[16];
};

struct rpci_auth_sess;

/**
 * Name of a cipher ("aes-128-gcm", "chacha20-poly1305", "none").
 *
 * @return
 *   The name, or "?" for an unknown value.
 */
const char *rpci_auth_cipher_name(uint8_t cipher);

/**
 * The host index of a MAC address in the keys' deployment.
 *
 * @return
 *   The index, or -ENOENT.
 */
int rpci_auth_host_by_mac(const struct rpci_auth *a, const uint8_t mac[6]);

/**
 * A client's side of a session to a server: a fresh ephemeral key pair and
 * nonce, kept until the answer.
 *
 * @param a
 *   The keys (enabled; they must outlive the session).
 * @param server
 *   The server's host index.
 * @param cipher
 *   enum rpci_auth_cipher asked for.
 * @param flags
 *   RPCI_AUTH_SESS_* asked for.
 * @return
 *   The session, or NULL with errno EINVAL, ENOMEM, EIO.
 */
struct rpci_auth_sess *rpci_auth_sess_client(struct rpci_auth *a, unsigned int server,
					     uint8_t cipher, uint8_t flags);

/**
 * Write the block of an OPEN: stamped now, tagged over aad and the block.
 * Called again for each resend: the same key and nonce, a new time.
 *
 * @param s
 *   A client's session.
 * @param aad, aad_len
 *   What the tag covers before the block (the link's header and body).
 * @param block
 *   Receives the block.
 * @param now_us
 *   rpci_auth_now_us().
 * @return
 *   0, -EINVAL, -EIO.
 */
int rpci_auth_sess_offer(struct rpci_auth_sess *s, const void *aad, size_t aad_len,
			 uint8_t block[RPCI_AUTH_OPEN_LEN], uint64_t now_us);

/**
 * Check a received OPEN's block: addressed to us, from a host of the file,
 * tagged with its key, stamped within the deployment's window of now.
 *
 * @param a
 *   The server's keys.
 * @param aad, aad_len
 *   What the tag covers before the block.
 * @param block
 *   The block.
 * @param now_us
 *   rpci_auth_now_us().
 * @param offer
 *   Filled when it verifies.
 * @param why
 *   Receives the refusal (MALFORMED: reserved bits, unknown cipher or
 *   flags; UNKNOWN_HOST; NOT_FOR_US; BAD_TAG; STALE); may be NULL.
 * @return
 *   0, or -EACCES.
 */
int rpci_auth_offer_verify(struct rpci_auth *a, const void *aad, size_t aad_len,
			   const uint8_t block[RPCI_AUTH_OPEN_LEN], uint64_t now_us,
			   struct rpci_auth_offer *offer, enum rpci_auth_refusal *why);

/**
 * A server's side of a session, from a verified offer: a fresh ephemeral
 * key pair and nonce; the keys are derived by rpci_auth_sess_answer().
 *
 * @return
 *   The session, or NULL with errno EINVAL, ENOMEM, EIO.
 */
struct rpci_auth_sess *rpci_auth_sess_server(struct rpci_auth *a,
					     const struct rpci_auth_offer *offer);

/**
 * Write the block of the OPEN_ACK and derive the session's keys.
 *
 * @param s
 *   A server's session.
 * @param aad, aad_len
 *   What the tag covers before the block.
 * @param session_id, lease_id
 *   The link session's id and the OPEN's lease (bound into the keys).
 * @param block
 *   Receives the block.
 * @param now_us
 *   rpci_auth_now_us().
 * @return
 *   0, -EINVAL, -EIO.
 */
int rpci_auth_sess_answer(struct rpci_auth_sess *s, const void *aad, size_t aad_len,
			  uint32_t session_id, uint64_t lease_id,
			  uint8_t block[RPCI_AUTH_OPEN_LEN], uint64_t now_us);

/**
 * Check the OPEN_ACK's block and derive the session's keys (client). The
 * ephemeral private key is wiped.
 *
 * @param s
 *   A client's session that made an offer.
 * @param aad, aad_len
 *   What the tag covers before the block.
 * @param block
 *   The block.
 * @param session_id, lease_id
 *   As the OPEN said.
 * @param why
 *   Receives the refusal (MALFORMED: another cipher or flags than asked,
 *   NOT_FOR_US or UNKNOWN_HOST: other hosts than the session's, BAD_TAG);
 *   may be NULL.
 * @return
 *   0, -EACCES (refused), -EIO.
 */
int rpci_auth_sess_confirm(struct rpci_auth_sess *s, const void *aad, size_t aad_len,
			   const uint8_t block[RPCI_AUTH_OPEN_LEN], uint32_t session_id,
			   uint64_t lease_id, enum rpci_auth_refusal *why);

/**
 * Free a session (its keys wiped); NULL is ignored.
 */
void rpci_auth_sess_free(struct rpci_auth_sess *s);

/** The session's cipher (enum rpci_auth_cipher). */
uint8_t rpci_auth_sess_cipher(const struct rpci_auth_sess *s);

/** Whether the session encrypts payloads. */
bool rpci_auth_sess_encrypts(const struct rpci_auth_sess *s);

/** Whether the session's keys are derived (frames can be sealed and opened). */
bool rpci_auth_sess_ready(const struct rpci_auth_sess *s);

/**
 * Start sealing a frame: the nonce (this direction's salt and the counter,
 * never used twice for a key) and the additional data that comes first
 * (the link's header and the counter).
 *
 * @param s
 *   A ready session.
 * @param counter
 *   The frame's counter.
 * @param aad, aad_len
 *   The header's bytes.
 * @return
 *   0, -EINVAL (not ready), -EIO.
 */
int rpci_auth_sess_seal_start(struct rpci_auth_sess *s, uint64_t counter, const void *aad,
			      size_t aad_len);

/**
 * More of the frame: authenticated only (out NULL), or encrypted from in to
 * out (in == out: in place). In frame order, additional data first.
 *
 * @return
 *   0, -EIO.
 */
int rpci_auth_sess_seal_data(struct rpci_auth_sess *s, const void *in, void *out, size_t len);

/**
 * Finish sealing a frame.
 *
 * @param tag
 *   Receives the tag.
 * @return
 *   0, -EIO.
 */
int rpci_auth_sess_seal_finish(struct rpci_auth_sess *s, uint8_t tag[RPCI_AUTH_FRAME_TAG_LEN]);

/**
 * Start checking a received frame (as rpci_auth_sess_seal_start(), the
 * other direction).
 *
 * @return
 *   0, -EINVAL (not ready), -EIO.
 */
int rpci_auth_sess_open_start(struct rpci_auth_sess *s, uint64_t counter, const void *aad,
			      size_t aad_len);

/**
 * More of a received frame: authenticated only (out NULL), or decrypted
 * from in to out (in == out: in place). Nothing decrypted may be believed
 * before rpci_auth_sess_open_finish() says the tag verifies.
 *
 * @return
 *   0, -EIO.
 */
int rpci_auth_sess_open_data(struct rpci_auth_sess *s, const void *in, void *out, size_t len);

/**
 * Check a received frame's tag.
 *
 * @return
 *   0 (it verifies), -EBADMSG (it does not), -EIO.
 */
int rpci_auth_sess_open_finish(struct rpci_auth_sess *s,
			       const uint8_t tag[RPCI_AUTH_FRAME_TAG_LEN]);

/**
 * The session's directions made from given keys, for tests and fuzzing
 * only: frames sealed by one are opened by the other (peer true).
 *
 * @param cipher
 *   enum rpci_auth_cipher (not NONE).
 * @param flags
 *   RPCI_AUTH_SESS_*.
 * @param keys
 *   72 bytes: key and salt of each way, as the derivation lays them out.
 * @param client
 *   Which end this is (client: seals with the first key).
 * @return
 *   The session, or NULL with errno EINVAL, ENOMEM, EIO.
 */
struct rpci_auth_sess *rpci_auth_sess_from_keys(uint8_t cipher, uint8_t flags,
						const uint8_t keys[72], bool client);

#ifdef __cplusplus
}
#endif

#endif /* RPCI_AUTH_H */
