/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Authenticated link sessions: the block of OPEN and OPEN_ACK (HMAC-SHA256
 * under the pair's message key of phase 1), the session keys (ephemeral
 * X25519 of both ends and the pair's keys, through HKDF-SHA256: forward
 * secrecy), and the per-frame AEAD (AES-128-GCM or ChaCha20-Poly1305, one
 * EVP_CIPHER_CTX a direction, keyed once). rpci_auth.h has the layout;
 * doc/security.md says why each part is there. The link walks its mbuf
 * chains and hands the pieces here, so that nothing is copied to be
 * authenticated.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "auth_private.h"

#define SESS_KDF_LABEL "rpci session v1"
/* The derivation's output: key (32) and nonce salt (4) each way, client to server first. */
#define SESS_KEY_LEN 32
#define SESS_SALT_LEN 4
#define SESS_KEYS_LEN (2 * (SESS_KEY_LEN + SESS_SALT_LEN))
#define SESS_NONCE_LEN 16
#define SESS_IV_LEN 12

/* Offsets in the block. */
#define BLK_CIPHER 0
#define BLK_FLAGS 1
#define BLK_FROM 2
#define BLK_TO 3
#define BLK_RESERVED 4
#define BLK_TIME 8
#define BLK_EPH 16
#define BLK_NONCE 48
#define BLK_TAG 64

_Static_assert(BLK_TAG + RPCI_AUTH_FRAME_TAG_LEN == RPCI_AUTH_OPEN_LEN, "the block's layout");
_Static_assert(RPCI_AUTH_TAG_LEN == RPCI_AUTH_FRAME_TAG_LEN, "tags of one size");

struct rpci_auth_sess {
	struct rpci_auth *a;    /* NULL: made from given keys (tests) */
	bool client;
	unsigned int peer;      /* the other end's host index */
	uint8_t cipher;
	uint8_t flags;
	/* the handshake */
	uint8_t eph_priv[RPCI_AUTH_KEY_LEN];
	uint8_t eph_pub[RPCI_AUTH_KEY_LEN];
	uint8_t nonce[SESS_NONCE_LEN];
	uint8_t peer_eph[RPCI_AUTH_KEY_LEN];
	uint8_t peer_nonce[SESS_NONCE_LEN];
	EVP_MAC_CTX *mac;
	/* the frames */
	bool ready;
	EVP_CIPHER_CTX *tx;
	EVP_CIPHER_CTX *rx;
	uint8_t tx_salt[SESS_SALT_LEN];
	uint8_t rx_salt[SESS_SALT_LEN];
};

static const char *const g_cipher_names[RPCI_AUTH_NB_CIPHERS] = {
	[RPCI_AUTH_CIPHER_NONE] = "none",
	[RPCI_AUTH_CIPHER_AES128GCM] = "aes-128-gcm",
	[RPCI_AUTH_CIPHER_CHACHA20POLY1305] = "chacha20-poly1305",
};

const char *
rpci_auth_cipher_name(uint8_t cipher)
{
	return cipher < RPCI_AUTH_NB_CIPHERS ? g_cipher_names[cipher] : "?";
}

int
rpci_auth_host_by_mac(const struct rpci_auth *a, const uint8_t mac[6])
{
	const struct rpci_conf_host *h;

	if (a == NULL || mac == NULL) {
		return -ENOENT;
	}
	h = rpci_conf_host_by_mac(a->conf, mac);
	return h != NULL ? rpci_conf_host_index(a->conf, h) : -ENOENT;
}

static const EVP_CIPHER *
sess_evp(uint8_t cipher)
{
	switch (cipher) {
	case RPCI_AUTH_CIPHER_AES128GCM:
		return EVP_aes_128_gcm();
	case RPCI_AUTH_CIPHER_CHACHA20POLY1305:
		return EVP_chacha20_poly1305();
	default:
		return NULL;
	}
}

