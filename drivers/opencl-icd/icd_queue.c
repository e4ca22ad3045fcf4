/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Events and commands of the rpci OpenCL ICD.
 *
 * Every clEnqueue* makes a command (and its event) with all it needs: the
 * data of a write is copied into shared memory at once, a kernel's
 * arguments are marshalled. The command waits in its queue (in order)
 * until what it waits for allows it, then is submitted to its device as
 * one or more of librpci's queued commands, each with a report: a device
 * runs its commands in order, so a command may follow an event of the same
 * device that is only submitted, not done; an event of another device, or
 * a user event, must be complete. A command is retired when the device is
 * done with its last part: a read's data goes to the application's memory,
 * the event takes the device's status (the server's own cl_int when its
 * OpenCL failed) and its times (the device's clock moved onto ours), and
 * its callbacks are queued.
 *
 * Waits never hang: a device that is lost (its server or the proxy gone)
 * turns every command of it into CL_OUT_OF_RESOURCES within librpci's
 * time limits. Callbacks run outside the lock, in the thread that retired
 * the command or in the progress thread, which takes completions while the
 * application calls nothing.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "icd_api.h"
#include "icd_private.h"

/* How long a waiter with nothing of its own to wait on sleeps at a time. */
#define WAIT_SLICE_NS 1000000ll
/* How often the progress thread takes completions while commands run. */
#define PROGRESS_NS 2000000ll

enum pending_kind {
	PCB_EVENT = 1,
	PCB_OBJECT,
	PCB_NOTIFY,
};

struct icd_pending_cb {
	struct icd_pending_cb *next;
	enum pending_kind kind;
	void (*fn)(void);
	void *obj;
	void *data;
	cl_int status;
	bool retained;          /* obj is a program retained for the call */
	char msg[160];          /* PCB_NOTIFY */
};

static void retire(struct icd_cmd *cmd, cl_int status);
static void queue_submit(cl_command_queue q, unsigned int depth);

/* ------------------------------------------------------------ the lock */

void
icd_lock(void)
{
	pthread_mutex_lock(&g_icd.lock);
}

void
icd_unlock(void)
{
	struct icd_pending_cb *cb;

	while (g_icd.cbs != NULL) {
		cb = g_icd.cbs;
		g_icd.cbs = NULL;
		g_icd.cbs_tail = NULL;
		pthread_mutex_unlock(&g_icd.lock);
		while (cb != NULL) {
			struct icd_pending_cb *next = cb->next;

			switch (cb->kind) {
			case PCB_EVENT:
				((void (CL_CALLBACK *)(cl_event, cl_int, void *))cb->fn)(
					cb->obj, cb->status, cb->data);
				break;
			case PCB_OBJECT:
				((void (CL_CALLBACK *)(void *, void *))cb->fn)(cb->obj, cb->data);
				break;
			case PCB_NOTIFY:
				((void (CL_CALLBACK *)(const char *, const void *, size_t,
						       void *))cb->fn)(cb->msg, NULL, 0, cb->data);
				break;
			}
			pthread_mutex_lock(&g_icd.lock);
			if (cb->kind == PCB_EVENT) {
				icd_event_release(cb->obj);
			} else if (cb->retained) {
				icd_program_release(cb->obj);
			}
			pthread_mutex_unlock(&g_icd.lock);
			free(cb);
			cb = next;
		}
		pthread_mutex_lock(&g_icd.lock);
	}
	pthread_mutex_unlock(&g_icd.lock);
}

static void
pending_push(struct icd_pending_cb *cb)
{
	if (g_icd.cbs_tail != NULL) {
		g_icd.cbs_tail->next = cb;
	} else {
		g_icd.cbs = cb;
	}
	g_icd.cbs_tail = cb;
}

void
icd_queue_event_cb(cl_event ev, const struct icd_callback *c, cl_int status)
{
	struct icd_pending_cb *cb = calloc(1, sizeof(*cb));

	if (cb == NULL) {
		return;
	}
	cb->kind = PCB_EVENT;
	cb->fn = c->fn;
	cb->obj = ev;
	cb->data = c->data;
	cb->status = status;
	icd_event_retain(ev);
	pending_push(cb);
}

void
icd_queue_obj_cb(void (*fn)(void), void *obj, void *data, bool retain_program)
{
	struct icd_pending_cb *cb = calloc(1, sizeof(*cb));

	if (cb == NULL) {
		return;
	}
	cb->kind = PCB_OBJECT;
	cb->fn = fn;
	cb->obj = obj;
	cb->data = data;
	if (retain_program) {
		icd_program_retain(obj);
		cb->retained = true;
	}
	pending_push(cb);
}

void
icd_queue_notify(cl_context ctx, const char *msg)
{
	struct icd_pending_cb *cb;

	if (ctx->notify == NULL || (cb = calloc(1, sizeof(*cb))) == NULL) {
		return;
	}
	cb->kind = PCB_NOTIFY;
	cb->fn = (void (*)(void))ctx->notify;
	cb->data = ctx->notify_data;
	snprintf(cb->msg, sizeof(cb->msg), "%s", msg);
	pending_push(cb);
}

/* ------------------------------------------------------------ events */

cl_event
icd_event_new(cl_context ctx, cl_command_queue q, cl_command_type type)
{
	cl_event ev = calloc(1, sizeof(*ev));

	if (ev == NULL) {
		return NULL;
	}
	icd_obj_init(&ev->o, ICD_EVENT);
	ev->ctx = ctx;
	icd_context_retain(ctx);
	ev->queue = q;
	if (q != NULL) {
		icd_queue_retain(q);
		ev->profiling = (q->props & CL_QUEUE_PROFILING_ENABLE) != 0;
	}
	ev->type = type;
	ev->status = CL_QUEUED;
	ev->t_queued = icd_now_ns();
	return ev;
}

void
icd_event_retain(cl_event ev)
{
	ev->o.refs++;
}

void
icd_event_release(cl_event ev)
{
	struct icd_callback *cb;

	if (--ev->o.refs > 0) {
		return;
	}
	while (ev->callbacks != NULL) {
		cb = ev->callbacks;
		ev->callbacks = cb->next;
		free(cb);
	}
	if (ev->queue != NULL) {
		if (ev->queue->last == ev) {
			ev->queue->last = NULL;
		}
		icd_queue_release(ev->queue);
	}
	icd_context_release(ev->ctx);
	icd_obj_kill(&ev->o);
	free(ev);
}

/* The event's status changed: queue the callbacks it now calls. */
static void
event_status(cl_event ev, cl_int status)
{
	struct icd_callback **pp = &ev->callbacks;

	ev->status = status;
	while (*pp != NULL) {
		struct icd_callback *cb = *pp;

		if (status <= cb->type) {
			/* reached or passed (CL_COMPLETE 0 < RUNNING 1 < SUBMITTED 2) */
			icd_queue_event_cb(ev, cb, status < 0 ? status : cb->type);
			*pp = cb->next;
			free(cb);
		} else {
			pp = &cb->next;
		}
	}
	if (status <= CL_COMPLETE) {
		pthread_cond_broadcast(&g_icd.cond);
	}
}

cl_int
icd_wait_list_check(cl_context ctx, cl_uint n, const cl_event *list)
{
	cl_uint i;

	if ((n == 0) != (list == NULL)) {
		return CL_INVALID_EVENT_WAIT_LIST;
	}
	for (i = 0; i < n; i++) {
		if (!icd_obj_valid(list[i], ICD_EVENT)) {
			return CL_INVALID_EVENT_WAIT_LIST;
		}
		if (ctx != NULL && list[i]->ctx != ctx) {
			return CL_INVALID_CONTEXT;
		}
	}
	return CL_SUCCESS;
}

/* ------------------------------------------------------------ commands */

struct icd_cmd *
icd_cmd_new(cl_command_queue q, cl_command_type type, enum icd_op op, cl_uint nb_wait,
	    const cl_event *wait, cl_int *err)
{
	struct icd_cmd *cmd;
	cl_uint i;

	if (!icd_obj_valid(q, ICD_QUEUE)) {
		*err = CL_INVALID_COMMAND_QUEUE;
		return NULL;
	}
	*err = icd_wait_list_check(q->ctx, nb_wait, wait);
	if (*err != CL_SUCCESS) {
		return NULL;
	}
	if (q->dev->lost) {
		*err = CL_OUT_OF_RESOURCES;
		return NULL;
	}
	cmd = calloc(1, sizeof(*cmd));
	if (cmd == NULL || (nb_wait > 0 && (cmd->wait = calloc(nb_wait, sizeof(cl_event))) ==
			    NULL)) {
		free(cmd);
		*err = CL_OUT_OF_HOST_MEMORY;
		return NULL;
	}
	cmd->ev = icd_event_new(q->ctx, q, type);
	if (cmd->ev == NULL) {
		free(cmd->wait);
		free(cmd);
		*err = CL_OUT_OF_HOST_MEMORY;
		return NULL;
	}
	cmd->ev->cmd = cmd;
	cmd->op = op;
	cmd->queue = q;
	cmd->dev = q->dev;
	for (i = 0; i < nb_wait; i++) {
		cmd->wait[i] = wait[i];
		icd_event_retain(wait[i]);
	}
	cmd->nb_wait = nb_wait;
	*err = CL_SUCCESS;
	return cmd;
}

void
icd_cmd_use(struct icd_cmd *cmd, cl_mem m, bool writes)
{
	if (cmd->nb_uses < sizeof(cmd->uses) / sizeof(cmd->uses[0])) {
		cmd->uses[cmd->nb_uses].mem = m;
		cmd->uses[cmd->nb_uses].writes = writes;
		cmd->nb_uses++;
		icd_mem_retain(m);
	}
}

/* Give back what a command holds (not its event). */
static void
cmd_free(struct icd_cmd *cmd)
{
	uint32_t i;

	for (i = 0; i < cmd->nb_wait; i++) {
		icd_event_release(cmd->wait[i]);
	}
	for (i = 0; i < cmd->nb_uses; i++) {
		icd_mem_release(cmd->uses[i].mem);
	}
	if (cmd->kernel != NULL) {
		icd_kernel_release(cmd->kernel);
	}
	if (!cmd->shm_keep) {
		icd_shm_free(cmd->shm);
	}
	icd_shm_free(cmd->reports);
	free(cmd->parts);
	free(cmd->values);
	free(cmd->wait);
	free(cmd);
}

void
icd_cmd_discard(struct icd_cmd *cmd)
{
	cl_event ev = cmd->ev;

	ev->cmd = NULL;
	cmd_free(cmd);
	icd_event_release(ev);
}

/*
 * Shared memory for commands. Each block has a header with its size; blocks
 * of SHM_CACHE_MIN bytes and more are kept when freed (up to
 * SHM_CACHE_BYTES in all) and given again to a request they fit: a block
 * fresh from the shared memory costs a page fault per page, in this process
 * and in the proxy, at its first use (about as long as moving the data).
 */
#define SHM_HDR 64u
#define SHM_CACHE_MIN (64u << 10)
#define SHM_CACHE_BYTES (256ull << 20)

struct shm_block {
	struct shm_block *next;
	size_t size;
};

static struct shm_block *g_shm_cache; /* most recently freed first */
static size_t g_shm_cached;

/* A cached block for size bytes (not more than twice as large), or NULL. */
static void *
shm_cache_take(size_t size)
{
	struct shm_block **pp, **best = NULL;

	for (pp = &g_shm_cache; *pp != NULL; pp = &(*pp)->next) {
		if ((*pp)->size >= size && (*pp)->size / 2 <= size &&
		    (best == NULL || (*pp)->size < (*best)->size)) {
			best = pp;
		}
	}
	if (best == NULL) {
		return NULL;
	}
	{
		struct shm_block *b = *best;

		*best = b->next;
		g_shm_cached -= b->size;
		return (uint8_t *)b + SHM_HDR;
	}
}

/* Give cached blocks back to the shared memory until keep bytes are left. */
static void
shm_cache_trim(size_t keep)
{
	while (g_shm_cached > keep && g_shm_cache != NULL) {
		struct shm_block **pp = &g_shm_cache, *b;

		while ((*pp)->next != NULL) {
			pp = &(*pp)->next; /* the least recently freed */
		}
		b = *pp;
		*pp = NULL;
		g_shm_cached -= b->size;
		rpci_client_host_free(g_icd.client, b);
	}
}

void *
icd_shm_alloc(size_t size)
{
	struct shm_block *b;
	cl_uint i;

	if (size >= SHM_CACHE_MIN && (b = shm_cache_take(size)) != NULL) {
		return b;
	}
	for (;;) {
		b = rpci_client_host_alloc(g_icd.client, size + SHM_HDR);
		if (b != NULL) {
			b->size = size;
			return (uint8_t *)b + SHM_HDR;
		}
		if (errno != ENOMEM) {
			return NULL;
		}
		if (g_shm_cached > 0) {
			shm_cache_trim(0);
			continue;
		}
		/* full: what runs gives its memory back when it retires */
		for (i = 0; i < g_icd.nb_devices; i++) {
			cl_device_id d = &g_icd.devices[i];

			if (d->inflight != NULL && d->rdev != NULL) {
				struct icd_cmd *c = d->inflight;

				if (rpci_cmd_wait(d->rdev, c->parts[c->nb_parts - 1].id) < 0 &&
				    !icd_device_was_reset(d)) {
					icd_device_lost(d, rpci_last_error());
				}
				icd_progress_all();
				break;
			}
		}
		if (i == g_icd.nb_devices) {
			return NULL;
		}
	}
}

void
icd_shm_free(void *p)
{
	struct shm_block *b;

	if (p == NULL) {
		return;
	}
	b = (struct shm_block *)((uint8_t *)p - SHM_HDR);
	if (b->size < SHM_CACHE_MIN || b->size > SHM_CACHE_BYTES) {
		rpci_client_host_free(g_icd.client, b);
		return;
	}
	b->next = g_shm_cache;
	g_shm_cache = b;
	g_shm_cached += b->size;
	shm_cache_trim(SHM_CACHE_BYTES);
}

/* ------------------------------------------------------------ submission */

/* The data of a buffer on device index i is current before a command uses it. */
static cl_int
migrate(cl_mem root, int i)
{
	cl_device_id to = root->ctx->devices[i], from;
	struct rpci_cmd_report *rep;
	uint8_t *stage;
	uint32_t id;
	int k, ret;

	for (k = 0; k < (int)root->ctx->nb_devices && !(root->valid & (1u << k)); k++) {
	}
	from = root->ctx->devices[k];
	stage = icd_shm_alloc(root->size + 64);
	if (stage == NULL) {
		return CL_OUT_OF_HOST_MEMORY;
	}
	rep = (struct rpci_cmd_report *)(stage + ((root->size + 7) & ~(size_t)7));
	/* from the device that has it (after its commands), to this one (before ours) */
	ret = rpci_cmd_read(from->rdev, stage, root->dptr[k], root->size, rep, &id);
	if (ret == 0) {
		ret = rpci_cmd_wait(from->rdev, id);
	}
	if (ret == 0 && rep->status == 0) {
		ret = rpci_cmd_write(to->rdev, root->dptr[i], stage, root->size, rep, &id);
	}
	if (ret == 0) {
		ret = rpci_cmd_wait(to->rdev, id);
	}
	if (ret == 0) {
		ret = rep->status;
	}
	icd_shm_free(stage);
	if (ret < 0) {
		return icd_errno_cl(ret);
	}
	root->valid |= 1u << i;
	return CL_SUCCESS;
}

/* The buffers a command uses: on its device, current there, then whose. */
static cl_int
uses_prepare(struct icd_cmd *cmd, int i)
{
	uint32_t u;
	cl_int err;

	for (u = 0; u < cmd->nb_uses; u++) {
		cl_mem root = icd_mem_root(cmd->uses[u].mem);

		err = icd_mem_on_device(root, i);
		if (err == CL_SUCCESS && root->valid != 0 && !(root->valid & (1u << i))) {
			err = migrate(root, i);
		}
		if (err != CL_SUCCESS) {
			return err;
		}
		root->valid = cmd->uses[u].writes ? 1u << i : root->valid | 1u << i;
	}
	return CL_SUCCESS;
}

/* Parts of a transfer of size bytes in chunks. */
static uint32_t
nb_chunks(uint64_t size, uint64_t chunk)
{
	return size == 0 ? 1 : (uint32_t)((size + chunk - 1) / chunk);
}

/* How many parts a command takes on the device. */
static uint32_t
cmd_parts(const struct icd_cmd *cmd)
{
	switch (cmd->op) {
	case ICD_OP_WRITE:
	case ICD_OP_READ:
		return nb_chunks(cmd->size, ICD_XFER_CHUNK);
	case ICD_OP_RECT:
		if (cmd->rect_dir == RPCI_RECT_ON_DEVICE) {
			return 1;
		}
		/* a slice at a time when one fits, else rows of a slice */
		if (cmd->rect.region[0] * cmd->rect.region[1] <= RPCI_CMD_RECT_MAX) {
			return (uint32_t)cmd->rect.region[2];
		}
		return (uint32_t)(cmd->rect.region[2] *
				  nb_chunks(cmd->rect.region[1],
					    RPCI_CMD_RECT_MAX / cmd->rect.region[0]));
	default:
		return 1;
	}
}

/* A rectangle's parts: rows [row, row + rows) of slice z, packed at *off. */
static int
rect_part(struct icd_cmd *cmd, uint64_t z, uint64_t row, uint64_t rows, size_t off,
	  struct rpci_rect *r)
{
	*r = cmd->rect;
	r->region[1] = rows;
	r->region[2] = 1;
	r->dst = cmd->dst + z * cmd->rect.dst_slice_pitch + row * cmd->rect.dst_row_pitch;
	r->src = cmd->src + z * cmd->rect.src_slice_pitch + row * cmd->rect.src_row_pitch;
	(void)off;
	return 0;
}

static int
submit_rect(struct icd_cmd *cmd, struct rpci_device *rdev, struct rpci_cmd_report *reps)
{
	uint64_t per = cmd->rect.region[0] * cmd->rect.region[1] <= RPCI_CMD_RECT_MAX ?
		cmd->rect.region[1] : RPCI_CMD_RECT_MAX / cmd->rect.region[0];
	uint64_t z, row;
	size_t off = 0;
	struct rpci_rect r;
	int ret = 0;

	if (cmd->rect_dir == RPCI_RECT_ON_DEVICE) {
		r = cmd->rect;
		r.dst = cmd->dst;
		r.src = cmd->src;
		return rpci_cmd_rect(rdev, RPCI_RECT_ON_DEVICE, &r, NULL, &reps[0],
				     &cmd->parts[cmd->nb_parts++].id);
	}
	for (z = 0; z < cmd->rect.region[2] && ret == 0; z++) {
		for (row = 0; row < cmd->rect.region[1] && ret == 0; row += per) {
			uint64_t rows = cmd->rect.region[1] - row < per ?
				cmd->rect.region[1] - row : per;

			rect_part(cmd, z, row, rows, off, &r);
			ret = rpci_cmd_rect(rdev, cmd->rect_dir, &r, (uint8_t *)cmd->shm + off,
					    &reps[cmd->nb_parts], &cmd->parts[cmd->nb_parts].id);
			if (ret == 0) {
				cmd->nb_parts++;
			}
			off += rows * cmd->rect.region[0];
		}
	}
	return ret;
}

/* Queue a command's parts on its device: 0, or a librpci error. */
static int
submit_parts(struct icd_cmd *cmd, struct rpci_device *rdev, struct rpci_cmd_report *reps)
{
	uint64_t off;
	uint32_t *id;
	int ret = 0;

	switch (cmd->op) {
	case ICD_OP_WRITE:
	case ICD_OP_READ:
		for (off = 0; off < cmd->size && ret == 0; off += ICD_XFER_CHUNK) {
			uint64_t n = cmd->size - off < ICD_XFER_CHUNK ? cmd->size - off :
				ICD_XFER_CHUNK;

			id = &cmd->parts[cmd->nb_parts].id;
			ret = cmd->op == ICD_OP_WRITE ?
				rpci_cmd_write(rdev, cmd->dst + off, (uint8_t *)cmd->shm + off, n,
					       &reps[cmd->nb_parts], id) :
				rpci_cmd_read(rdev, (uint8_t *)cmd->shm + off, cmd->src + off, n,
					      &reps[cmd->nb_parts], id);
			if (ret == 0) {
				cmd->nb_parts++;
			}
		}
		return ret;
	case ICD_OP_COPY:
		ret = rpci_cmd_copy(rdev, cmd->dst, cmd->src, cmd->size, &reps[0],
				    &cmd->parts[0].id);
		break;
	case ICD_OP_FILL:
		ret = rpci_cmd_fill(rdev, cmd->dst, cmd->pattern, cmd->pattern_size, cmd->size,
				    &reps[0], &cmd->parts[0].id);
		break;
	case ICD_OP_RECT:
		return submit_rect(cmd, rdev, reps);
	case ICD_OP_KERNEL:
		ret = rpci_cmd_launch(cmd->fn->fn, &cmd->nd, cmd->args, cmd->nb_args, &reps[0],
				      &cmd->parts[0].id);
		break;
	case ICD_OP_MAP:
	case ICD_OP_UNMAP:
		if (cmd->size > 0 && cmd->op == ICD_OP_MAP) {
			ret = rpci_cmd_read(rdev, cmd->shm, cmd->src, cmd->size, &reps[0],
					    &cmd->parts[0].id);
		} else if (cmd->size > 0) {
			ret = rpci_cmd_write(rdev, cmd->dst, cmd->shm, cmd->size, &reps[0],
					     &cmd->parts[0].id);
		} else {
			ret = rpci_cmd_marker(rdev, &reps[0], &cmd->parts[0].id);
		}
		break;
	default:
		ret = rpci_cmd_marker(rdev, &reps[0], &cmd->parts[0].id);
		break;
	}
	if (ret == 0) {
		cmd->nb_parts = 1;
	}
	return ret;
}

/* Resolve the device addresses of a transfer's buffers on device index i. */
static void
cmd_addresses(struct icd_cmd *cmd, int i)
{
	switch (cmd->op) {
	case ICD_OP_WRITE:
	case ICD_OP_FILL:
	case ICD_OP_UNMAP:
		cmd->dst = icd_mem_addr(cmd->uses[0].mem, i) + cmd->dst_off;
		break;
	case ICD_OP_READ:
	case ICD_OP_MAP:
		cmd->src = icd_mem_addr(cmd->uses[0].mem, i) + cmd->src_off;
		break;
	case ICD_OP_COPY:
		cmd->dst = icd_mem_addr(cmd->uses[0].mem, i) + cmd->dst_off;
		cmd->src = icd_mem_addr(cmd->uses[1].mem, i) + cmd->src_off;
		break;
	case ICD_OP_RECT:
		if (cmd->rect_dir != RPCI_RECT_FROM_DEVICE) {
			cmd->dst = icd_mem_addr(cmd->uses[0].mem, i) + cmd->dst_off;
		}
		if (cmd->rect_dir == RPCI_RECT_FROM_DEVICE) {
			cmd->src = icd_mem_addr(cmd->uses[0].mem, i) + cmd->src_off;
		} else if (cmd->rect_dir == RPCI_RECT_ON_DEVICE) {
			cmd->src = icd_mem_addr(cmd->uses[1].mem, i) + cmd->src_off;
		}
		break;
	default:
		break;
	}
}

/* Submit a command whose dependencies allow it. */
static void
cmd_submit(struct icd_cmd *cmd)
{
	cl_device_id d = cmd->dev;
	int i = icd_ctx_index(cmd->queue->ctx, d), ret;
	uint32_t n = cmd_parts(cmd);
	cl_int err;

	if (d->lost || d->rdev == NULL || icd_device_was_reset(d)) {
		retire(cmd, CL_OUT_OF_RESOURCES);
		return;
	}
	err = uses_prepare(cmd, i);
	if (err == CL_SUCCESS) {
		cmd->parts = calloc(n, sizeof(*cmd->parts));
		cmd->reports = icd_shm_alloc(n * sizeof(struct rpci_cmd_report));
		if (cmd->parts == NULL || cmd->reports == NULL) {
			err = CL_OUT_OF_HOST_MEMORY;
		}
	}
	if (err != CL_SUCCESS) {
		retire(cmd, err);
		return;
	}
	cmd_addresses(cmd, i);
	ret = submit_parts(cmd, d->rdev, cmd->reports);
	if (ret < 0) {
		/* the parts queued still run: the command fails when they are done */
		cmd->fail = icd_errno_cl(ret);
		if (cmd->nb_parts == 0) {
			if (ret == -ENOTCONN) {
				icd_device_lost(d, rpci_last_error());
			}
			retire(cmd, cmd->fail);
			return;
		}
	}
	cmd->submitted = true;
	cmd->ev->t_submit = icd_now_ns();
	cmd->next = NULL;
	if (d->inflight_tail != NULL) {
		d->inflight_tail->next = cmd;
	} else {
		d->inflight = cmd;
	}
	d->inflight_tail = cmd;
	d->nb_inflight++;
	event_status(cmd->ev, CL_SUBMITTED);
	pthread_cond_broadcast(&g_icd.cond);
}

/*
 * Whether cmd may go to its device now: 1 yes, 0 not yet, -1 a dependency
 * failed. An event of a command on the same device that is submitted is
 * as good as done (the device runs in order); one still pending on another
 * queue of the device is submitted first, if it can be.
 */
static int
deps_ready(struct icd_cmd *cmd, unsigned int depth)
{
	cl_uint i;

	for (i = 0; i < cmd->nb_wait; i++) {
		cl_event e = cmd->wait[i];

		if (e->status < 0) {
			return -1;
		}
		if (e->status == CL_COMPLETE) {
			continue;
		}
		if (e->cmd != NULL && !e->cmd->submitted && e->cmd->queue != cmd->queue &&
		    depth < 8) {
			queue_submit(e->cmd->queue, depth + 1);
		}
		if (e->status < 0) {
			return -1;
		}
		if (e->status == CL_COMPLETE ||
		    (e->cmd != NULL && e->cmd->submitted && e->cmd->dev == cmd->dev)) {
			continue;
		}
		return 0;
	}
	return 1;
}

static void
waiting_remove(cl_command_queue q)
{
	cl_command_queue *pp;

	for (pp = &g_icd.waiting; *pp != NULL; pp = &(*pp)->next_waiting) {
		if (*pp == q) {
			*pp = q->next_waiting;
			break;
		}
	}
	q->waiting = false;
}

/* Submit the commands at the head of q that can go. */
static void
queue_submit(cl_command_queue q, unsigned int depth)
{
	while (q->pending != NULL) {
		struct icd_cmd *cmd = q->pending;
		int ready = deps_ready(cmd, depth);

		if (ready == 0 || cmd != q->pending) {
			break;
		}
		q->pending = cmd->next;
		if (q->pending == NULL) {
			q->pending_tail = NULL;
		}
		cmd->next = NULL;
		if (ready < 0) {
			retire(cmd, CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST);
		} else {
			cmd_submit(cmd);
		}
	}
	if (q->pending == NULL && q->waiting) {
		waiting_remove(q);
	}
}

cl_int
icd_cmd_enqueue(struct icd_cmd *cmd, cl_event *event, bool blocking)
{
	cl_command_queue q = cmd->queue;
	cl_event ev = cmd->ev;
	cl_int status;

	cmd->next = NULL;
	if (q->pending_tail != NULL) {
		q->pending_tail->next = cmd;
	} else {
		q->pending = cmd;
	}
	q->pending_tail = cmd;
	q->last = ev;
	if (!q->waiting) {
		q->waiting = true;
		q->next_waiting = g_icd.waiting;
		g_icd.waiting = q;
	}
	icd_event_retain(ev); /* ours, until we return */
	if (event != NULL) {
		icd_event_retain(ev);
		*event = ev;
	}
	queue_submit(q, 0);
	status = CL_SUCCESS;
	if (blocking) {
		status = icd_wait_events(1, &ev);
		if (status != CL_SUCCESS) {
			status = ev->status == CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST ||
				 ev->status >= 0 ? CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST :
				 ev->status;
		}
	}
	icd_event_release(ev);
	return status;
}

/* ------------------------------------------------------------ retirement */

/* Unpack a rectangle's packed rows into the application's memory. */
static void
rect_unpack(const struct icd_cmd *cmd)
{
	const uint8_t *src = cmd->shm;
	uint8_t *host = cmd->host;
	uint64_t z, y;

	for (z = 0; z < cmd->rect.region[2]; z++) {
		for (y = 0; y < cmd->rect.region[1]; y++) {
			size_t h = (cmd->host_origin[2] + z) * cmd->host_slice_pitch +
				   (cmd->host_origin[1] + y) * cmd->host_row_pitch +
				   cmd->host_origin[0];

			memcpy(host + h, src, cmd->rect.region[0]);
			src += cmd->rect.region[0];
		}
	}
}

/* The device's times moved onto our clock, in order after the submission. */
static void
cmd_times(struct icd_cmd *cmd)
{
	const struct rpci_cmd_report *first = &((struct rpci_cmd_report *)cmd->reports)[0];
	const struct rpci_cmd_report *last = first + cmd->nb_parts - 1;
	cl_event ev = cmd->ev;
	int64_t off = cmd->dev->clock_offset;
	uint64_t start = (uint64_t)((int64_t)first->start_ns + off);
	uint64_t end = (uint64_t)((int64_t)last->end_ns + off);

	if (start < ev->t_submit) {
		end += ev->t_submit - start;
		start = ev->t_submit;
	}
	ev->t_start = start;
	ev->t_end = end > start ? end : start;
}

static void
inflight_remove(struct icd_cmd *cmd)
{
	cl_device_id d = cmd->dev;
	struct icd_cmd **pp;

	for (pp = &d->inflight; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == cmd) {
			*pp = cmd->next;
			d->nb_inflight--;
			break;
		}
	}
	d->inflight_tail = NULL;
	for (pp = &d->inflight; *pp != NULL; pp = &(*pp)->next) {
		d->inflight_tail = *pp;
	}
}

