/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * lib/ipc: the checks the proxy makes on what a program put in shared
 * memory or sent on the socket. Every field is read once, from a private
 * copy: the program may change the shared bytes at any time (no
 * check-then-use on shared memory).
 */

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "rpci_ipc.h"

_Static_assert(sizeof(struct rpci_ipc_req) == RPCI_IPC_REQ_SLOT_SIZE, "request slot size");
_Static_assert(sizeof(struct rpci_ipc_cpl) == RPCI_IPC_CPL_SLOT_SIZE, "completion slot size");
_Static_assert(sizeof(struct rpci_ipc_ring_idx) == 128, "ring index layout");
_Static_assert(sizeof(struct rpci_ipc_dev_status) == 64, "device status layout");
_Static_assert(sizeof(struct rpci_ipc_ctrl_page) <= RPCI_IPC_CTRL_SIZE, "control page size");
_Static_assert(RPCI_IPC_CPL_OFF + RPCI_IPC_CPL_SLOTS * RPCI_IPC_CPL_SLOT_SIZE <=
	       RPCI_IPC_HEAP_OFF, "rings overlap the heap");
_Static_assert((RPCI_IPC_REQ_SLOTS & (RPCI_IPC_REQ_SLOTS - 1)) == 0, "ring size");
_Static_assert((RPCI_IPC_CPL_SLOTS & (RPCI_IPC_CPL_SLOTS - 1)) == 0, "ring size");
_Static_assert(RPCI_IPC_DEVICES_MAX <= 256, "device slots fit a byte");

bool
rpci_ipc_range_ok(uint64_t off, uint64_t len, uint64_t shm_size)
{
	return off <= shm_size && len <= shm_size - off;
}

bool
rpci_ipc_str_ok(const char *s, size_t len)
{
	return memchr(s, '\0', len) != NULL;
}

/* Size of the parameters and the smallest reply of a control op. */
static int
ctrl_sizes(uint8_t op, uint32_t *params, uint32_t *reply)
{
	switch (op) {
	case RPCI_IPC_OP_OPEN:
		*params = sizeof(struct rpci_ipc_open_params);
		*reply = sizeof(struct rpci_ipc_open_reply);
		return 0;
	case RPCI_IPC_OP_REQUEST:
		*params = sizeof(struct rpci_ipc_request_params);
		*reply = sizeof(struct rpci_ipc_request_reply);
		return 0;
	case RPCI_IPC_OP_RECONNECT:
		*params = 0;
		*reply = sizeof(struct rpci_ipc_open_reply);
		return 0;
	case RPCI_IPC_OP_CLOSE:
		*params = 0;
		*reply = sizeof(struct rpci_ipc_reply);
		return 0;
	case RPCI_IPC_OP_REPORT:
		*params = sizeof(struct rpci_ipc_report_params);
		*reply = sizeof(struct rpci_ipc_reply);
		return 0;
	case RPCI_IPC_OP_MSG_SEND:
		*params = sizeof(struct rpci_ipc_message);
		*reply = sizeof(struct rpci_ipc_reply);
		return 0;
	case RPCI_IPC_OP_MSG_RECV:
		*params = 0;
		*reply = sizeof(struct rpci_ipc_message);
		return 0;
	case RPCI_IPC_OP_STATS:
		*params = 0;
		*reply = sizeof(struct rpci_ipc_link_stats);
		return 0;
	case RPCI_IPC_OP_DEVICES:
		*params = sizeof(struct rpci_ipc_devices_params);
		*reply = sizeof(struct rpci_ipc_devices_reply);
		return 0;
	default:
		return -EPROTO;
	}
}

int
rpci_ipc_req_take(const void *slots, uint32_t cons, uint32_t avail, uint64_t shm_size,
		  struct rpci_ipc_req_view *view)
{
	const uint8_t *base = slots;
	struct rpci_ipc_req *r = &view->req;
	uint32_t i, n, params, reply;