/* A session without keys yet: the HMAC context, an ephemeral key pair and a nonce. */
static struct rpci_auth_sess *
sess_new(struct rpci_auth *a, unsigned int peer, bool client, uint8_t cipher, uint8_t flags)
{
	struct rpci_auth_sess *s;
	EVP_PKEY *pk = NULL;
	OSSL_PARAM params[2];
	size_t len;

	if (a == NULL || !a->enabled || peer >= a->nb_hosts || cipher >= RPCI_AUTH_NB_CIPHERS ||
	    (flags & ~RPCI_AUTH_SESS_ENCRYPT) != 0 ||
	    (cipher == RPCI_AUTH_CIPHER_NONE && flags != 0)) {
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	s->a = a;
	s->client = client;
	s->peer = peer;
	s->cipher = cipher;
	s->flags = flags;
	s->mac = EVP_MAC_CTX_new(a->hmac);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (s->mac == NULL || EVP_MAC_CTX_set_params(s->mac, params) != 1) {
		goto fail;
	}
	pk = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	len = sizeof(s->eph_priv);
	if (pk == NULL || EVP_PKEY_get_raw_private_key(pk, s->eph_priv, &len) != 1 ||
	    len != sizeof(s->eph_priv)) {
		goto fail;
	}
	len = sizeof(s->eph_pub);
	if (EVP_PKEY_get_raw_public_key(pk, s->eph_pub, &len) != 1 || len != sizeof(s->eph_pub) ||
	    getrandom(s->nonce, sizeof(s->nonce), 0) != (ssize_t)sizeof(s->nonce)) {
		goto fail;
	}
	EVP_PKEY_free(pk);
	return s;
fail:
	EVP_PKEY_free(pk);
	rpci_auth_sess_free(s);
	errno = EIO;
	return NULL;
}

void
rpci_auth_sess_free(struct rpci_auth_sess *s)
{
	if (s == NULL) {
		return;
	}
	EVP_MAC_CTX_free(s->mac);
	EVP_CIPHER_CTX_free(s->tx);
	EVP_CIPHER_CTX_free(s->rx);
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
}

uint8_t
rpci_auth_sess_cipher(const struct rpci_auth_sess *s)
{
	return s->cipher;
}

bool
rpci_auth_sess_encrypts(const struct rpci_auth_sess *s)
{
	return s != NULL && (s->flags & RPCI_AUTH_SESS_ENCRYPT) != 0;
}

bool
rpci_auth_sess_ready(const struct rpci_auth_sess *s)
{
	return s != NULL && s->ready;
}

/* The two contexts of a session's frames from the derivation's 72 bytes. */
static int
sess_keys_set(struct rpci_auth_sess *s, const uint8_t keys[SESS_KEYS_LEN])
{
	const EVP_CIPHER *evp = sess_evp(s->cipher);
	const uint8_t *mine = s->client ? keys : keys + SESS_KEY_LEN + SESS_SALT_LEN;
	const uint8_t *theirs = s->client ? keys + SESS_KEY_LEN + SESS_SALT_LEN : keys;

	if (evp == NULL) {
		return -EINVAL;
	}
	s->tx = EVP_CIPHER_CTX_new();
	s->rx = EVP_CIPHER_CTX_new();
	if (s->tx == NULL || s->rx == NULL ||
	    EVP_EncryptInit_ex(s->tx, evp, NULL, mine, NULL) != 1 ||
	    EVP_DecryptInit_ex(s->rx, evp, NULL, theirs, NULL) != 1) {
		EVP_CIPHER_CTX_free(s->tx);
		EVP_CIPHER_CTX_free(s->rx);
		s->tx = NULL;
		s->rx = NULL;
		return -EIO;
	}
	memcpy(s->tx_salt, mine + SESS_KEY_LEN, SESS_SALT_LEN);
	memcpy(s->rx_salt, theirs + SESS_KEY_LEN, SESS_SALT_LEN);
	s->ready = true;
	return 0;
}

/*
 * The session's keys, from both ends' ephemeral keys and nonces and the
 * pair's message keys; the ephemeral private key is wiped. A session
 * without per-frame protection (cipher NONE) derives nothing.
 */
static int
sess_derive(struct rpci_auth_sess *s, uint32_t session_id, uint64_t lease_id)
{
	const unsigned int self = s->a->self;
	const uint8_t *eph_c = s->client ? s->eph_pub : s->peer_eph;
	const uint8_t *eph_s = s->client ? s->peer_eph : s->eph_pub;
	uint8_t ikm[3 * 32], salt[2 * SESS_NONCE_LEN], keys[SESS_KEYS_LEN];
	uint8_t info[sizeof(SESS_KDF_LABEL) - 1 + 2 * 32 + 4 + 8 + 4], *p = info;
	int ret;

	if (s->cipher == RPCI_AUTH_CIPHER_NONE) {
		OPENSSL_cleanse(s->eph_priv, sizeof(s->eph_priv));
		return 0;
	}
	ret = auth_x25519(s->eph_priv, s->peer_eph, ikm);
	OPENSSL_cleanse(s->eph_priv, sizeof(s->eph_priv));
	if (ret < 0) {
		return ret;
	}
	/* K(client -> server) || K(server -> client) */
	memcpy(ikm + 32, s->client ? s->a->tx[s->peer] : s->a->rx[s->peer], 32);
	memcpy(ikm + 64, s->client ? s->a->rx[s->peer] : s->a->tx[s->peer], 32);
	memcpy(salt, s->client ? s->nonce : s->peer_nonce, SESS_NONCE_LEN);
	memcpy(salt + SESS_NONCE_LEN, s->client ? s->peer_nonce : s->nonce, SESS_NONCE_LEN);
	memcpy(p, SESS_KDF_LABEL, sizeof(SESS_KDF_LABEL) - 1);
	p += sizeof(SESS_KDF_LABEL) - 1;
	memcpy(p, eph_c, 32);
	memcpy(p + 32, eph_s, 32);
	p += 64;
	p[0] = (uint8_t)(session_id >> 24);
	p[1] = (uint8_t)(session_id >> 16);
	p[2] = (uint8_t)(session_id >> 8);
	p[3] = (uint8_t)session_id;
	put_be64(p + 4, lease_id);
	p[12] = s->cipher;
	p[13] = s->flags;
	p[14] = (uint8_t)(s->client ? self : s->peer);
	p[15] = (uint8_t)(s->client ? s->peer : self);
	ret = auth_hkdf(ikm, sizeof(ikm), salt, sizeof(salt), info, sizeof(info), keys,
			sizeof(keys));
	OPENSSL_cleanse(ikm, sizeof(ikm));
	if (ret == 0) {
		ret = sess_keys_set(s, keys);
	}
	OPENSSL_cleanse(keys, sizeof(keys));
	return ret;
}

/* Bytes 0..63 of a block (everything but the tag). */
static void
block_fill(const struct rpci_auth_sess *s, uint8_t block[RPCI_AUTH_OPEN_LEN], uint64_t now_us)
{
	memset(block, 0, RPCI_AUTH_OPEN_LEN);
	block[BLK_CIPHER] = s->cipher;
	block[BLK_FLAGS] = s->flags;
	block[BLK_FROM] = (uint8_t)s->a->self;
	block[BLK_TO] = (uint8_t)s->peer;
	put_be64(block + BLK_TIME, now_us);
	memcpy(block + BLK_EPH, s->eph_pub, RPCI_AUTH_KEY_LEN);
	memcpy(block + BLK_NONCE, s->nonce, SESS_NONCE_LEN);
}

/*
 * The tag of a block under key: aad, the block's first 64 bytes and, for
 * an OPEN_ACK, the OPEN's ephemeral key and nonce.
 */
static int
block_tag(EVP_MAC_CTX *mac, const uint8_t key[32], const void *aad, size_t aad_len,
	  const uint8_t *block, const uint8_t *open_eph, const uint8_t *open_nonce,
	  uint8_t tag[RPCI_AUTH_TAG_LEN])
{
	const void *parts[4] = { aad, block, open_eph, open_nonce };
	size_t lens[4] = { aad_len, BLK_TAG, RPCI_AUTH_KEY_LEN, SESS_NONCE_LEN };

	return auth_hmac(mac, key, parts, lens, open_eph != NULL ? 4 : 2, tag);
}

static bool
block_reserved_zero(const uint8_t block[RPCI_AUTH_OPEN_LEN])
{
	return block[BLK_RESERVED] == 0 && block[BLK_RESERVED + 1] == 0 &&
	       block[BLK_RESERVED + 2] == 0 && block[BLK_RESERVED + 3] == 0;
}

static int
refuse(enum rpci_auth_refusal r, enum rpci_auth_refusal *why)
{
	if (why != NULL) {
		*why = r;
	}
	return -EACCES;
}

struct rpci_auth_sess *
rpci_auth_sess_client(struct rpci_auth *a, unsigned int server, uint8_t cipher, uint8_t flags)
{
	return sess_new(a, server, true, cipher, flags);
}

int
rpci_auth_sess_offer(struct rpci_auth_sess *s, const void *aad, size_t aad_len,
		     uint8_t block[RPCI_AUTH_OPEN_LEN], uint64_t now_us)
{
	if (s == NULL || s->a == NULL || !s->client || block == NULL ||
	    (aad_len > 0 && aad == NULL)) {
		return -EINVAL;
	}
	block_fill(s, block, now_us);
	return block_tag(s->mac, s->a->tx[s->peer], aad, aad_len, block, NULL, NULL,
			 block + BLK_TAG);
}

int
rpci_auth_offer_verify(struct rpci_auth *a, const void *aad, size_t aad_len,
		       const uint8_t block[RPCI_AUTH_OPEN_LEN], uint64_t now_us,
		       struct rpci_auth_offer *offer, enum rpci_auth_refusal *why)
{
	uint8_t tag[RPCI_AUTH_TAG_LEN];
	unsigned int from;
	EVP_MAC_CTX *mac;
	OSSL_PARAM params[2];
	uint64_t t;
	int ret;

	if (why != NULL) {
		*why = RPCI_AUTH_OK;
	}
	if (a == NULL || !a->enabled || block == NULL || offer == NULL ||
	    (aad_len > 0 && aad == NULL)) {
		return -EINVAL;
	}
	if (block[BLK_CIPHER] >= RPCI_AUTH_NB_CIPHERS ||
	    (block[BLK_FLAGS] & ~RPCI_AUTH_SESS_ENCRYPT) != 0 ||
	    (block[BLK_CIPHER] == RPCI_AUTH_CIPHER_NONE && block[BLK_FLAGS] != 0) ||
	    !block_reserved_zero(block)) {
		return refuse(RPCI_AUTH_MALFORMED, why);
	}
	from = block[BLK_FROM];
	if (from >= a->nb_hosts) {
		return refuse(RPCI_AUTH_UNKNOWN_HOST, why);
	}
	if (block[BLK_TO] != a->self) {
		return refuse(RPCI_AUTH_NOT_FOR_US, why);
	}
	/* one context for every OPEN (a flood of forged ones makes none) */
	if (a->open_mac == NULL) {
		mac = EVP_MAC_CTX_new(a->hmac);
		params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0);
		params[1] = OSSL_PARAM_construct_end();
		if (mac == NULL || EVP_MAC_CTX_set_params(mac, params) != 1) {
			EVP_MAC_CTX_free(mac);
			return -EIO;
		}
		a->open_mac = mac;
	}
	ret = block_tag(a->open_mac, a->rx[from], aad, aad_len, block, NULL, NULL, tag);
	if (ret < 0) {
		return ret;
	}
	/* Authentic first: stale counts only genuine OPENs. */
	if (CRYPTO_memcmp(tag, block + BLK_TAG, sizeof(tag)) != 0) {
		return refuse(RPCI_AUTH_BAD_TAG, why);
	}
	t = get_be64(block + BLK_TIME);
	if (t + a->window_us < now_us || t > now_us + a->window_us) {
		return refuse(RPCI_AUTH_STALE, why);
	}
	offer->from = from;
	offer->cipher = block[BLK_CIPHER];
	offer->flags = block[BLK_FLAGS];
	offer->time_us = t;
	memcpy(offer->eph_pub, block + BLK_EPH, RPCI_AUTH_KEY_LEN);
	memcpy(offer->nonce, block + BLK_NONCE, SESS_NONCE_LEN);
	return 0;
}