/* The status of a submitted command from its reports. */
static cl_int
cmd_status(const struct icd_cmd *cmd)
{
	const struct rpci_cmd_report *reps = cmd->reports;
	uint32_t i;

	for (i = 0; i < cmd->nb_parts; i++) {
		if (reps[i].status != 0) {
			/* the server's own OpenCL code when its OpenCL failed */
			return reps[i].api_status < 0 ? reps[i].api_status :
				icd_errno_cl(reps[i].status);
		}
	}
	return cmd->fail;
}

/* The command is done (status: CL_SUCCESS or the error): its event completes. */
static void
retire(struct icd_cmd *cmd, cl_int status)
{
	cl_event ev = cmd->ev;

	if (cmd->submitted) {
		inflight_remove(cmd);
		if (status == CL_SUCCESS) {
			status = cmd_status(cmd);
		}
		cmd_times(cmd);
	} else {
		ev->t_submit = ev->t_start = ev->t_end = icd_now_ns();
	}
	if (status == CL_SUCCESS && cmd->host != NULL && cmd->shm != NULL) {
		if (cmd->op == ICD_OP_RECT) {
			rect_unpack(cmd);
		} else {
			memcpy(cmd->host, cmd->shm, cmd->size);
		}
	}
	ev->cmd = NULL;
	if (status == CL_SUCCESS) {
		event_status(ev, CL_COMPLETE);
	} else {
		event_status(ev, status < 0 ? status : CL_OUT_OF_RESOURCES);
	}
	cmd_free(cmd);
	icd_event_release(ev); /* the queue's */
}

