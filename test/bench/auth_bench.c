/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * rpci-auth-bench: what authentication costs (doc/security.md).
 *
 * 1. A control message: encode (lib/ctrl) + seal (lib/auth), and open +
 *    decode + role check, against encode and decode alone, for a STATUS (a
 *    heartbeat, the most frequent message) and a REGISTER (the largest).
 * 2. The primitives phase 2's per-frame MAC and optional encryption could
 *    use, from OpenSSL 3 (the library rpci uses) at 1.5 KB (a full frame at
 *    MTU 1500), 9 KB (jumbo) and 64 KB, beside CRC32C (what the MAC would
 *    replace) and memcpy of the same bytes.
 * Times are the median of 5 runs of a loop; ratios are from one run.
 *
 *   rpci-auth-bench [KEY_DIR]     (keys are made there: default a temp dir)
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <rte_hash_crc.h>

#include "rpci_auth.h"
#include "rpci_conf.h"
#include "rpci_ctrl.h"

#define RUNS 5

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int
cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

typedef void (*bench_fn)(void *arg, size_t len);

/* Median time of one call, in microseconds. */
static double
bench(bench_fn fn, void *arg, size_t len, long iters)
{
	double t[RUNS], t0;
	long i;
	int r;

	for (i = 0; i < iters / 10 + 1; i++) {
		fn(arg, len);
	}
	for (r = 0; r < RUNS; r++) {
		t0 = now_s();
		for (i = 0; i < iters; i++) {
			fn(arg, len);
		}
		t[r] = (now_s() - t0) / (double)iters * 1e6;
	}
	qsort(t, RUNS, sizeof(t[0]), cmp_d);
	return t[RUNS / 2];
}

/* --- 1. control messages */

struct ctrl_bench {
	struct rpci_conf *conf;
	struct rpci_auth_ep *tx, *rx;
	struct rpci_ctrl_msg msg;
	char json[RPCI_CTRL_MAX + 1];
	uint8_t sealed[RPCI_CTRL_MAX + RPCI_AUTH_OVERHEAD];
	int json_len, sealed_len;
	uint64_t t;
};

static void
b_encode(void *arg, size_t len)
{
	struct ctrl_bench *b = arg;

	(void)len;
	b->json_len = rpci_ctrl_encode(&b->msg, b->json, sizeof(b->json));
}

static void
b_decode(void *arg, size_t len)
{
	struct ctrl_bench *b = arg;
	struct rpci_ctrl_msg m;

	(void)len;
	rpci_ctrl_decode(b->json, (size_t)b->json_len, &m, NULL);
}

static void
b_encode_seal(void *arg, size_t len)
{
	struct ctrl_bench *b = arg;

	(void)len;
	b->json_len = rpci_ctrl_encode(&b->msg, b->json, sizeof(b->json));
	b->sealed_len = rpci_auth_seal(b->tx, 0, b->json, (size_t)b->json_len, b->sealed,
				       sizeof(b->sealed), ++b->t);
}

static void
b_open_decode(void *arg, size_t len)
{
	struct ctrl_bench *b = arg;
	struct rpci_ctrl_msg m;
	const void *body;
	size_t body_len;
	unsigned int from;

	(void)len;
	/* a fresh message each time: sealed here, only the receiving side timed apart */
	if (rpci_auth_open(b->rx, b->sealed, (size_t)b->sealed_len, b->t, &from, &body,
			   &body_len, NULL) == 0 &&
	    rpci_ctrl_decode(body, body_len, &m, NULL) == 0) {
		rpci_ctrl_check(b->conf, &b->conf->hosts[from], RPCI_ROLE_SELECTOR, &m, NULL);
	}
}

static void
b_seal_open_decode(void *arg, size_t len)
{
	b_encode_seal(arg, len);
	b_open_decode(arg, len);
}

static void
ctrl_row(struct ctrl_bench *b, const char *name)
{
	double enc, dec, seal, both;

	enc = bench(b_encode, b, 0, 20000);
	dec = bench(b_decode, b, 0, 20000);
	seal = bench(b_encode_seal, b, 0, 20000);
	both = bench(b_seal_open_decode, b, 0, 20000);
	printf("%-9s %5d B  encode %6.2f us  decode %6.2f us | encode+seal %6.2f us (+%.2f)  "
	       "open+decode+check %6.2f us (+%.2f)\n", name, b->json_len, enc, dec, seal,
	       seal - enc, both - seal, both - seal - dec);
}