struct rpci_auth_sess *
rpci_auth_sess_server(struct rpci_auth *a, const struct rpci_auth_offer *offer)
{
	struct rpci_auth_sess *s;

	if (offer == NULL) {
		errno = EINVAL;
		return NULL;
	}
	s = sess_new(a, offer->from, false, offer->cipher, offer->flags);
	if (s == NULL) {
		return NULL;
	}
	memcpy(s->peer_eph, offer->eph_pub, RPCI_AUTH_KEY_LEN);
	memcpy(s->peer_nonce, offer->nonce, SESS_NONCE_LEN);
	return s;
}

int
rpci_auth_sess_answer(struct rpci_auth_sess *s, const void *aad, size_t aad_len,
		      uint32_t session_id, uint64_t lease_id, uint8_t block[RPCI_AUTH_OPEN_LEN],
		      uint64_t now_us)
{
	int ret;

	if (s == NULL || s->a == NULL || s->client || block == NULL ||
	    (aad_len > 0 && aad == NULL)) {
		return -EINVAL;
	}
	block_fill(s, block, now_us);
	ret = block_tag(s->mac, s->a->tx[s->peer], aad, aad_len, block, s->peer_eph,
			s->peer_nonce, block + BLK_TAG);
	if (ret == 0 && !s->ready) {
		ret = sess_derive(s, session_id, lease_id);
	}
	return ret;
}