/* Retire what device d is done with. */
static void
device_progress(cl_device_id d)
{
	uint32_t done = 0;
	int ret;

	if (d->rdev == NULL || d->inflight == NULL) {
		return;
	}
	ret = rpci_cmd_poll(d->rdev, &done);
	while (d->inflight != NULL) {
		struct icd_cmd *c = d->inflight;

		if (!rpci_cmd_is_done(c->parts[c->nb_parts - 1].id, done)) {
			break;
		}
		retire(c, CL_SUCCESS);
	}
	if (ret < 0 && !icd_device_was_reset(d)) {
		icd_device_lost(d, rpci_last_error());
	}
}

void
icd_progress_all(void)
{
	cl_command_queue q, next;
	cl_uint i;

	for (i = 0; i < g_icd.nb_devices; i++) {
		device_progress(&g_icd.devices[i]);
	}
	for (q = g_icd.waiting; q != NULL; q = next) {
		next = q->next_waiting;
		queue_submit(q, 0);
	}
}

void
icd_fail_device(cl_device_id d, cl_int status)
{
	while (d->inflight != NULL) {
		struct icd_cmd *c = d->inflight;

		c->fail = status;
		retire(c, status);
	}
}

void
icd_device_lost(cl_device_id d, const char *why)
{
	char msg[160];
	cl_context ctx;

	if (d->lost) {
		return;
	}
	d->lost = true;
	snprintf(msg, sizeof(msg), "rpci: device %u is lost: %s", d->index, why);
	for (ctx = g_icd.contexts; ctx != NULL; ctx = ctx->next) {
		if (icd_ctx_index(ctx, d) >= 0) {
			icd_queue_notify(ctx, msg);
		}
	}
	icd_fail_device(d, CL_OUT_OF_RESOURCES);
	pthread_cond_broadcast(&g_icd.cond);
}