/* --- 2. primitives */

static uint8_t g_src[65536 + 64], g_dst[65536 + 64], g_key[32], g_tag[32], g_iv[12];
static EVP_CIPHER_CTX *g_gcm, *g_cp;
static EVP_MAC_CTX *g_hmac, *g_poly;
static volatile uint32_t g_sink;

static void
p_memcpy(void *arg, size_t len)
{
	(void)arg;
	memcpy(g_dst, g_src, len);
	g_sink += g_dst[len - 1];
}

static void
p_crc(void *arg, size_t len)
{
	(void)arg;
	g_sink += rte_hash_crc(g_src, (uint32_t)len, ~0u);
}

static void
aead(EVP_CIPHER_CTX *c, size_t len, bool encrypt)
{
	int l;

	g_iv[11]++;
	EVP_EncryptInit_ex(c, NULL, NULL, NULL, g_iv);
	/* the header as AAD; the payload encrypted, or AAD too (a MAC only) */
	EVP_EncryptUpdate(c, NULL, &l, g_src, encrypt ? 32 : (int)len);
	if (encrypt) {
		EVP_EncryptUpdate(c, g_dst, &l, g_src + 32, (int)len - 32);
	}
	EVP_EncryptFinal_ex(c, g_dst, &l);
	EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, g_tag);
}

static void
p_gmac(void *arg, size_t len)
{
	(void)arg;
	aead(g_gcm, len, false);
}

static void
p_gcm(void *arg, size_t len)
{
	(void)arg;
	aead(g_gcm, len, true);
}

static void
p_cp_mac(void *arg, size_t len)
{
	(void)arg;
	aead(g_cp, len, false);
}

static void
p_cp(void *arg, size_t len)
{
	(void)arg;
	aead(g_cp, len, true);
}

static void
p_hmac(void *arg, size_t len)
{
	size_t l;

	(void)arg;
	EVP_MAC_init(g_hmac, g_key, 32, NULL);
	EVP_MAC_update(g_hmac, g_src, len);
	EVP_MAC_final(g_hmac, g_tag, &l, sizeof(g_tag));
}

static void
p_poly(void *arg, size_t len)
{
	size_t l;

	(void)arg;
	EVP_MAC_init(g_poly, g_key, 32, NULL);
	EVP_MAC_update(g_poly, g_src, len);
	EVP_MAC_final(g_poly, g_tag, &l, sizeof(g_tag));
}

static void
prim_row(const char *name, bench_fn fn)
{
	static const size_t sizes[3] = { 1472, 9000, 65536 };
	double us, mc;
	int i;

	printf("%-40s", name);
	for (i = 0; i < 3; i++) {
		us = bench(fn, NULL, sizes[i], (long)(2e8 / (double)sizes[i]));
		mc = bench(p_memcpy, NULL, sizes[i], (long)(2e8 / (double)sizes[i]));
		printf(" | %7.3f us %6.2f GB/s %5.1fx", us, (double)sizes[i] / us / 1e3, us / mc);
	}
	printf("\n");
}