int
rpci_auth_sess_confirm(struct rpci_auth_sess *s, const void *aad, size_t aad_len,
		       const uint8_t block[RPCI_AUTH_OPEN_LEN], uint32_t session_id,
		       uint64_t lease_id, enum rpci_auth_refusal *why)
{
	uint8_t tag[RPCI_AUTH_TAG_LEN];
	int ret;

	if (why != NULL) {
		*why = RPCI_AUTH_OK;
	}
	if (s == NULL || s->a == NULL || !s->client || block == NULL ||
	    (aad_len > 0 && aad == NULL)) {
		return -EINVAL;
	}
	/* The server answers the cipher asked for; it may add encryption. */
	if (block[BLK_CIPHER] != s->cipher ||
	    (block[BLK_FLAGS] & ~RPCI_AUTH_SESS_ENCRYPT) != 0 ||
	    (block[BLK_FLAGS] & s->flags) != s->flags ||
	    (s->cipher == RPCI_AUTH_CIPHER_NONE && block[BLK_FLAGS] != 0) ||
	    !block_reserved_zero(block)) {
		return refuse(RPCI_AUTH_MALFORMED, why);
	}
	if (block[BLK_FROM] != s->peer) {
		return refuse(RPCI_AUTH_UNKNOWN_HOST, why);
	}
	if (block[BLK_TO] != s->a->self) {
		return refuse(RPCI_AUTH_NOT_FOR_US, why);
	}
	ret = block_tag(s->mac, s->a->rx[s->peer], aad, aad_len, block, s->eph_pub, s->nonce,
			tag);
	if (ret < 0) {
		return ret;
	}
	if (CRYPTO_memcmp(tag, block + BLK_TAG, sizeof(tag)) != 0) {
		return refuse(RPCI_AUTH_BAD_TAG, why);
	}
	if (s->ready) {
		return 0; /* answered already: the same keys */
	}
	s->flags = block[BLK_FLAGS];
	memcpy(s->peer_eph, block + BLK_EPH, RPCI_AUTH_KEY_LEN);
	memcpy(s->peer_nonce, block + BLK_NONCE, SESS_NONCE_LEN);
	return sess_derive(s, session_id, lease_id);
}