/* ------------------------------------------------------------ waits */

/* Sleep a slice with the lock dropped (callbacks run), then take it again. */
static void
wait_slice(void)
{
	struct timespec ts;

	icd_unlock();
	icd_lock();
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += WAIT_SLICE_NS;
	if (ts.tv_nsec >= 1000000000l) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000l;
	}
	pthread_cond_timedwait(&g_icd.cond, &g_icd.lock, &ts);
}

cl_int
icd_wait_events(cl_uint n, const cl_event *list)
{
	cl_uint i;
	bool failed;

	for (;;) {
		cl_event pending = NULL;

		icd_progress_all();
		failed = false;
		for (i = 0; i < n && pending == NULL; i++) {
			if (list[i]->status > CL_COMPLETE) {
				pending = list[i];
			}
			failed |= list[i]->status < 0;
		}
		if (pending == NULL) {
			break;
		}
		if (pending->cmd != NULL && pending->cmd->submitted) {
			struct icd_cmd *c = pending->cmd;
			cl_device_id d = c->dev;

			/* the device's own wait: spin a little, then sleep until it answers */
			if (rpci_cmd_wait(d->rdev, c->parts[c->nb_parts - 1].id) < 0 &&
			    !icd_device_was_reset(d)) {
				icd_device_lost(d, rpci_last_error());
			}
			continue;
		}
		wait_slice();
	}
	return failed ? CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST : CL_SUCCESS;
}