	view->nslots = 1;
	if (avail == 0) {
		return -EAGAIN;
	}
	memcpy(r, base + (size_t)(cons & (RPCI_IPC_REQ_SLOTS - 1)) * RPCI_IPC_REQ_SLOT_SIZE,
	       sizeof(*r));
	n = r->nslots;
	if (n == 0 || n > 1 + RPCI_IPC_INLINE_SLOTS_MAX) {
		return -EPROTO;
	}
	if (n > avail) {
		return -EAGAIN;
	}
	view->nslots = n;
	if (r->op == 0 || r->op >= RPCI_IPC_OP_MAX) {
		return -EPROTO;
	}
	if (r->dev >= RPCI_IPC_DEVICES_MAX) {
		return -EINVAL;
	}
	if (r->op != RPCI_IPC_OP_MWR && (n != 1 || (r->flags & RPCI_IPC_REQ_F_INLINE))) {
		return -EPROTO;
	}
	if (r->flags & ~(RPCI_IPC_REQ_F_INLINE | RPCI_IPC_REQ_F_COPY)) {
		return -EPROTO;
	}
	switch (r->op) {
	case RPCI_IPC_OP_MWR:
		if (r->len == 0 || r->len > RPCI_IPC_XFER_MAX || r->addr + r->len < r->addr) {
			return -EINVAL;
		}
		if (r->flags & RPCI_IPC_REQ_F_INLINE) {
			if (r->len > (n - 1) * RPCI_IPC_REQ_SLOT_SIZE ||
			    r->len <= (n - 2) * RPCI_IPC_REQ_SLOT_SIZE) {
				return -EPROTO; /* the slots must hold it, and no more */
			}
			for (i = 1; i < n; i++) {
				uint32_t off = (i - 1) * RPCI_IPC_REQ_SLOT_SIZE;
				uint32_t chunk = r->len - off < RPCI_IPC_REQ_SLOT_SIZE ?
					r->len - off : RPCI_IPC_REQ_SLOT_SIZE;

				memcpy(view->data + off,
				       base + (size_t)((cons + i) & (RPCI_IPC_REQ_SLOTS - 1)) *
				       RPCI_IPC_REQ_SLOT_SIZE, chunk);
			}
		} else {
			if (n != 1) {
				return -EPROTO;
			}
			if (!rpci_ipc_range_ok(r->buf, r->len, shm_size)) {
				return -EFAULT;
			}
		}
		return 0;
	case RPCI_IPC_OP_MRD:
		if (r->len == 0 || r->len > RPCI_IPC_XFER_MAX || r->addr + r->len < r->addr) {
			return -EINVAL;
		}
		if (r->flags != 0) {
			return -EPROTO;
		}
		if (!rpci_ipc_range_ok(r->buf, r->len, shm_size)) {
			return -EFAULT;
		}
		return 0;
	case RPCI_IPC_OP_CFGRD:
	case RPCI_IPC_OP_CFGWR:
		if (r->flags != 0 || r->addr >= 1024 || ((r->arg >> 32) & ~0xfull) != 0 ||
		    (r->arg >> 32) == 0) {
			return -EINVAL;
		}
		return 0;
	case RPCI_IPC_OP_FENCE:
		return r->flags != 0 ? -EPROTO : 0;
	default:
		break;
	}
	/* control operations */
	if (r->flags != 0 || ctrl_sizes(r->op, &params, &reply) < 0) {
		return -EPROTO;
	}
	if (r->len != params || (params > 0 && !rpci_ipc_range_ok(r->buf, params, shm_size))) {
		return -EINVAL;
	}
	if (r->arg2 < reply || r->arg2 > (1u << 20) || !rpci_ipc_range_ok(r->arg, r->arg2,
									   shm_size)) {
		return -EFAULT;
	}
	return 0;
}

int
rpci_ipc_hello_check(const void *buf, size_t len, struct rpci_ipc_hello *hello)
{
	if (len != sizeof(*hello)) {
		return -EPROTO;
	}
	memcpy(hello, buf, sizeof(*hello));
	if (hello->magic != RPCI_IPC_MAGIC || hello->version != RPCI_IPC_VERSION ||
	    hello->type != RPCI_IPC_HELLO) {
		return -EPROTO;
	}
	if (hello->shm_size < RPCI_IPC_SHM_MIN || hello->shm_size > RPCI_IPC_SHM_MAX ||
	    (hello->shm_size & 4095) != 0) {
		return -EINVAL;
	}
	hello->name[sizeof(hello->name) - 1] = '\0';
	return 0;
}

int
rpci_ipc_hello_ack_check(const void *buf, size_t len, struct rpci_ipc_hello_ack *ack)
{
	if (len != sizeof(*ack)) {
		return -EPROTO;
	}
	memcpy(ack, buf, sizeof(*ack));
	if (ack->magic != RPCI_IPC_MAGIC || ack->version != RPCI_IPC_VERSION ||
	    ack->type != RPCI_IPC_HELLO_ACK) {
		return -EPROTO;
	}
	ack->reason[sizeof(ack->reason) - 1] = '\0';
	ack->host[sizeof(ack->host) - 1] = '\0';
	return 0;
}

int
rpci_ipc_request_params_check(const struct rpci_ipc_request_params *p)
{
	uint32_t seen = 0, i;

	if (p->count == 0 || p->count > RPCI_IPC_REQUEST_MAX) {
		return -EINVAL;
	}
	for (i = 0; i < p->count; i++) {
		if (p->slots[i] >= RPCI_IPC_DEVICES_MAX || (seen & (1u << p->slots[i]))) {
			return -EINVAL;
		}
		seen |= 1u << p->slots[i];
	}
	if (!rpci_ipc_str_ok(p->req.backend, sizeof(p->req.backend)) ||
	    !rpci_ipc_str_ok(p->req.kernel, sizeof(p->req.kernel)) ||
	    !rpci_ipc_str_ok(p->req.job, sizeof(p->req.job))) {
		return -EINVAL;
	}
	return 0;
}

/* ------------------------------------------------------ unix sockets */

