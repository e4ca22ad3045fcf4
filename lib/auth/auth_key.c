/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Host key files: X25519 key pairs in PEM (PKCS#8 private keys,
 * SubjectPublicKeyInfo public keys), so that `openssl pkey -in HOST.key
 * -pubout` reads them too. A private key file is refused when anyone but
 * its owner may read it, as ssh does.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "auth_private.h"

void
auth_err(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || len == 0) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

int
rpci_auth_key_paths(const char *key_dir, const char *host, char *priv, size_t priv_len,
		    char *pub, size_t pub_len)
{
	int n;

	if (key_dir == NULL || host == NULL) {
		return -EINVAL;
	}
	if (priv != NULL) {
		n = snprintf(priv, priv_len, "%s/%s%s", key_dir, host, RPCI_AUTH_PRIVATE_SUFFIX);
		if (n < 0 || (size_t)n >= priv_len) {
			return -ENAMETOOLONG;
		}
	}
	if (pub != NULL) {
		n = snprintf(pub, pub_len, "%s/%s%s", key_dir, host, RPCI_AUTH_PUBLIC_SUFFIX);
		if (n < 0 || (size_t)n >= pub_len) {
			return -ENAMETOOLONG;
		}
	}
	return 0;
}

/* Write a PEM file with mode 'mode', never over an existing one. */
static int
key_write(const char *path, mode_t mode, EVP_PKEY *pkey, bool private_key, char *err,
	  size_t err_len)
{
	FILE *f;
	int fd, ok, e;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0) {
		e = errno;
		auth_err(err, err_len, "%s: %s", path, strerror(e));
		return -e;
	}
	/* The umask may have taken bits away; never added any. */
	if (fchmod(fd, mode) < 0) {
		e = errno;
		close(fd);
		unlink(path);
		auth_err(err, err_len, "%s: %s", path, strerror(e));
		return -e;
	}
	f = fdopen(fd, "w");
	if (f == NULL) {
		e = errno;
		close(fd);
		unlink(path);
		auth_err(err, err_len, "%s: %s", path, strerror(e));
		return -e;
	}
	ok = private_key ? PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL) :
			   PEM_write_PUBKEY(f, pkey);
	if (fclose(f) != 0 || ok != 1) {
		unlink(path);
		auth_err(err, err_len, "%s: cannot write the key", path);
		return -EIO;
	}
	return 0;
}

int
rpci_auth_keygen(const char *key_dir, const char *host, char *err, size_t err_len)
{
	char priv[AUTH_PATH_MAX], pub[AUTH_PATH_MAX];
	EVP_PKEY_CTX *kctx;
	EVP_PKEY *pkey = NULL;
	int ret;

	ret = rpci_auth_key_paths(key_dir, host, priv, sizeof(priv), pub, sizeof(pub));
	if (ret < 0) {
		auth_err(err, err_len, "%s/%s: path too long", key_dir ? key_dir : "",
			 host ? host : "");
		return ret;
	}
	if (access(priv, F_OK) == 0) {
		auth_err(err, err_len, "%s exists: kept", priv);
		return -EEXIST;
	}
	if (mkdir(key_dir, 0755) < 0 && errno != EEXIST) {
		ret = -errno;
		auth_err(err, err_len, "%s: %s", key_dir, strerror(errno));
		return ret;
	}
	kctx = EVP_PKEY_CTX_new_id(EVP_PKEY_X25519, NULL);
	if (kctx == NULL || EVP_PKEY_keygen_init(kctx) != 1 || EVP_PKEY_keygen(kctx, &pkey) != 1) {
		EVP_PKEY_CTX_free(kctx);
		auth_err(err, err_len, "OpenSSL cannot make an X25519 key");
		return -EIO;
	}
	EVP_PKEY_CTX_free(kctx);
	/* The public key first: a private key never stands without its pair. */
	unlink(pub);
	ret = key_write(pub, 0644, pkey, false, err, err_len);
	if (ret == 0) {
		ret = key_write(priv, 0600, pkey, true, err, err_len);
	}
	EVP_PKEY_free(pkey);
	return ret;
}

/* Open a key file for reading, refusing what is not a regular file. */
static FILE *
key_open(const char *path, struct stat *st, char *err, size_t err_len, int *ret)
{
	FILE *f;
	int fd;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		*ret = -errno;
		auth_err(err, err_len, "%s: %s%s", path, strerror(errno),
			 errno == ENOENT ? " (rpci-conf --gen-keys makes the keys of a file)" : "");
		return NULL;
	}
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
		close(fd);
		*ret = -EBADMSG;
		auth_err(err, err_len, "%s: not a regular file", path);
		return NULL;
	}
	f = fdopen(fd, "r");
	if (f == NULL) {
		*ret = -errno;
		close(fd);
		auth_err(err, err_len, "%s: %s", path, strerror(-*ret));
	}
	return f;
}

/*
 * Read a key file into its raw 32 bytes. A private key file must be the
 * effective user's and closed to everyone else; out is wiped on failure.
 */
static int
key_load(const char *path, bool private_key, uint8_t out[RPCI_AUTH_KEY_LEN], char *err,
	 size_t err_len)
{
	size_t len = RPCI_AUTH_KEY_LEN;
	EVP_PKEY *pkey;
	struct stat st;
	FILE *f;
	int ret = 0;

	f = key_open(path, &st, err, err_len, &ret);
	if (f == NULL) {
		return ret;
	}
	if (private_key && (st.st_mode & 0177) != 0) {
		auth_err(err, err_len, "%s: mode %04o is more open than 0600: refused "
			 "(chmod 600 %s)", path, (unsigned int)(st.st_mode & 07777), path);
		fclose(f);
		return -EPERM;
	}
	if (private_key && st.st_uid != geteuid()) {
		auth_err(err, err_len, "%s: owned by uid %u, not by this process's user (uid %u): "
			 "refused", path, (unsigned int)st.st_uid, (unsigned int)geteuid());
		fclose(f);
		return -EPERM;
	}
	pkey = private_key ? PEM_read_PrivateKey(f, NULL, NULL, NULL) :
			     PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	if (pkey == NULL || EVP_PKEY_get_base_id(pkey) != EVP_PKEY_X25519 ||
	    (private_key ? EVP_PKEY_get_raw_private_key(pkey, out, &len) :
			   EVP_PKEY_get_raw_public_key(pkey, out, &len)) != 1 ||
	    len != RPCI_AUTH_KEY_LEN) {
		EVP_PKEY_free(pkey);
		OPENSSL_cleanse(out, RPCI_AUTH_KEY_LEN);
		auth_err(err, err_len, "%s: not an X25519 %s key in PEM", path,
			 private_key ? "private" : "public");
		return -EBADMSG;
	}
	EVP_PKEY_free(pkey);
	return 0;
}

int
rpci_auth_key_load_private(const char *path, uint8_t priv[RPCI_AUTH_KEY_LEN], char *err,
			   size_t err_len)
{
	return key_load(path, true, priv, err, err_len);
}

int
rpci_auth_key_load_public(const char *path, uint8_t pub[RPCI_AUTH_KEY_LEN], char *err,
			  size_t err_len)
{
	return key_load(path, false, pub, err, err_len);
}