cl_int
icd_queue_finish(cl_command_queue q)
{
	cl_event last = q->last;
	cl_int err;

	if (last == NULL) {
		return CL_SUCCESS;
	}
	icd_event_retain(last);
	err = icd_wait_events(1, &last);
	icd_event_release(last);
	/* clFinish says nothing of the commands' own failures */
	return err == CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST ? CL_SUCCESS : err;
}

void
icd_queue_flush(cl_command_queue q)
{
	queue_submit(q, 0);
}

/* ------------------------------------------------------------ progress thread */

static void *
progress_main(void *arg)
{
	struct timespec ts;
	cl_uint i;

	(void)arg;
	icd_lock();
	while (!g_icd.progress_stop) {
		bool busy = g_icd.waiting != NULL;

		for (i = 0; i < g_icd.nb_devices; i++) {
			busy |= g_icd.devices[i].inflight != NULL;
		}
		if (busy) {
			icd_progress_all();
		}
		icd_unlock();
		icd_lock();
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += busy ? PROGRESS_NS : 100 * PROGRESS_NS;
		while (ts.tv_nsec >= 1000000000l) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000l;
		}
		if (!g_icd.progress_stop) {
			pthread_cond_timedwait(&g_icd.cond, &g_icd.lock, &ts);
		}
	}
	pthread_mutex_unlock(&g_icd.lock);
	return NULL;
}

