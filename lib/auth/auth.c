/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * The authenticated envelope of control messages: pairwise keys from the
 * hosts' X25519 keys (HKDF-SHA256), HMAC-SHA256 tags, and freshness by the
 * sender's clock and a replay window per sender instance. rpci_auth.h has
 * the layout; doc/security.md says why each part is there.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "auth_private.h"

#define AUTH_KDF_SALT "rpci ctrl v1"

/* What a receiver knows of one sending instance of a host. */
struct auth_instance {
	uint64_t id;
	struct rpci_auth_window win; /* the counters taken */
	uint64_t last_time_us;
	uint64_t last_use;
	bool used;
};

struct auth_sender {
	struct auth_instance inst[RPCI_AUTH_INSTANCES];
	/* latest time of the instances forgotten to make room: older is a replay */
	uint64_t floor_us;
};

struct rpci_auth_ep {
	struct rpci_auth *a;
	EVP_MAC_CTX *mac;
	uint64_t instance;
	uint64_t counter;
	uint64_t start_us;
	uint64_t use_clock;
	struct rpci_auth_stats stats;
	struct auth_sender from[RPCI_CONF_HOSTS_MAX];
};

static const char *const g_refusal_names[RPCI_AUTH_NB_REFUSALS] = {
	[RPCI_AUTH_OK] = "ok",
	[RPCI_AUTH_MALFORMED] = "malformed",
	[RPCI_AUTH_UNSIGNED] = "unsigned",
	[RPCI_AUTH_UNKNOWN_HOST] = "unknown-host",
	[RPCI_AUTH_NOT_FOR_US] = "not-for-us",
	[RPCI_AUTH_BAD_TAG] = "bad-tag",
	[RPCI_AUTH_STALE] = "stale",
	[RPCI_AUTH_REPLAY] = "replay",
};

const char *
rpci_auth_refusal_name(enum rpci_auth_refusal r)
{
	return (unsigned int)r < RPCI_AUTH_NB_REFUSALS ? g_refusal_names[r] : "?";
}

uint64_t
rpci_auth_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int
auth_x25519(const uint8_t priv[32], const uint8_t peer[32], uint8_t shared[32])
{
	EVP_PKEY *mine, *theirs;
	EVP_PKEY_CTX *ctx = NULL;
	size_t len = 32;
	int ret = -EIO;

	mine = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, 32);
	theirs = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, peer, 32);
	if (mine == NULL || theirs == NULL) {
		goto out;
	}
	ctx = EVP_PKEY_CTX_new(mine, NULL);
	/* OpenSSL refuses an all-zero result (a low-order public key). */
	if (ctx != NULL && EVP_PKEY_derive_init(ctx) == 1 &&
	    EVP_PKEY_derive_set_peer(ctx, theirs) == 1 &&
	    EVP_PKEY_derive(ctx, shared, &len) == 1 && len == 32) {
		ret = 0;
	}
out:
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(theirs);
	EVP_PKEY_free(mine);
	return ret;
}

int
auth_hkdf(const void *ikm, size_t ikm_len, const void *salt, size_t salt_len, const void *info,
	  size_t info_len, void *out, size_t out_len)
{
	EVP_KDF *kdf;
	EVP_KDF_CTX *ctx;
	OSSL_PARAM params[5];
	int ok = 0;

	kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	ctx = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
	if (ctx != NULL) {
		params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0);
		params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
							      (void *)(uintptr_t)ikm, ikm_len);
		params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
							      (void *)(uintptr_t)salt, salt_len);
		params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
							      (void *)(uintptr_t)info, info_len);
		params[4] = OSSL_PARAM_construct_end();
		ok = EVP_KDF_derive(ctx, out, out_len, params) == 1;
	}
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return ok ? 0 : -EIO;
}

/* The message key of a pair: HKDF-SHA256(shared, salt, info = from_pub || to_pub). */
static int
auth_kdf(const uint8_t shared[32], const uint8_t from_pub[32], const uint8_t to_pub[32],
	 uint8_t key[32])
{
	uint8_t info[64];

	memcpy(info, from_pub, 32);
	memcpy(info + 32, to_pub, 32);
	return auth_hkdf(shared, 32, AUTH_KDF_SALT, strlen(AUTH_KDF_SALT), info, sizeof(info),
			 key, 32);
}

