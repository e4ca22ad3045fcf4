/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Files of the server's file directory, by a client's name (vgpu_file.h).
 *
 * A name comes from the network: it is resolved one component at a time
 * with openat(..., O_NOFOLLOW) from the directory's descriptor, so that
 * neither "..", nor an absolute path, nor a symbolic link (to a directory
 * or a file, planted before or during the walk) leads outside the
 * directory. Data moves between the file and device memory directly: into
 * and out of the backend's memory where the CPU addresses it, else through
 * a bounce buffer.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vgpu_file.h"

#define NAME_MAX_LEN 255     /* longest name a client may give */
#define BOUNCE_SIZE (1u << 20)

/* The next component of a name at *p: its length; *p moves past it and its '/'. */
static size_t
component(const char **p, const char **start)
{
	const char *s = *p, *slash = strchr(s, '/');
	size_t n = slash != NULL ? (size_t)(slash - s) : strlen(s);

	*start = s;
	*p = slash != NULL ? slash + 1 : s + n;
	return n;
}

static bool
component_ok(const char *c, size_t n)
{
	return n > 0 && n <= NAME_MAX_LEN && !(n == 1 && c[0] == '.') &&
	       !(n == 2 && c[0] == '.' && c[1] == '.');
}

/* A symbolic link where a directory or file was expected: refused, as outside. */
static int
open_error(int err)
{
	return err == ELOOP || err == ENOTDIR ? -EACCES : -err;
}

int
vgpu_file_open(int dirfd, const char *name, int flags)
{
	char comp[NAME_MAX_LEN + 1];
	const char *p = name, *c;
	struct stat st;
	int cur = dirfd, fd, err;
	size_t n;

	if (name == NULL || name[0] == '\0' || name[0] == '/' ||
	    strnlen(name, NAME_MAX_LEN + 1) > NAME_MAX_LEN) {
		return -EINVAL;
	}
	for (;;) {
		n = component(&p, &c);
		if (!component_ok(c, n)) {
			fd = -EINVAL;
			break;
		}
		memcpy(comp, c, n);
		comp[n] = '\0';
		if (*p == '\0' && c[n] != '/') {
			/* The file: a regular one (O_NONBLOCK: a FIFO must not block us). */
			fd = openat(cur, comp, flags | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0644);
			if (fd < 0) {
				fd = open_error(errno);
			} else if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
				close(fd);
				fd = -EACCES;
			}
			break;
		}
		if (*p == '\0') {
			fd = -EINVAL; /* ends with '/': no file named */
			break;
		}
		fd = openat(cur, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			fd = open_error(errno);
			break;
		}
		if (cur != dirfd) {
			close(cur);
		}
		cur = fd;
	}
	err = fd;
	if (cur != dirfd) {
		close(cur);
	}
	if (err >= 0) {
		/* O_NONBLOCK was only for the open. */
		fcntl(err, F_SETFL, fcntl(err, F_GETFL) & ~O_NONBLOCK);
	}
	return err;
}

int
vgpu_file_size(int dirfd, const char *name, uint64_t *size)
{
	struct stat st;
	int fd = vgpu_file_open(dirfd, name, O_RDONLY);

	if (fd < 0) {
		return fd;
	}
	if (fstat(fd, &st) < 0) {
		close(fd);
		return -EIO;
	}
	close(fd);
	*size = (uint64_t)st.st_size;
	return 0;
}

int
vgpu_file_load(struct rpci_gpu *gpu, int dirfd, const char *name, uint64_t dev_addr,
	       uint64_t offset, uint64_t len, uint64_t *done)
{
	uint8_t *bounce = NULL;
	struct stat st;
	uint64_t at = 0;
	int fd, ret = 0;

	*done = 0;
	fd = vgpu_file_open(dirfd, name, O_RDONLY);
	if (fd < 0) {
		return fd;
	}
	if (fstat(fd, &st) < 0) {
		ret = -EIO;
		goto close_fd;
	}
	if (offset > (uint64_t)st.st_size) {
		ret = -EINVAL;
		goto close_fd;
	}
	if (len == 0 || len > (uint64_t)st.st_size - offset) {
		len = (uint64_t)st.st_size - offset;
	}
	if (len > 0 && !rpci_gpu_range_ok(gpu, dev_addr, len)) {
		ret = -EFAULT;
		goto close_fd;
	}
	if (gpu->mem_base == NULL && len > 0) {
		bounce = malloc(BOUNCE_SIZE);
		if (bounce == NULL) {
			ret = -ENOMEM;
			goto close_fd;
		}
	}
	while (at < len) {
		size_t chunk = len - at > BOUNCE_SIZE ? BOUNCE_SIZE : (size_t)(len - at);
		uint8_t *dst = bounce != NULL ? bounce :
			       (uint8_t *)gpu->mem_base + dev_addr + at;
		ssize_t r = pread(fd, dst, chunk, (off_t)(offset + at));

		if (r < 0 && errno == EINTR) {
			continue;
		}
		if (r <= 0) {
			ret = r < 0 ? -EIO : 0; /* 0: the file was cut short meanwhile */
			break;
		}
		if (bounce != NULL && rpci_gpu_mem_write(gpu, dev_addr + at, bounce,
							 (size_t)r) < 0) {
			ret = -EIO;
			break;
		}
		at += (uint64_t)r;
	}
	*done = at;
	free(bounce);
close_fd:
	close(fd);
	return ret;
}

int
vgpu_file_save(struct rpci_gpu *gpu, int dirfd, const char *name, uint64_t dev_addr,
	       uint64_t len, int replace)
{
	uint8_t *bounce = NULL;
	uint64_t at = 0;
	int fd, ret = 0;

	if (!rpci_gpu_range_ok(gpu, dev_addr, len)) {
		return -EFAULT;
	}
	fd = vgpu_file_open(dirfd, name, O_WRONLY | O_CREAT | (replace ? O_TRUNC : O_EXCL));
	if (fd < 0) {
		return fd;
	}
	if (gpu->mem_base == NULL && len > 0) {
		bounce = malloc(BOUNCE_SIZE);
		if (bounce == NULL) {
			ret = -ENOMEM;
			goto close_fd;
		}
	}
	while (at < len) {
		size_t chunk = len - at > BOUNCE_SIZE ? BOUNCE_SIZE : (size_t)(len - at);
		const uint8_t *src = (const uint8_t *)gpu->mem_base + dev_addr + at;
		ssize_t w;

		if (bounce != NULL) {
			if (rpci_gpu_mem_read(gpu, dev_addr + at, bounce, chunk) < 0) {
				ret = -EIO;
				break;
			}
			src = bounce;
		}
		w = write(fd, src, chunk);
		if (w < 0 && errno == EINTR) {
			continue;
		}
		if (w <= 0) {
			ret = w < 0 && errno == ENOSPC ? -ENOSPC : -EIO;
			break;
		}
		at += (uint64_t)w;
	}
	free(bounce);
	if (ret == 0 && fsync(fd) < 0) {
		ret = -EIO;
	}
close_fd:
	if (close(fd) < 0 && ret == 0) {
		ret = -EIO;
	}
	return ret;
}