void
icd_progress_start(void)
{
	if (g_icd.progress_started || getenv("RPCI_OPENCL_NO_THREAD") != NULL) {
		return;
	}
	if (pthread_create(&g_icd.progress, NULL, progress_main, NULL) == 0) {
		g_icd.progress_started = true;
	}
}

/* The library goes (the program exits): the thread stops first. */
static void __attribute__((destructor))
icd_fini(void)
{
	if (!g_icd.progress_started) {
		return;
	}
	pthread_mutex_lock(&g_icd.lock);
	g_icd.progress_stop = true;
	pthread_cond_broadcast(&g_icd.cond);
	pthread_mutex_unlock(&g_icd.lock);
	pthread_join(g_icd.progress, NULL);
	g_icd.progress_started = false;
}

/* ------------------------------------------------------------ the API */

cl_int
icd_clWaitForEvents(cl_uint n, const cl_event *list)
{
	cl_int err;
	cl_uint i;

	if (n == 0 || list == NULL) {
		return CL_INVALID_VALUE;
	}
	icd_lock();
	err = icd_wait_list_check(NULL, n, list);
	if (err == CL_INVALID_EVENT_WAIT_LIST) {
		err = CL_INVALID_EVENT;
	}
	for (i = 1; err == CL_SUCCESS && i < n; i++) {
		if (list[i]->ctx != list[0]->ctx) {
			err = CL_INVALID_CONTEXT;
		}
	}
	if (err == CL_SUCCESS) {
		for (i = 0; i < n; i++) {
			icd_event_retain(list[i]);
		}
		err = icd_wait_events(n, list);
		for (i = 0; i < n; i++) {
			icd_event_release(list[i]);
		}
	}
	icd_unlock();
	return err;
}