/* Read every public key and derive the message keys of our pairs. */
static int
auth_derive(struct rpci_auth *a, const uint8_t priv[32], char *err, size_t err_len)
{
	const struct rpci_conf *conf = a->conf;
	uint8_t (*pub)[32], shared[32];
	char path[AUTH_PATH_MAX];
	unsigned int i;
	int ret;

	pub = calloc(conf->nb_hosts, sizeof(*pub));
	if (pub == NULL) {
		return -ENOMEM;
	}
	for (i = 0; i < conf->nb_hosts; i++) {
		ret = rpci_auth_key_paths(conf->auth.key_dir, conf->hosts[i].name, NULL, 0, path,
					  sizeof(path));
		if (ret == 0) {
			ret = rpci_auth_key_load_public(path, pub[i], err, err_len);
		}
		if (ret < 0) {
			goto out;
		}
	}
	/* The private key must be the pair of our public key. */
	{
		EVP_PKEY *pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, 32);
		uint8_t mine[32];
		size_t len = 32;

		ret = pk != NULL && EVP_PKEY_get_raw_public_key(pk, mine, &len) == 1 ? 0 : -EIO;
		EVP_PKEY_free(pk);
		if (ret == 0 && CRYPTO_memcmp(mine, pub[a->self], 32) != 0) {
			auth_err(err, err_len, "%s/%s%s does not hold the public key of %s/%s%s",
				 conf->auth.key_dir, conf->hosts[a->self].name,
				 RPCI_AUTH_PUBLIC_SUFFIX, conf->auth.key_dir,
				 conf->hosts[a->self].name, RPCI_AUTH_PRIVATE_SUFFIX);
			ret = -EBADMSG;
		}
		if (ret < 0) {
			goto out;
		}
	}
	for (i = 0; i < conf->nb_hosts; i++) {
		ret = auth_x25519(priv, pub[i], shared);
		if (ret == 0) {
			ret = auth_kdf(shared, pub[a->self], pub[i], a->tx[i]);
		}
		if (ret == 0) {
			ret = auth_kdf(shared, pub[i], pub[a->self], a->rx[i]);
		}
		if (ret < 0) {
			auth_err(err, err_len, "no key can be derived with host '%s' (%s/%s%s)",
				 conf->hosts[i].name, conf->auth.key_dir, conf->hosts[i].name,
				 RPCI_AUTH_PUBLIC_SUFFIX);
			ret = -EBADMSG;
			goto out;
		}
	}
	ret = 0;
out:
	OPENSSL_cleanse(shared, sizeof(shared));
	free(pub);
	return ret;
}

