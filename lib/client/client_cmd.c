/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Queued commands (rpci_cmd_*): the device's queue as an OpenCL runtime
 * sees it. Each call puts one command in the submission queue and returns
 * its id; the device runs commands in order and, asked to, writes a
 * report (status, the backend API's own code, start and end on its clock)
 * into the program's shared memory before the completion that says the
 * command is done. Nothing here waits for a command unless asked
 * (rpci_cmd_wait()), and nothing is logged for a failover: these devices
 * fail, they do not move.
 *
 * Also the synchronous calls an OpenCL runtime needs besides: builds with
 * options and from binaries (with the API's error code), what the device's
 * API says of a module or a function, the device's API info block (BAR0,
 * answered by the proxy after its first read) and its clock.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_private.h"

_Static_assert(sizeof(struct rpci_cmd_report) == sizeof(struct rpci_vgpu_report),
	       "a report is the device's");
_Static_assert(sizeof(struct rpci_rect) == sizeof(struct rpci_vgpu_rect),
	       "a rectangle is the device's");
_Static_assert(RPCI_LAUNCH_PARAMS_MAX == RPCI_VGPU_PARAMS_MAX, "parameter limits differ");
_Static_assert(RPCI_API_INFO_MAX == RPCI_VGPU_INFO_MAX, "info block limits differ");
_Static_assert(RPCI_CMD_PATTERN_MAX == RPCI_VGPU_PATTERN_MAX, "pattern limits differ");
_Static_assert(RPCI_INFO_KEY_BINARY == RPCI_VGPU_INFO_KEY_BINARY, "info keys differ");
_Static_assert(RPCI_RECT_ON_DEVICE == (int)RPCI_VGPU_RECT_D2D, "rectangle directions differ");
_Static_assert(RPCI_ARG_BYVAL == (int)RPCI_VGPU_ARG_BYVAL, "argument kinds differ");

/* Per device: a parameter block per submission queue slot (launches too large
 * to go inline), allocated at the first such launch. */
struct cl_cmd_state {
	uint8_t *params;
};

void
cl_cmd_free(struct rpci_device *dev)
{
	if (dev->cmd == NULL) {
		return;
	}
	if (dev->cmd->params != NULL) {
		cl_heap_free(dev->client, dev->cmd->params);
	}
	free(dev->cmd);
	dev->cmd = NULL;
}

/* A device that can take a command now, or the error. */
static int
cmd_ready(struct rpci_device *dev)
{
	if (dev == NULL) {
		return cl_fail(-EINVAL, "no device");
	}
	if (dev->plain) {
		return cl_fail(-ENOTSUP, "not an rpci virtual GPU");
	}
	return cl_session_alive(dev) ? 0 : cl_lost_error(dev);
}

static int
cmd_range(const struct rpci_device *dev, uint64_t dptr, uint64_t size)
{
	if (dptr > dev->info.memory_bytes || size > dev->info.memory_bytes - dptr) {
		return cl_fail(-EFAULT, "[0x%" PRIx64 ", +%" PRIu64 ") is outside device memory",
			       dptr, size);
	}
	return 0;
}

/* Host memory a command moves: shared, whole. */
static int
cmd_host(const struct rpci_device *dev, const void *p, uint64_t size)
{
	if (p == NULL || size == 0 || !cl_in_shm(dev->client, p, size, NULL)) {
		return cl_fail(-EINVAL, "host memory of a queued command must come from "
			       "rpci_client_host_alloc()");
	}
	return 0;
}

/* Submit cmd with its report; its id into *id. */
static int
cmd_submit(struct rpci_device *dev, struct rpci_vgpu_cmd *cmd, struct rpci_cmd_report *report,
	   uint32_t *id)
{
	uint32_t got = 0;
	int ret;

	if (report != NULL) {
		if (((uintptr_t)report & 7) != 0 ||
		    !cl_in_shm(dev->client, report, sizeof(*report), NULL)) {
			return cl_fail(-EINVAL, "a report must lie in rpci_client_host_alloc() "
				       "memory, 8-byte aligned");
		}
		memset(report, 0, sizeof(*report));
		cmd->flags |= RPCI_VGPU_CMD_F_REPORT;
		cmd->args[4] = cl_iova(dev->client, report);
	}
	ret = cl_submit(dev, cmd, false, &got);
	if (ret == 0 && id != NULL) {
		*id = got;
	}
	return ret;
}

/* COPY_H2D or COPY_D2H between device memory and shared memory. */
static int
cmd_dma(struct rpci_device *dev, uint8_t opcode, uint64_t dptr, const void *host, uint64_t size,
	struct rpci_cmd_report *report, uint32_t *id)
{
	struct rpci_vgpu_cmd cmd = { .opcode = opcode };
	int ret = cmd_ready(dev);

	if (ret == 0) {
		ret = cmd_host(dev, host, size);
	}
	if (ret == 0) {
		ret = cmd_range(dev, dptr, size);
	}
	if (ret < 0) {
		return ret;
	}
	if (size > RPCI_CMD_XFER_MAX) {
		return cl_fail(-E2BIG, "%" PRIu64 " bytes in one command: at most %llu", size,
			       RPCI_CMD_XFER_MAX);
	}
	cmd.args[0] = dptr;
	cmd.host_addr = cl_iova(dev->client, host);
	cmd.host_len = (uint32_t)size;
	return cmd_submit(dev, &cmd, report, id);
}

int
rpci_cmd_write(struct rpci_device *dev, uint64_t dptr, const void *src, uint64_t size,
	       struct rpci_cmd_report *report, uint32_t *id)
{
	return cmd_dma(dev, RPCI_VGPU_OP_COPY_H2D, dptr, src, size, report, id);
}

int
rpci_cmd_read(struct rpci_device *dev, void *dst, uint64_t dptr, uint64_t size,
	      struct rpci_cmd_report *report, uint32_t *id)
{
	return cmd_dma(dev, RPCI_VGPU_OP_COPY_D2H, dptr, dst, size, report, id);
}

int
rpci_cmd_copy(struct rpci_device *dev, uint64_t dst, uint64_t src, uint64_t size,
	      struct rpci_cmd_report *report, uint32_t *id)
{
	struct rpci_vgpu_cmd cmd = { .opcode = RPCI_VGPU_OP_COPY };
	int ret = cmd_ready(dev);

	if (ret == 0) {
		ret = cmd_range(dev, dst, size);
	}
	if (ret == 0) {
		ret = cmd_range(dev, src, size);
	}
	if (ret < 0) {
		return ret;
	}
	cmd.args[0] = dst;
	cmd.args[1] = src;
	cmd.args[2] = size;
	return cmd_submit(dev, &cmd, report, id);
}

int
rpci_cmd_rect(struct rpci_device *dev, enum rpci_rect_dir dir, const struct rpci_rect *rect,
	      void *host, struct rpci_cmd_report *report, uint32_t *id)
{
	struct rpci_vgpu_cmd cmd = { .opcode = RPCI_VGPU_OP_RECT };
	uint64_t bytes = 0, rows;
	int ret = cmd_ready(dev);

	if (ret < 0) {
		return ret;
	}
	if (rect == NULL || dir < RPCI_RECT_TO_DEVICE || dir > RPCI_RECT_ON_DEVICE ||
	    __builtin_mul_overflow(rect->region[1], rect->region[2], &rows) ||
	    __builtin_mul_overflow(rows, rect->region[0], &bytes)) {
		return cl_fail(-EINVAL, "bad rectangle");
	}
	if (dir != RPCI_RECT_ON_DEVICE && bytes > 0) {
		if (bytes > RPCI_CMD_RECT_MAX) {
			return cl_fail(-E2BIG, "%" PRIu64 " bytes of rows in one command: at most "
				       "%llu", bytes, RPCI_CMD_RECT_MAX);
		}
		ret = cmd_host(dev, host, bytes);
		if (ret < 0) {
			return ret;
		}
		cmd.host_addr = cl_iova(dev->client, host);
		cmd.host_len = (uint32_t)bytes;
	}
	cmd.args[0] = dir; /* enum rpci_vgpu_rect_dir has the same values */
	cmd.flags = RPCI_VGPU_CMD_F_INLINE;
	cmd.inline_len = sizeof(*rect);
	memcpy(cmd.data, rect, sizeof(*rect));
	return cmd_submit(dev, &cmd, report, id);
}

int
rpci_cmd_fill(struct rpci_device *dev, uint64_t dptr, const void *pattern,
	      uint32_t pattern_size, uint64_t size, struct rpci_cmd_report *report, uint32_t *id)
{
	struct rpci_vgpu_cmd cmd = { .opcode = RPCI_VGPU_OP_FILL };
	int ret = cmd_ready(dev);

	if (ret < 0) {
		return ret;
	}
	if (pattern == NULL || pattern_size == 0 || pattern_size > RPCI_CMD_PATTERN_MAX ||
	    size % pattern_size != 0) {
		return cl_fail(-EINVAL, "bad fill pattern (%u bytes for %" PRIu64 ")",
			       pattern_size, size);
	}
	ret = cmd_range(dev, dptr, size);
	if (ret < 0) {
		return ret;
	}
	cmd.args[0] = dptr;
	cmd.args[1] = size;
	cmd.flags = RPCI_VGPU_CMD_F_INLINE;
	cmd.inline_len = (uint16_t)pattern_size;
	memcpy(cmd.data, pattern, pattern_size);
	return cmd_submit(dev, &cmd, report, id);
}

int
rpci_cmd_free(struct rpci_device *dev, uint64_t dptr, struct rpci_cmd_report *report,
	      uint32_t *id)
{
	struct rpci_vgpu_cmd cmd = { .opcode = RPCI_VGPU_OP_FREE };
	int ret = cmd_ready(dev);

	if (ret < 0) {
		return ret;
	}
	cmd.args[0] = dptr;
	return cmd_submit(dev, &cmd, report, id);
}

int
rpci_cmd_marker(struct rpci_device *dev, struct rpci_cmd_report *report, uint32_t *id)
{
	struct rpci_vgpu_cmd cmd = { .opcode = RPCI_VGPU_OP_NOP };
	int ret = cmd_ready(dev);

	return ret < 0 ? ret : cmd_submit(dev, &cmd, report, id);
}

/*
 * The parameter block of a launch (rpci_vgpu_hw.h): header, 16 bytes per
 * argument, the NDRange, then the values passed by value. Its length, or
 * a negative errno.
 */
static int
params_build(const struct rpci_ndrange *nd, const struct rpci_launch_arg *args,
	     unsigned int nb_args, uint8_t *buf)
{
	struct rpci_vgpu_ndrange vnd;
	uint32_t len = 8 + 16 * nb_args + (uint32_t)sizeof(vnd), flags = RPCI_VGPU_PARAMS_F_NDRANGE;
	unsigned int i;

	memset(&vnd, 0, sizeof(vnd));
	vnd.dims = nd->dims;
	vnd.flags = nd->local_given ? RPCI_VGPU_NDRANGE_F_LOCAL : 0;
	for (i = 0; i < 3; i++) {
		vnd.offset[i] = nd->offset[i];
		vnd.global[i] = nd->global[i];
		vnd.local[i] = nd->local[i];
	}
	memcpy(buf, &nb_args, 4);
	memcpy(buf + 4, &flags, 4);
	for (i = 0; i < nb_args; i++) {
		uint8_t *a = buf + 8 + 16 * i;
		uint64_t value = args[i].value;

		if (args[i].kind < RPCI_ARG_DEVPTR || args[i].kind > RPCI_ARG_BYVAL) {
			return cl_fail(-EINVAL, "argument %u has an unknown kind", i);
		}
		if (args[i].kind == RPCI_ARG_BYVAL) {
			if (args[i].data == NULL || args[i].size == 0) {
				return cl_fail(-EINVAL, "argument %u: a value of no bytes", i);
			}
			if (args[i].size > RPCI_LAUNCH_PARAMS_MAX - len) {
				return cl_fail(-E2BIG, "the arguments take more than %u bytes",
					       RPCI_LAUNCH_PARAMS_MAX);
			}
			memcpy(buf + len, args[i].data, args[i].size);
			value = len;
			len += args[i].size;
		}
		memset(a, 0, 16);
		memcpy(a, &args[i].kind, 2);
		memcpy(a + 2, &args[i].size, 2);
		memcpy(a + 8, &value, 8);
	}
	memcpy(buf + 8 + 16 * nb_args, &vnd, sizeof(vnd));
	return (int)len;
}

int
rpci_cmd_launch(struct rpci_function *fn, const struct rpci_ndrange *nd,
		const struct rpci_launch_arg *args, unsigned int nb_args,
		struct rpci_cmd_report *report, uint32_t *id)
{
	struct rpci_vgpu_cmd cmd = { .opcode = RPCI_VGPU_OP_LAUNCH };
	uint8_t params[RPCI_LAUNCH_PARAMS_MAX];
	struct rpci_device *dev;
	uint8_t *slot;
	int len, ret;

	if (fn == NULL || nd == NULL || (nb_args > 0 && args == NULL)) {
		return cl_fail(-EINVAL, "bad launch arguments");
	}
	dev = fn->module->dev;
	ret = cmd_ready(dev);
	if (ret < 0) {
		return ret;
	}
	if (nb_args > RPCI_VGPU_ARGS_MAX || nd->dims < 1 || nd->dims > 3) {
		return cl_fail(-EINVAL, "%u arguments (at most %u), %u dimensions", nb_args,
			       RPCI_VGPU_ARGS_MAX, nd->dims);
	}
	len = params_build(nd, args, nb_args, params);
	if (len < 0) {
		return len;
	}
	cmd.args[0] = fn->handle;
	if (len <= RPCI_VGPU_CMD_INLINE) {
		cmd.flags = RPCI_VGPU_CMD_F_INLINE;
		cmd.inline_len = (uint16_t)len;
		memcpy(cmd.data, params, (size_t)len);
		return cmd_submit(dev, &cmd, report, id);
	}
	/* Too large to go inline: the slot's block, free once the queue has room. */
	if (dev->cmd == NULL) {
		dev->cmd = calloc(1, sizeof(*dev->cmd));
		if (dev->cmd == NULL) {
			return cl_fail(-ENOMEM, "out of memory");
		}
	}
	if (dev->cmd->params == NULL) {
		dev->cmd->params = cl_heap_alloc(dev->client,
						 (uint64_t)SQ_SIZE * RPCI_LAUNCH_PARAMS_MAX, 4096);
		if (dev->cmd->params == NULL) {
			return cl_fail(-ENOMEM, "out of shared memory for launch parameters");
		}
	}
	ret = cl_sq_room(dev);
	if (ret < 0) {
		return ret;
	}
	slot = dev->cmd->params + (size_t)(dev->sq_tail & (SQ_SIZE - 1)) * RPCI_LAUNCH_PARAMS_MAX;
	memcpy(slot, params, (size_t)len);
	cmd.host_addr = cl_iova(dev->client, slot);
	cmd.host_len = (uint32_t)len;
	return cmd_submit(dev, &cmd, report, id);
}

int
rpci_cmd_poll(struct rpci_device *dev, uint32_t *done)
{
	if (dev == NULL || done == NULL) {
		return cl_fail(-EINVAL, "no device");
	}
	rpci_client_poll(dev->client);
	*done = dev->done_cmd_id;
	/* Their errors are in their reports. */
	cl_take_first_error(dev);
	return cl_session_alive(dev) ? 0 : cl_lost_error(dev);
}

int
rpci_cmd_wait(struct rpci_device *dev, uint32_t id)
{
	struct cl_spin sp = { 0 };
	int ret = 0;

	if (dev == NULL) {
		return cl_fail(-EINVAL, "no device");
	}
	while (!rpci_cmd_is_done(id, dev->done_cmd_id)) {
		if (!cl_session_alive(dev)) {
			ret = cl_lost_error(dev);
			break;
		}
		ret = cl_turn(dev->client, &sp);
		if (ret < 0) {
			dev->lost = true;
			break;
		}
	}
	cl_take_first_error(dev);
	return ret;
}

/* ------------------------------------------------ synchronous calls */

/* A report in shared memory for a command the caller waits for. */
static struct rpci_cmd_report *
report_alloc(struct rpci_client *c)
{
	struct rpci_cmd_report *r = cl_heap_alloc(c, sizeof(*r), 64);

	if (r == NULL) {
		cl_fail(-ENOMEM, "out of shared memory");
	}
	return r;
}

/* Submit cmd with a report and wait for it: its status; the report copied out. */
static int
run_reported(struct rpci_device *dev, struct rpci_vgpu_cmd *cmd, struct rpci_cmd_report *out)
{
	struct rpci_cmd_report *r = report_alloc(dev->client);
	uint32_t id;
	int ret;

	if (r == NULL) {
		return -ENOMEM;
	}
	ret = cmd_submit(dev, cmd, r, &id);
	if (ret == 0) {
		ret = rpci_cmd_wait(dev, id);
	}
	if (ret == 0) {
		*out = *r;
		ret = r->status;
	}
	cl_heap_free(dev->client, r);
	return ret;
}

int
rpci_module_build(struct rpci_device *dev, enum rpci_module_kind kind, const void *image,
		  size_t len, const char *options, struct rpci_module **module, char *log,
		  size_t log_len, int32_t *api_status)
{
	struct rpci_vgpu_cmd cmd = { .opcode = RPCI_VGPU_OP_MODULE_LOAD };
	struct rpci_cmd_report rep = { 0 };
	size_t opt_len = options != NULL ? strlen(options) : 0;
	uint32_t need;
	struct rpci_module *m;
	uint8_t *data = NULL;
	int ret;

	if (log != NULL && log_len > 0) {
		log[0] = '\0';
	}
	if (api_status != NULL) {
		*api_status = 0;
	}
	ret = cmd_ready(dev);
	if (ret < 0) {
		return ret;
	}
	if (module == NULL || (len > 0 && image == NULL) ||
	    (unsigned int)kind > RPCI_MODULE_OPENCL_BINARY) {
		return cl_fail(-EINVAL, "bad module build arguments");
	}
	need = kind == RPCI_MODULE_OPENCL_BINARY ? 1u << RPCI_MODULE_OPENCL : 1u << kind;
	if (!(dev->info.module_kinds & need)) {
		return cl_fail(-ENOTSUP, "device '%s' (%s backend) does not load that kind of "
			       "module", dev->info.server, dev->info.backend);
	}
	if (len + opt_len > UINT32_MAX) {
		return cl_fail(-E2BIG, "module image too large");
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL) {
		return cl_fail(-ENOMEM, "out of memory");
	}
	cmd.args[0] = kind;
	cmd.args[1] = cl_iova(dev->client, dev->log);
	cmd.args[2] = LOG_AREA;
	cmd.args[3] = opt_len;
	dev->log[0] = '\0';
	/* the device reads the options, then the image, from shared memory */
	if (len + opt_len > 0) {
		data = cl_heap_alloc(dev->client, len + opt_len, 64);
		if (data == NULL) {
			free(m);
			return cl_fail(-ENOMEM, "no room for a %zu-byte image in shared memory",
				       len + opt_len);
		}
		memcpy(data, options, opt_len);
		memcpy(data + opt_len, image, len);
		cmd.host_addr = cl_iova(dev->client, data);
		cmd.host_len = (uint32_t)(len + opt_len);
	}
	ret = run_reported(dev, &cmd, &rep);
	if (data != NULL) {
		cl_heap_free(dev->client, data);
	}
	dev->log[LOG_AREA - 1] = '\0';
	if (log != NULL && log_len > 0) {
		snprintf(log, log_len, "%s", dev->log);
	}
	if (api_status != NULL) {
		*api_status = rep.api_status;
	}
	if (ret < 0) {
		free(m);
		return ret == -ENOTCONN ? ret : cl_fail(ret, "module build failed: %s%s%s",
							 strerror(-ret), dev->log[0] ? ": " : "",
							 dev->log);
	}
	m->dev = dev;
	m->handle = rep.result;
	m->next = dev->modules;
	dev->modules = m;
	*module = m;
	return 0;
}

/* INFO of an object of dev into any memory, through shared memory. */
static int
info_read(struct rpci_device *dev, uint32_t obj, uint64_t handle, uint32_t key, void *buf,
	  size_t len, size_t *size)
{
	struct rpci_vgpu_cmd cmd = { .opcode = RPCI_VGPU_OP_INFO };
	struct rpci_cmd_report rep = { 0 };
	size_t cap = len > 0 ? len : 8;
	uint8_t *tmp;
	int ret = cmd_ready(dev);

	if (ret < 0) {
		return ret;
	}
	if (size == NULL || (buf == NULL && len > 0) || cap > UINT32_MAX) {
		return cl_fail(-EINVAL, "bad info request");
	}
	tmp = cl_heap_alloc(dev->client, cap, 64);
	if (tmp == NULL) {
		return cl_fail(-ENOMEM, "no room for %zu bytes in shared memory", cap);
	}
	cmd.args[0] = obj;
	cmd.args[1] = handle;
	cmd.args[2] = key;
	cmd.host_addr = cl_iova(dev->client, tmp);
	cmd.host_len = (uint32_t)cap;
	ret = run_reported(dev, &cmd, &rep);
	*size = rep.result;
	if (ret == 0 && rep.result > len) {
		ret = -ENOSPC; /* asked with no room: only the size */
	}
	if (ret == 0) {
		memcpy(buf, tmp, rep.result);
	}
	cl_heap_free(dev->client, tmp);
	if (ret == -ENOSPC) {
		return ret; /* the caller asks again, larger */
	}
	return ret < 0 && ret != -ENOTCONN ? cl_fail(ret, "info request failed: %s",
						     strerror(-ret)) : ret;
}

int
rpci_module_info(struct rpci_module *module, uint32_t key, void *buf, size_t len, size_t *size)
{
	if (module == NULL) {
		return cl_fail(-EINVAL, "no module");
	}
	return info_read(module->dev, RPCI_VGPU_INFO_MODULE, module->handle, key, buf, len, size);
}

int
rpci_function_info(struct rpci_function *fn, uint32_t key, void *buf, size_t len, size_t *size)
{
	if (fn == NULL) {
		return cl_fail(-EINVAL, "no function");
	}
	return info_read(fn->module->dev, RPCI_VGPU_INFO_FUNCTION, fn->handle, key, buf, len,
			 size);
}

int
rpci_device_api_info(struct rpci_device *dev, void *buf, size_t len, size_t *size)
{
	uint32_t n = 0;
	int ret = cmd_ready(dev);

	if (ret < 0) {
		return ret;
	}
	if (size == NULL || (buf == NULL && len > 0)) {
		return cl_fail(-EINVAL, "bad info request");
	}
	ret = rpci_bar_read(dev, 0, RPCI_VGPU_REG_INFO_LEN, &n, sizeof(n));
	if (ret < 0) {
		return ret;
	}
	*size = n;
	if (n == 0) {
		return cl_fail(-ENOTSUP, "device '%s' (%s backend) has no API info block",
			       dev->info.server, dev->info.backend);
	}
	if (n > RPCI_API_INFO_MAX) {
		return cl_fail(-EIO, "the device says its info block has %u bytes", n);
	}
	if (n > len) {
		return -ENOSPC;
	}
	return rpci_bar_read(dev, 0, RPCI_VGPU_REG_INFO, buf, n);
}

int
rpci_device_clock(struct rpci_device *dev, uint64_t *ns)
{
	int ret = cmd_ready(dev);

	if (ret < 0) {
		return ret;
	}
	if (ns == NULL) {
		return cl_fail(-EINVAL, "no clock to set");
	}
	return rpci_bar_read(dev, 0, RPCI_VGPU_REG_CLOCK, ns, sizeof(*ns));
}
