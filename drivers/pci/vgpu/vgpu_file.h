/* SPDX-License-Identifier: BSD-3-Clause */

#ifndef RPCI_VGPU_FILE_H
#define RPCI_VGPU_FILE_H

/*
 * Files of the server's file directory (the deployment file's file_dir)
 * that a virtual GPU loads into device memory and saves device memory to,
 * by name, without the data crossing the link. Private to drivers/pci/vgpu
 * (and its unit tests); no DPDK.
 */

#include <stdint.h>

#include "rpci_gpu.h"

/*
 * Open a file of the directory dirfd by a client's name: a relative path of
 * components separated by '/', none empty, "." or "..", no symbolic link
 * anywhere (each directory is opened with O_NOFOLLOW from the one before,
 * so nothing resolves outside dirfd whatever the name or the links in the
 * tree). The file itself must be a regular file. flags: O_RDONLY, or
 * O_WRONLY with O_CREAT and O_EXCL or O_TRUNC. Returns the descriptor, or
 * -EINVAL (a bad name), -EACCES (a symbolic link on the way, or not a
 * regular file), or the error of openat() (-ENOENT, -EEXIST...).
 */
int vgpu_file_open(int dirfd, const char *name, int flags);

/*
 * Load bytes [offset, offset + len) of a file (len 0: to its end) into
 * device memory at dev_addr. *done is set to the bytes loaded (fewer if the
 * file ends first). 0, -EFAULT (outside device memory), -EINVAL (offset past
 * the end), -EIO, or vgpu_file_open()'s error.
 */
int vgpu_file_load(struct rpci_gpu *gpu, int dirfd, const char *name, uint64_t dev_addr,
		   uint64_t offset, uint64_t len, uint64_t *done);

/*
 * Save device memory [dev_addr, dev_addr + len) to a file (replace: an
 * existing file is replaced, else it must not exist). 0, -EFAULT, -EEXIST,
 * -EIO, -ENOSPC, or vgpu_file_open()'s error.
 */
int vgpu_file_save(struct rpci_gpu *gpu, int dirfd, const char *name, uint64_t dev_addr,
		   uint64_t len, int replace);

/* The size of a file. 0, or vgpu_file_open()'s error. */
int vgpu_file_size(int dirfd, const char *name, uint64_t *size);

#endif /* RPCI_VGPU_FILE_H */