struct rpci_auth *
rpci_auth_create(const struct rpci_conf *conf, const char *host, char *err, size_t err_len)
{
	char path[AUTH_PATH_MAX];
	const struct rpci_conf_host *h;
	uint8_t priv[32];
	struct rpci_auth *a;
	int ret;

	if (conf == NULL || host == NULL) {
		auth_err(err, err_len, "no deployment or host");
		errno = EINVAL;
		return NULL;
	}
	h = rpci_conf_host_find(conf, host);
	if (h == NULL) {
		auth_err(err, err_len, "%s has no host '%s'", conf->path, host);
		errno = ENOENT;
		return NULL;
	}
	a = calloc(1, sizeof(*a));
	if (a == NULL) {
		auth_err(err, err_len, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	a->conf = conf;
	a->self = (unsigned int)rpci_conf_host_index(conf, h);
	a->nb_hosts = conf->nb_hosts;
	a->window_us = (uint64_t)conf->auth.window_ms * 1000;
	if (conf->auth.mode == RPCI_AUTH_NONE) {
		return a;
	}
	a->enabled = true;
	a->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (a->hmac == NULL) {
		auth_err(err, err_len, "OpenSSL has no HMAC");
		ret = -EIO;
		goto fail;
	}
	ret = rpci_auth_key_paths(conf->auth.key_dir, host, path, sizeof(path), NULL, 0);
	if (ret == 0) {
		ret = rpci_auth_key_load_private(path, priv, err, err_len);
	}
	if (ret == 0) {
		ret = auth_derive(a, priv, err, err_len);
	}
	OPENSSL_cleanse(priv, sizeof(priv));
	if (ret < 0) {
		goto fail;
	}
	return a;
fail:
	rpci_auth_free(a);
	errno = -ret;
	return NULL;
}

void
rpci_auth_free(struct rpci_auth *a)
{
	if (a == NULL) {
		return;
	}
	EVP_MAC_CTX_free(a->open_mac);
	EVP_MAC_free(a->hmac);
	OPENSSL_cleanse(a, sizeof(*a));
	free(a);
}

bool
rpci_auth_enabled(const struct rpci_auth *a)
{
	return a != NULL && a->enabled;
}

unsigned int
rpci_auth_self(const struct rpci_auth *a)
{
	return a->self;
}

const struct rpci_conf *
rpci_auth_conf(const struct rpci_auth *a)
{
	return a->conf;
}

struct rpci_auth_ep *
rpci_auth_ep_create(struct rpci_auth *a, uint64_t now_us)
{
	OSSL_PARAM params[2];
	struct rpci_auth_ep *ep;

	if (a == NULL) {
		errno = EINVAL;
		return NULL;
	}
	ep = calloc(1, sizeof(*ep));
	if (ep == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	ep->a = a;
	ep->start_us = now_us;
	if (!a->enabled) {
		return ep;
	}
	if (getrandom(&ep->instance, sizeof(ep->instance), 0) != sizeof(ep->instance)) {
		free(ep);
		errno = EIO;
		return NULL;
	}
	ep->mac = EVP_MAC_CTX_new(a->hmac);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (ep->mac == NULL || EVP_MAC_CTX_set_params(ep->mac, params) != 1) {
		rpci_auth_ep_free(ep);
		errno = EIO;
		return NULL;
	}
	return ep;
}

void
rpci_auth_ep_free(struct rpci_auth_ep *ep)
{
	if (ep == NULL) {
		return;
	}
	EVP_MAC_CTX_free(ep->mac);
	free(ep);
}

int
auth_hmac(EVP_MAC_CTX *mac, const uint8_t key[32], const void *const *parts, const size_t *lens,
	  unsigned int nb_parts, uint8_t tag[RPCI_AUTH_TAG_LEN])
{
	uint8_t full[32];
	size_t out = 0;
	unsigned int i;

	if (EVP_MAC_init(mac, key, 32, NULL) != 1) {
		return -EIO;
	}
	for (i = 0; i < nb_parts; i++) {
		if (EVP_MAC_update(mac, parts[i], lens[i]) != 1) {
			return -EIO;
		}
	}
	if (EVP_MAC_final(mac, full, &out, sizeof(full)) != 1 || out != sizeof(full)) {
		return -EIO;
	}
	memcpy(tag, full, RPCI_AUTH_TAG_LEN);
	OPENSSL_cleanse(full, sizeof(full));
	return 0;
}

/* HMAC-SHA256 of buf under key, first RPCI_AUTH_TAG_LEN bytes; 0 or -EIO. */
static int
auth_tag(struct rpci_auth_ep *ep, const uint8_t key[32], const uint8_t *buf, size_t len,
	 uint8_t tag[RPCI_AUTH_TAG_LEN])
{
	const void *parts[1] = { buf };

	return auth_hmac(ep->mac, key, parts, &len, 1, tag);
}

int
rpci_auth_seal(struct rpci_auth_ep *ep, unsigned int to, const void *msg, size_t len, void *out,
	       size_t size, uint64_t now_us)
{
	uint8_t *p = out;

	if (ep == NULL || !ep->a->enabled || to >= ep->a->nb_hosts || (len > 0 && msg == NULL) ||
	    out == NULL) {
		return -EINVAL;
	}
	if (len + RPCI_AUTH_OVERHEAD > size || len + RPCI_AUTH_OVERHEAD > INT32_MAX) {
		return -EMSGSIZE;
	}
	memset(p, 0, RPCI_AUTH_HDR_LEN);
	p[0] = RPCI_AUTH_VERSION;
	p[1] = RPCI_AUTH_ALG_HMAC_SHA256;
	p[2] = (uint8_t)ep->a->self;
	p[3] = (uint8_t)to;
	put_be64(p + 8, ep->instance);
	put_be64(p + 16, ++ep->counter);
	put_be64(p + 24, now_us);
	memmove(p + RPCI_AUTH_HDR_LEN, msg, len);
	if (auth_tag(ep, ep->a->tx[to], p, RPCI_AUTH_HDR_LEN + len,
		     p + RPCI_AUTH_HDR_LEN + len) < 0) {
		return -EIO;
	}
	ep->stats.sealed++;
	return (int)(len + RPCI_AUTH_OVERHEAD);
}

void
rpci_auth_window_init(struct rpci_auth_window *w, uint64_t first)
{
	memset(w, 0, sizeof(*w));
	w->top = first;
}

bool
rpci_auth_window_take(struct rpci_auth_window *w, uint64_t c)
{
	uint64_t i, word;

	if (c > w->top) {
		/* clear the words the window slides past, then take c */
		if (c - w->top >= RPCI_AUTH_WINDOW) {
			memset(w->bits, 0, sizeof(w->bits));
		} else {
			for (i = w->top / 64 + 1; i <= c / 64; i++) {
				w->bits[i % RPCI_AUTH_WINDOW_WORDS] = 0;
			}
		}
		w->top = c;
	} else if (w->top - c >= RPCI_AUTH_WINDOW - 64) {
		return false; /* behind the window: cannot tell, so refused */
	}
	word = (c / 64) % RPCI_AUTH_WINDOW_WORDS;
	if (w->bits[word] & (1ull << (c % 64))) {
		return false;
	}
	w->bits[word] |= 1ull << (c % 64);
	return true;
}

/* Replay check for (sender, instance, counter, time); true if new. */
static bool
auth_fresh(struct rpci_auth_ep *ep, unsigned int from, uint64_t id, uint64_t c, uint64_t t)
{
	struct auth_sender *s = &ep->from[from];
	struct auth_instance *in = NULL, *victim = NULL;
	unsigned int i;

	for (i = 0; i < RPCI_AUTH_INSTANCES; i++) {
		if (s->inst[i].used && s->inst[i].id == id) {
			in = &s->inst[i];
			break;
		}
		if (victim == NULL || !s->inst[i].used ||
		    (victim->used && s->inst[i].last_use < victim->last_use)) {
			victim = &s->inst[i];
		}
	}
	if (in == NULL) {
		/* An instance we never saw, or forgot: only what is newer than the forgotten. */
		if (t <= s->floor_us) {
			return false;
		}
		if (victim->used && victim->last_time_us > s->floor_us) {
			s->floor_us = victim->last_time_us;
		}
		memset(victim, 0, sizeof(*victim));
		victim->used = true;
		victim->id = id;
		rpci_auth_window_init(&victim->win, c);
		in = victim;
	}
	if (!rpci_auth_window_take(&in->win, c)) {
		return false;
	}
	if (t > in->last_time_us) {
		in->last_time_us = t;
	}
	in->last_use = ++ep->use_clock;
	return true;
}

static int
auth_refuse(struct rpci_auth_ep *ep, enum rpci_auth_refusal r, enum rpci_auth_refusal *why)
{
	ep->stats.refused[r]++;
	if (why != NULL) {
		*why = r;
	}
	return -EACCES;
}

int
rpci_auth_open(struct rpci_auth_ep *ep, const void *buf, size_t len, uint64_t now_us,
	       unsigned int *from, const void **msg, size_t *msg_len,
	       enum rpci_auth_refusal *why)
{
	const uint8_t *p = buf;
	uint8_t tag[RPCI_AUTH_TAG_LEN];
	uint64_t id, counter, t, slack;
	unsigned int f;

	if (why != NULL) {
		*why = RPCI_AUTH_OK;
	}
	if (ep == NULL || from == NULL || msg == NULL || msg_len == NULL) {
		return -EINVAL;
	}
	if (buf == NULL || len < 1) {
		return auth_refuse(ep, RPCI_AUTH_MALFORMED, why);
	}
	if (p[0] == '{') {
		return auth_refuse(ep, RPCI_AUTH_UNSIGNED, why);
	}
	if (len < RPCI_AUTH_OVERHEAD || p[0] != RPCI_AUTH_VERSION ||
	    p[1] != RPCI_AUTH_ALG_HMAC_SHA256 || p[4] != 0 || p[5] != 0 || p[6] != 0 ||
	    p[7] != 0 || get_be64(p + 16) == 0) {
		return auth_refuse(ep, RPCI_AUTH_MALFORMED, why);
	}
	f = p[2];
	if (f >= ep->a->nb_hosts) {
		return auth_refuse(ep, RPCI_AUTH_UNKNOWN_HOST, why);
	}
	if (p[3] != ep->a->self) {
		return auth_refuse(ep, RPCI_AUTH_NOT_FOR_US, why);
	}
	/* Authentic first: stale and replay count only genuine messages. */
	if (auth_tag(ep, ep->a->rx[f], p, len - RPCI_AUTH_TAG_LEN, tag) < 0 ||
	    CRYPTO_memcmp(tag, p + len - RPCI_AUTH_TAG_LEN, RPCI_AUTH_TAG_LEN) != 0) {
		return auth_refuse(ep, RPCI_AUTH_BAD_TAG, why);
	}
	id = get_be64(p + 8);
	counter = get_be64(p + 16);
	t = get_be64(p + 24);
	/* Stamped before we began (a tenth of the window of slack for clocks): not for us. */
	slack = ep->a->window_us / 10;
	if (t + ep->a->window_us < now_us || t > now_us + ep->a->window_us ||
	    t + slack < ep->start_us) {
		return auth_refuse(ep, RPCI_AUTH_STALE, why);
	}
	if (!auth_fresh(ep, f, id, counter, t)) {
		return auth_refuse(ep, RPCI_AUTH_REPLAY, why);
	}
	ep->stats.opened++;
	*from = f;
	*msg = p + RPCI_AUTH_HDR_LEN;
	*msg_len = len - RPCI_AUTH_OVERHEAD;
	return 0;
}

void
rpci_auth_ep_stats(const struct rpci_auth_ep *ep, struct rpci_auth_stats *stats)
{
	*stats = ep->stats;
}