cl_int
icd_clGetEventInfo(cl_event ev, cl_event_info param, size_t size, void *value,
		   size_t *size_ret)
{
	cl_int err, status;
	cl_uint v;

	icd_lock();
	if (!icd_obj_valid(ev, ICD_EVENT)) {
		err = CL_INVALID_EVENT;
		goto out;
	}
	switch (param) {
	case CL_EVENT_COMMAND_QUEUE:
		err = icd_answer(size, value, size_ret, &ev->queue, sizeof(ev->queue));
		break;
	case CL_EVENT_CONTEXT:
		err = icd_answer(size, value, size_ret, &ev->ctx, sizeof(ev->ctx));
		break;
	case CL_EVENT_COMMAND_TYPE:
		err = icd_answer(size, value, size_ret, &ev->type, sizeof(ev->type));
		break;
	case CL_EVENT_COMMAND_EXECUTION_STATUS:
		/* a status asked for is a chance to take completions */
		if (ev->status > CL_COMPLETE) {
			icd_progress_all();
		}
		status = ev->status;
		err = icd_answer(size, value, size_ret, &status, sizeof(status));
		break;
	case CL_EVENT_REFERENCE_COUNT:
		v = ev->o.refs;
		err = icd_answer(size, value, size_ret, &v, sizeof(v));
		break;
	default:
		err = CL_INVALID_VALUE;
		break;
	}
out:
	icd_unlock();
	return err;
}