static void
primitives(void)
{
	OSSL_PARAM p[2] = {
		OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	size_t i;

	for (i = 0; i < sizeof(g_src); i++) {
		g_src[i] = (uint8_t)(i * 131 + 7);
	}
	memset(g_key, 0x5a, sizeof(g_key));
	g_gcm = EVP_CIPHER_CTX_new();
	EVP_EncryptInit_ex(g_gcm, EVP_aes_128_gcm(), NULL, g_key, g_iv);
	g_cp = EVP_CIPHER_CTX_new();
	EVP_EncryptInit_ex(g_cp, EVP_chacha20_poly1305(), NULL, g_key, g_iv);
	g_hmac = EVP_MAC_CTX_new(EVP_MAC_fetch(NULL, "HMAC", NULL));
	EVP_MAC_CTX_set_params(g_hmac, p);
	g_poly = EVP_MAC_CTX_new(EVP_MAC_fetch(NULL, "POLY1305", NULL));
	printf("\nper frame: time, rate, and time over memcpy's of the same bytes "
	       "(1472 B | 9000 B | 65536 B)\n");
	prim_row("memcpy", p_memcpy);
	prim_row("CRC32C (rte_hash_crc)", p_crc);
	prim_row("AES-128-GCM, all AAD (GMAC)", p_gmac);
	prim_row("AES-128-GCM, 32 B AAD + encrypt", p_gcm);
	prim_row("ChaCha20-Poly1305, all AAD", p_cp_mac);
	prim_row("ChaCha20-Poly1305, 32 B AAD + encrypt", p_cp);
	prim_row("Poly1305 alone (one-time key)", p_poly);
	prim_row("HMAC-SHA256 (the CTRL envelope's)", p_hmac);
}

int
main(int argc, char **argv)
{
	char dir[] = "/tmp/rpci-auth-bench-XXXXXX", text[2048], err[512];
	const char *key_dir = argc > 1 ? argv[1] : mkdtemp(dir);
	struct rpci_auth *a, *b;
	struct ctrl_bench cb;
	unsigned int i;

	memset(&cb, 0, sizeof(cb));
	snprintf(text, sizeof(text),
		 "auth = { dir = \"%s\"; window_ms = 3600000; };\n"
		 "hosts = ( { name = \"sel\"; roles = [ \"selector\" ];"
		 " mac = \"02:00:00:00:00:01\";"
		 " eal = { lcores = \"0\"; }; }, { name = \"s1\"; roles = [ \"server\" ];"
		 " mac = \"02:00:00:00:01:01\"; eal = { lcores = \"0\"; }; devices = ( {"
		 " name = \"vgpu0\"; backend = \"cpu\"; memory_mb = 256; vendor_id = 0x7270;"
		 " device_id = 1; class_code = 0x030200; } ); } );", key_dir);
	cb.conf = rpci_conf_load_string(text, "bench.cfg", err, sizeof(err));
	if (key_dir == NULL || cb.conf == NULL) {
		fprintf(stderr, "rpci-auth-bench: %s\n", err);
		return 1;
	}
	rpci_auth_keygen(key_dir, "sel", err, sizeof(err));
	rpci_auth_keygen(key_dir, "s1", err, sizeof(err));
	a = rpci_auth_create(cb.conf, "s1", err, sizeof(err));
	b = rpci_auth_create(cb.conf, "sel", err, sizeof(err));
	if (a == NULL || b == NULL) {
		fprintf(stderr, "rpci-auth-bench: %s\n", err);
		return 1;
	}
	cb.t = 1700000000000000ULL;
	cb.tx = rpci_auth_ep_create(a, cb.t);
	cb.rx = rpci_auth_ep_create(b, cb.t);
	printf("control messages, median of %d runs (the extra cost of authentication in "
	       "parentheses)\n", RUNS);
	cb.msg.type = RPCI_CTRL_STATUS;
	cb.msg.id = 12345678;
	snprintf(cb.msg.u.status.server, sizeof(cb.msg.u.status.server), "s1");
	snprintf(cb.msg.u.status.device, sizeof(cb.msg.u.status.device), "vgpu0");
	cb.msg.u.status.st.memory_free = 200u << 20;
	cb.msg.u.status.st.load = 0.25;
	ctrl_row(&cb, "STATUS");
	memset(&cb.msg, 0, sizeof(cb.msg));
	cb.msg.type = RPCI_CTRL_REGISTER;
	cb.msg.id = 12345679;
	snprintf(cb.msg.u.reg.server, sizeof(cb.msg.u.reg.server), "s1");
	memcpy(cb.msg.u.reg.server_mac, cb.conf->hosts[1].mac, 6);
	snprintf(cb.msg.u.reg.device, sizeof(cb.msg.u.reg.device), "vgpu0");
	cb.msg.u.reg.vendor_id = 0x7270;
	cb.msg.u.reg.device_id = 1;
	cb.msg.u.reg.class_code = 0x030200;
	cb.msg.u.reg.memory_bytes = 256u << 20;
	snprintf(cb.msg.u.reg.backend, sizeof(cb.msg.u.reg.backend), "cpu");
	cb.msg.u.reg.module_kinds = 1;
	cb.msg.u.reg.nb_kernels = RPCI_SEL_KERNELS_MAX;
	for (i = 0; i < RPCI_SEL_KERNELS_MAX; i++) {
		snprintf(cb.msg.u.reg.kernels[i], sizeof(cb.msg.u.reg.kernels[i]),
			 "kernel_with_a_long_name_%02u", i);
	}
	ctrl_row(&cb, "REGISTER");
	primitives();
	rpci_auth_ep_free(cb.tx);
	rpci_auth_ep_free(cb.rx);
	rpci_auth_free(a);
	rpci_auth_free(b);
	rpci_conf_free(cb.conf);
	return 0;
}
