/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Files in and out of device memory: a client's own file, streamed over
 * the link as copies (rpci_memcpy_htod()/dtoh() in chunks, through one
 * buffer in the memory shared with the proxy, sent from in place); or a
 * file of the server's file directory, by name, that the device reads or
 * writes itself (FILE_LOAD, FILE_SAVE, FILE_SIZE): the data does not cross
 * the link.
 */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client_private.h"

#define FILE_CHUNK (8u << 20) /* bytes of one copy while streaming a file */

int
rpci_file_load(struct rpci_device *dev, uint64_t dptr, const char *path, uint64_t *loaded)
{
	struct stat st;
	uint8_t *buf = NULL;
	uint64_t at = 0;
	int fd, ret = 0;

	if (loaded != NULL) {
		*loaded = 0;
	}
	if (dev == NULL || path == NULL) {
		return cl_fail(-EINVAL, "bad file load arguments");
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		ret = -errno;
		cl_fail(ret, "%s: %s", path, strerror(errno));
		goto close_fd;
	}
	if (dptr > dev->info.memory_bytes || (uint64_t)st.st_size > dev->info.memory_bytes - dptr) {
		ret = cl_fail(-EFAULT, "%s (%lld bytes) does not fit device memory at 0x%" PRIx64,
			      path, (long long)st.st_size, dptr);
		goto close_fd;
	}
	buf = cl_heap_alloc(dev->client, FILE_CHUNK, 4096);
	if (buf == NULL) {
		ret = cl_fail(-ENOMEM, "no shared memory for a %u MiB buffer", FILE_CHUNK >> 20);
		goto close_fd;
	}
	while (at < (uint64_t)st.st_size) {
		ssize_t r = read(fd, buf, FILE_CHUNK);

		if (r < 0 && errno == EINTR) {
			continue;
		}
		if (r <= 0) {
			ret = cl_fail(-EIO, "%s: %s", path, r < 0 ? strerror(errno) :
				      "shorter than its size");
			break;
		}
		ret = rpci_memcpy_htod(dev, dptr + at, buf, (uint64_t)r);
		if (ret < 0) {
			break;
		}
		at += (uint64_t)r;
	}
	if (loaded != NULL) {
		*loaded = at;
	}
close_fd:
	if (buf != NULL) {
		cl_heap_free(dev->client, buf);
	}
	if (fd >= 0) {
		close(fd);
	}
	return ret;
}

int
rpci_file_save(struct rpci_device *dev, const char *path, uint64_t dptr, uint64_t size)
{
	uint8_t *buf = NULL;
	uint64_t at = 0;
	int fd, ret = 0;

	if (dev == NULL || path == NULL) {
		return cl_fail(-EINVAL, "bad file save arguments");
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		ret = -errno;
		return cl_fail(ret, "%s: %s", path, strerror(errno));
	}
	buf = cl_heap_alloc(dev->client, FILE_CHUNK, 4096);
	if (buf == NULL) {
		ret = cl_fail(-ENOMEM, "no shared memory for a %u MiB buffer", FILE_CHUNK >> 20);
		goto close_fd;
	}
	while (at < size) {
		uint64_t n = CL_MIN(size - at, (uint64_t)FILE_CHUNK), done = 0;

		ret = rpci_memcpy_dtoh(dev, buf, dptr + at, n);
		if (ret < 0) {
			break;
		}
		while (done < n) {
			ssize_t w = write(fd, buf + done, n - done);

			if (w < 0 && errno == EINTR) {
				continue;
			}
			if (w <= 0) {
				ret = cl_fail(errno == ENOSPC ? -ENOSPC : -EIO, "%s: %s", path,
					      strerror(errno));
				goto close_fd;
			}
			done += (uint64_t)w;
		}
		at += n;
	}
close_fd:
	if (buf != NULL) {
		cl_heap_free(dev->client, buf);
	}
	if (close(fd) < 0 && ret == 0) {
		ret = cl_fail(-EIO, "%s: %s", path, strerror(errno));
	}
	return ret;
}

/* A file command of the server's directory, the name inline. */
static int
file_cmd_once(struct rpci_device *dev, uint8_t opcode, const char *name, uint64_t a0,
	      uint64_t a1, uint64_t a2, uint64_t *result)
{
	struct rpci_vgpu_cmd cmd = { .opcode = opcode };
	size_t n;
	int ret;

	if (dev == NULL || name == NULL) {
		return cl_fail(-EINVAL, "bad file arguments");
	}
	n = strlen(name) + 1;
	if (n > RPCI_VGPU_CMD_INLINE) {
		return cl_fail(-EINVAL, "file name '%.20s...' is too long (at most %u bytes)", name,
			       RPCI_VGPU_CMD_INLINE - 1);
	}
	cmd.args[0] = a0;
	cmd.args[1] = a1;
	cmd.args[2] = a2;
	cmd.flags = RPCI_VGPU_CMD_F_INLINE;
	cmd.inline_len = (uint16_t)n;
	memcpy(cmd.data, name, n);
	ret = cl_run_cmd(dev, &cmd, result);
	switch (ret) {
	case 0:
	case -ENOTCONN:
		return ret;
	case -ENOTSUP:
		return cl_fail(ret, "server '%s' has no file directory", dev->info.server);
	case -EROFS:
		return cl_fail(ret, "server '%s' does not let devices save files",
			       dev->info.server);
	case -EINVAL:
		return cl_fail(ret, "'%s': not a file name of the server's directory (a relative "
			       "path, no '..' or '.'), or an offset past its end", name);
	case -EACCES:
		return cl_fail(ret, "'%s' leads outside the server's directory (a symbolic link) "
			       "or is not a regular file", name);
	case -EFAULT:
		return cl_fail(ret, "'%s': outside device memory", name);
	default:
		return cl_fail(ret, "'%s' on server '%s': %s", name, dev->info.server,
			       strerror(-ret));
	}
}

static int
file_cmd(struct rpci_device *dev, uint8_t opcode, const char *name, uint64_t a0, uint64_t a1,
	 uint64_t a2, uint64_t *result)
{
	return CL_RETRY(dev, file_cmd_once(dev, opcode, name, a0, a1, a2, result));
}

int
rpci_file_load_server(struct rpci_device *dev, uint64_t dptr, const char *name, uint64_t offset,
		      uint64_t size, uint64_t *loaded)
{
	uint64_t r = 0;
	int ret = file_cmd(dev, RPCI_VGPU_OP_FILE_LOAD, name, dptr, offset, size, &r);

	if (loaded != NULL) {
		*loaded = ret == 0 ? r : 0;
	}
	return ret;
}

int
rpci_file_save_server(struct rpci_device *dev, const char *name, uint64_t dptr, uint64_t size,
		      bool replace)
{
	return file_cmd(dev, RPCI_VGPU_OP_FILE_SAVE, name, dptr, size,
			replace ? RPCI_VGPU_FILE_REPLACE : 0, NULL);
}

int
rpci_file_size_server(struct rpci_device *dev, const char *name, uint64_t *size)
{
	if (size == NULL) {
		return cl_fail(-EINVAL, "no size to set");
	}
	return file_cmd(dev, RPCI_VGPU_OP_FILE_SIZE, name, 0, 0, 0, size);
}