cl_int
icd_clRetainEvent(cl_event ev)
{
	return icd_obj_ref(ev, ICD_EVENT, CL_INVALID_EVENT, true);
}

cl_int
icd_clReleaseEvent(cl_event ev)
{
	return icd_obj_ref(ev, ICD_EVENT, CL_INVALID_EVENT, false);
}

cl_int
icd_clGetEventProfilingInfo(cl_event ev, cl_profiling_info param, size_t size, void *value,
			    size_t *size_ret)
{
	cl_ulong t;
	cl_int err = CL_SUCCESS;

	icd_lock();
	if (!icd_obj_valid(ev, ICD_EVENT)) {
		err = CL_INVALID_EVENT;
		goto out;
	}
	if (ev->user || !ev->profiling || ev->status != CL_COMPLETE) {
		err = CL_PROFILING_INFO_NOT_AVAILABLE;
		goto out;
	}
	switch (param) {
	case CL_PROFILING_COMMAND_QUEUED:
		t = ev->t_queued;
		break;
	case CL_PROFILING_COMMAND_SUBMIT:
		t = ev->t_submit;
		break;
	case CL_PROFILING_COMMAND_START:
		t = ev->t_start;
		break;
	case CL_PROFILING_COMMAND_END:
	case CL_PROFILING_COMMAND_COMPLETE:
		t = ev->t_end;
		break;
	default:
		err = CL_INVALID_VALUE;
		goto out;
	}
	err = icd_answer(size, value, size_ret, &t, sizeof(t));
out:
	icd_unlock();
	return err;
}

cl_int
icd_clFlush(cl_command_queue q)
{
	cl_int err = CL_SUCCESS;

	icd_lock();
	if (!icd_obj_valid(q, ICD_QUEUE)) {
		err = CL_INVALID_COMMAND_QUEUE;
	} else {
		icd_queue_flush(q);
	}
	icd_unlock();
	return err;
}

cl_int
icd_clFinish(cl_command_queue q)
{
	cl_int err;

	icd_lock();
	if (!icd_obj_valid(q, ICD_QUEUE)) {
		err = CL_INVALID_COMMAND_QUEUE;
	} else {
		icd_queue_retain(q);
		icd_queue_flush(q);
		err = icd_queue_finish(q);
		if (err == CL_SUCCESS && q->dev->lost) {
			err = CL_OUT_OF_RESOURCES;
		}
		icd_queue_release(q);
	}
	icd_unlock();
	return err;
}

cl_event
icd_clCreateUserEvent(cl_context ctx, cl_int *errcode_ret)
{
	cl_event ev = NULL;
	cl_int err = CL_SUCCESS;

	icd_lock();
	if (!icd_obj_valid(ctx, ICD_CONTEXT)) {
		err = CL_INVALID_CONTEXT;
	} else {
		ev = icd_event_new(ctx, NULL, CL_COMMAND_USER);
		if (ev == NULL) {
			err = CL_OUT_OF_HOST_MEMORY;
		} else {
			ev->user = true;
			ev->status = CL_SUBMITTED;
		}
	}
	icd_unlock();
	if (errcode_ret != NULL) {
		*errcode_ret = err;
	}
	return ev;
}

cl_int
icd_clSetUserEventStatus(cl_event ev, cl_int status)
{
	cl_int err = CL_SUCCESS;

	icd_lock();
	if (!icd_obj_valid(ev, ICD_EVENT) || !ev->user) {
		err = CL_INVALID_EVENT;
	} else if (status > CL_COMPLETE) {
		err = CL_INVALID_VALUE;
	} else if (ev->status <= CL_COMPLETE) {
		err = CL_INVALID_OPERATION; /* set once */
	} else {
		ev->t_end = icd_now_ns();
		event_status(ev, status);
		icd_progress_all(); /* what waited on it may go */
	}
	icd_unlock();
	return err;
}

cl_int
icd_clSetEventCallback(cl_event ev, cl_int type,
		       void (CL_CALLBACK *fn)(cl_event, cl_int, void *), void *data)
{
	struct icd_callback *cb;
	cl_int err = CL_SUCCESS;

	if (fn == NULL || (type != CL_COMPLETE && type != CL_SUBMITTED && type != CL_RUNNING)) {
		return CL_INVALID_VALUE;
	}
	icd_lock();
	if (!icd_obj_valid(ev, ICD_EVENT)) {
		err = CL_INVALID_EVENT;
		goto out;
	}
	cb = calloc(1, sizeof(*cb));
	if (cb == NULL) {
		err = CL_OUT_OF_HOST_MEMORY;
		goto out;
	}
	cb->type = type;
	cb->fn = (void (*)(void))fn;
	cb->data = data;
	if (ev->status <= type) {
		/* already there: called at once (outside the lock) */
		icd_queue_event_cb(ev, cb, ev->status < 0 ? ev->status : type);
		free(cb);
	} else {
		cb->next = ev->callbacks;
		ev->callbacks = cb;
	}
out:
	icd_unlock();
	return err;
}