static int
mkdir_p(const char *dir)
{
	char tmp[sizeof(((struct sockaddr_un *)0)->sun_path)];
	size_t i, n = strlen(dir);

	if (n == 0 || n >= sizeof(tmp)) {
		return n == 0 ? 0 : -ENAMETOOLONG;
	}
	memcpy(tmp, dir, n + 1);
	for (i = 1; i <= n; i++) {
		if (tmp[i] == '/' || tmp[i] == '\0') {
			char saved = tmp[i];

			tmp[i] = '\0';
			if (mkdir(tmp, 0755) < 0 && errno != EEXIST) {
				return -errno;
			}
			tmp[i] = saved;
		}
	}
	return 0;
}

/* A socket file at addr: 0 if none is there now (a stale one removed). */
static int
remove_stale(const struct sockaddr_un *addr, int type)
{
	struct stat st;
	int fd, ret;

	if (lstat(addr->sun_path, &st) < 0) {
		return errno == ENOENT ? 0 : -errno;
	}
	if (!S_ISSOCK(st.st_mode)) {
		return -EEXIST;
	}
	fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return -errno;
	}
	ret = connect(fd, (const struct sockaddr *)addr, sizeof(*addr));
	if (ret < 0 && errno == EPROTOTYPE) {
		ret = 0; /* a live socket of another type: not ours to remove */
	}
	close(fd);
	if (ret == 0) {
		return -EADDRINUSE; /* somebody answers there */
	}
	if (unlink(addr->sun_path) < 0 && errno != ENOENT) {
		return -errno;
	}
	return 0;
}

int
rpci_ipc_listen(const char *path, int type, uid_t owner, gid_t group, mode_t mode,
		int backlog, uint64_t *dev, uint64_t *ino)
{
	struct sockaddr_un addr;
	struct stat st;
	char dir[sizeof(addr.sun_path)];
	const char *slash;
	int fd, ret;

	if (path == NULL || path[0] == '\0') {
		return -EINVAL;
	}
	memset(&addr, 0, sizeof(addr));
	addr.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(addr.sun_path)) {
		return -ENAMETOOLONG;
	}
	memcpy(addr.sun_path, path, strlen(path) + 1);
	slash = strrchr(path, '/');
	if (slash != NULL && slash != path) {
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = '\0';
		ret = mkdir_p(dir);
		if (ret < 0) {
			return ret;
		}
	}
	ret = remove_stale(&addr, type);
	if (ret < 0) {
		return ret;
	}
	fd = socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return -errno;
	}
	if (bind(fd, (const struct sockaddr *)&addr, sizeof(addr)) < 0) {
		ret = -errno;
		goto close_fd;
	}
	if ((owner != (uid_t)-1 || group != (gid_t)-1) && chown(path, owner, group) < 0) {
		ret = -errno;
		goto unlink_path;
	}
	if (chmod(path, mode) < 0 || stat(path, &st) < 0) {
		ret = -errno;
		goto unlink_path;
	}
	if (listen(fd, backlog) < 0) {
		ret = -errno;
		goto unlink_path;
	}
	*dev = (uint64_t)st.st_dev;
	*ino = (uint64_t)st.st_ino;
	return fd;

unlink_path:
	unlink(path);
close_fd:
	close(fd);
	return ret;
}

void
rpci_ipc_unlisten(int fd, const char *path, uint64_t dev, uint64_t ino)
{
	struct stat st;

	if (fd < 0) {
		return;
	}
	close(fd);
	if (stat(path, &st) == 0 && (uint64_t)st.st_dev == dev && (uint64_t)st.st_ino == ino) {
		unlink(path);
	}
}

int
rpci_ipc_ids(const char *owner, const char *group, uid_t *uid, gid_t *gid)
{
	*uid = (uid_t)-1;
	*gid = (gid_t)-1;
	if (owner != NULL && owner[0] != '\0') {
		struct passwd *pw = getpwnam(owner);

		if (pw == NULL) {
			return -ENOENT;
		}
		*uid = pw->pw_uid;
	}
	if (group != NULL && group[0] != '\0') {
		struct group *gr = getgrnam(group);

		if (gr == NULL) {
			return -ENOENT;
		}
		*gid = gr->gr_gid;
	}
	return 0;
}

bool
rpci_ipc_user_in_group(uid_t uid, gid_t gid, gid_t group)
{
	struct passwd *pw;
	gid_t *groups;
	int n = 64, i;
	bool in = false;

	if (gid == group) {
		return true;
	}
	pw = getpwuid(uid);
	if (pw == NULL) {
		return false;
	}
	groups = malloc((size_t)n * sizeof(*groups));
	if (groups != NULL && getgrouplist(pw->pw_name, gid, groups, &n) < 0) {
		/* n says how many there are */
		gid_t *more = realloc(groups, (size_t)n * sizeof(*groups));

		groups = more != NULL ? more : groups;
		if (more == NULL || getgrouplist(pw->pw_name, gid, groups, &n) < 0) {
			n = 0;
		}
	}
	for (i = 0; groups != NULL && i < n; i++) {
		if (groups[i] == group) {
			in = true;
			break;
		}
	}
	free(groups);
	return in;
}