struct rpci_auth_sess *
rpci_auth_sess_from_keys(uint8_t cipher, uint8_t flags, const uint8_t keys[SESS_KEYS_LEN],
			 bool client)
{
	struct rpci_auth_sess *s;
	int ret;

	if (sess_evp(cipher) == NULL || keys == NULL || (flags & ~RPCI_AUTH_SESS_ENCRYPT) != 0) {
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	s->client = client;
	s->cipher = cipher;
	s->flags = flags;
	ret = sess_keys_set(s, keys);
	if (ret < 0) {
		rpci_auth_sess_free(s);
		errno = -ret;
		return NULL;
	}
	return s;
}

/* ------------------------------------------------------------ the frames */

/* The nonce of a frame: the direction's salt, then the counter. */
static void
frame_iv(const uint8_t salt[SESS_SALT_LEN], uint64_t counter, uint8_t iv[SESS_IV_LEN])
{
	memcpy(iv, salt, SESS_SALT_LEN);
	put_be64(iv + SESS_SALT_LEN, counter);
}

int
rpci_auth_sess_seal_start(struct rpci_auth_sess *s, uint64_t counter, const void *aad,
			  size_t aad_len)
{
	uint8_t iv[SESS_IV_LEN];
	int outl;

	if (s == NULL || !s->ready) {
		return -EINVAL;
	}
	frame_iv(s->tx_salt, counter, iv);
	if (EVP_EncryptInit_ex(s->tx, NULL, NULL, NULL, iv) != 1 ||
	    (aad_len > 0 && EVP_EncryptUpdate(s->tx, NULL, &outl, aad, (int)aad_len) != 1) ||
	    EVP_EncryptUpdate(s->tx, NULL, &outl, iv + SESS_SALT_LEN, 8) != 1) {
		return -EIO;
	}
	return 0;
}

int
rpci_auth_sess_seal_data(struct rpci_auth_sess *s, const void *in, void *out, size_t len)
{
	int outl = 0;

	if (len == 0) {
		return 0;
	}
	if (EVP_EncryptUpdate(s->tx, out, &outl, in, (int)len) != 1 ||
	    (out != NULL && (size_t)outl != len)) {
		return -EIO;
	}
	return 0;
}

int
rpci_auth_sess_seal_finish(struct rpci_auth_sess *s, uint8_t tag[RPCI_AUTH_FRAME_TAG_LEN])
{
	uint8_t none[16];
	int outl = 0;

	if (EVP_EncryptFinal_ex(s->tx, none, &outl) != 1 || outl != 0 ||
	    EVP_CIPHER_CTX_ctrl(s->tx, EVP_CTRL_AEAD_GET_TAG, RPCI_AUTH_FRAME_TAG_LEN, tag) != 1) {
		return -EIO;
	}
	return 0;
}

int
rpci_auth_sess_open_start(struct rpci_auth_sess *s, uint64_t counter, const void *aad,
			  size_t aad_len)
{
	uint8_t iv[SESS_IV_LEN];
	int outl;

	if (s == NULL || !s->ready) {
		return -EINVAL;
	}
	frame_iv(s->rx_salt, counter, iv);
	if (EVP_DecryptInit_ex(s->rx, NULL, NULL, NULL, iv) != 1 ||
	    (aad_len > 0 && EVP_DecryptUpdate(s->rx, NULL, &outl, aad, (int)aad_len) != 1) ||
	    EVP_DecryptUpdate(s->rx, NULL, &outl, iv + SESS_SALT_LEN, 8) != 1) {
		return -EIO;
	}
	return 0;
}

int
rpci_auth_sess_open_data(struct rpci_auth_sess *s, const void *in, void *out, size_t len)
{
	int outl = 0;

	if (len == 0) {
		return 0;
	}
	if (EVP_DecryptUpdate(s->rx, out, &outl, in, (int)len) != 1 ||
	    (out != NULL && (size_t)outl != len)) {
		return -EIO;
	}
	return 0;
}

int
rpci_auth_sess_open_finish(struct rpci_auth_sess *s, const uint8_t tag[RPCI_AUTH_FRAME_TAG_LEN])
{
	uint8_t none[16];
	int outl = 0;

	if (EVP_CIPHER_CTX_ctrl(s->rx, EVP_CTRL_AEAD_SET_TAG, RPCI_AUTH_FRAME_TAG_LEN,
				(void *)(uintptr_t)tag) != 1) {
		return -EIO;
	}
	return EVP_DecryptFinal_ex(s->rx, none, &outl) > 0 ? 0 : -EBADMSG;
}

/* ------------------------------------------------------- refusal log limit */

bool
rpci_auth_log_allow(struct rpci_auth_log_limit *l, uint64_t now, uint64_t hz, uint64_t *skipped)
{
	uint64_t per = hz / RPCI_AUTH_LOG_PER_S;
	uint64_t burst;
	uint64_t full;

	if (per == 0) {
		per = 1;
	}
	burst = per * RPCI_AUTH_LOG_BURST;
	full = now > burst ? now - burst : 0;
	if (l->empty_at < full || l->empty_at == 0) {
		l->empty_at = full;
	}
	if (l->empty_at + per > now) {
		l->skipped++;
		l->skipped_total++;
		return false;
	}
	l->empty_at += per;
	if (skipped != NULL) {
		*skipped = l->skipped;
	}
	l->skipped = 0;
	return true;
}
