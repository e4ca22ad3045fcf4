/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Info blocks: what a server's OpenCL backend says of its device, of a
 * program and of a kernel (rpci_vgpu_hw.h, struct rpci_vgpu_info_hdr),
 * read once and answered here. The bytes come from the network: the parser
 * trusts nothing (test/fuzz/fuzz_icd_info.c).
 *
 * A device's answers are the server's, except where rpci serves the device
 * differently from the server's own OpenCL: no images, SVM, pipes, device
 * queues, sub-groups, partitions, built-in kernels or IL programs (each
 * said to be absent, as the specification lets a device say), only the
 * extensions that need nothing of the runtime, memory not shared with this
 * host, and OpenCL 1.2 for a 2.x device (2.x makes SVM, pipes and device
 * queues mandatory; 3.0 makes them optional).
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "icd_private.h"
#include "rpci_vgpu_hw.h"

static int
ent_cmp(const void *a, const void *b)
{
	const struct icd_info_ent *x = a, *y = b;

	if (x->key != y->key) {
		return x->key < y->key ? -1 : 1;
	}
	return x->val < y->val ? -1 : x->val > y->val; /* stable: the first stays first */
}

int
icd_info_parse(const void *buf, size_t len, struct icd_info *out)
{
	struct rpci_vgpu_info_hdr h;
	const uint8_t *p;
	size_t off;
	uint32_t i;

	memset(out, 0, sizeof(*out));
	if (buf == NULL || len < sizeof(h)) {
		return -EBADMSG;
	}
	memcpy(&h, buf, sizeof(h));
	if (h.magic != RPCI_VGPU_INFO_MAGIC || h.version != RPCI_VGPU_INFO_VERSION ||
	    h.api != RPCI_VGPU_API_OPENCL || h.len < sizeof(h) || h.len > len ||
	    h.count > (h.len - sizeof(h)) / sizeof(struct rpci_vgpu_info_ent)) {
		return -EBADMSG;
	}
	out->blob = malloc(h.len);
	out->ents = calloc(h.count ? h.count : 1, sizeof(*out->ents));
	if (out->blob == NULL || out->ents == NULL) {
		icd_info_free(out);
		return -ENOMEM;
	}
	memcpy(out->blob, buf, h.len);
	out->len = h.len;
	p = out->blob;
	off = sizeof(h);
	for (i = 0; i < h.count; i++) {
		struct rpci_vgpu_info_ent e;
		size_t padded;

		if (h.len - off < sizeof(e)) {
			goto bad;
		}
		memcpy(&e, p + off, sizeof(e));
		off += sizeof(e);
		padded = ((size_t)e.len + 3) & ~(size_t)3;
		if (e.len > h.len - off || padded > h.len - off) {
			goto bad;
		}
		out->ents[i].key = e.key;
		out->ents[i].len = e.len;
		out->ents[i].val = p + off;
		off += padded;
	}
	if (off != h.len) {
		goto bad; /* bytes no entry accounts for */
	}
	out->count = h.count;
	qsort(out->ents, out->count, sizeof(*out->ents), ent_cmp);
	return 0;

bad:
	icd_info_free(out);
	return -EBADMSG;
}

void
icd_info_free(struct icd_info *info)
{
	if (info == NULL) {
		return;
	}
	free(info->blob);
	free(info->ents);
	memset(info, 0, sizeof(*info));
}

const struct icd_info_ent *
icd_info_find(const struct icd_info *info, uint32_t key)
{
	uint32_t lo = 0, hi;

	if (info == NULL || info->ents == NULL) {
		return NULL;
	}
	hi = info->count;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (info->ents[mid].key < key) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return lo < info->count && info->ents[lo].key == key ? &info->ents[lo] : NULL;
}

uint64_t
icd_info_u64(const struct icd_info *info, uint32_t key, uint64_t def)
{
	const struct icd_info_ent *e = icd_info_find(info, key);
	uint64_t v = 0;

	if (e == NULL || (e->len != 1 && e->len != 2 && e->len != 4 && e->len != 8)) {
		return def;
	}
	memcpy(&v, e->val, e->len); /* little-endian: the low bytes */
	return v;
}

bool
icd_info_str(const struct icd_info *info, uint32_t key, char *buf, size_t len)
{
	const struct icd_info_ent *e = icd_info_find(info, key);
	size_t n;

	if (e == NULL || len == 0) {
		return false;
	}
	n = strnlen((const char *)e->val, e->len);
	if (n >= len) {
		n = len - 1;
	}
	memcpy(buf, e->val, n);
	buf[n] = '\0';
	return true;
}

size_t
icd_info_build(const struct icd_info_ent *ents, uint32_t count, uint8_t *buf, size_t len)
{
	struct rpci_vgpu_info_hdr h = {
		.magic = RPCI_VGPU_INFO_MAGIC,
		.version = RPCI_VGPU_INFO_VERSION,
		.api = RPCI_VGPU_API_OPENCL,
		.count = count,
	};
	size_t off = sizeof(h);
	uint32_t i;

	for (i = 0; i < count; i++) {
		struct rpci_vgpu_info_ent e = { .key = ents[i].key, .len = ents[i].len };
		size_t padded = ((size_t)e.len + 3) & ~(size_t)3;

		if (off > len || len - off < sizeof(e) + padded) {
			return 0;
		}
		memcpy(buf + off, &e, sizeof(e));
		off += sizeof(e);
		memset(buf + off, 0, padded);
		if (e.len > 0) {
			memcpy(buf + off, ents[i].val, e.len);
		}
		off += padded;
	}
	if (off > UINT32_MAX || len < sizeof(h)) {
		return 0;
	}
	h.len = (uint32_t)off;
	memcpy(buf, &h, sizeof(h));
	return off;
}

/* ------------------------------------------------------------ answers */

/*
 * Extensions passed on: kernel-language ones, which the server's compiler
 * implements alone, and those that only add queries the block answers.
 * Anything with host functions, images, sub-groups or IL is left out.
 */
static const char *const g_ext_allowed[] = {
	"cl_khr_byte_addressable_store",
	"cl_khr_global_int32_base_atomics",
	"cl_khr_global_int32_extended_atomics",
	"cl_khr_local_int32_base_atomics",
	"cl_khr_local_int32_extended_atomics",
	"cl_khr_int64_base_atomics",
	"cl_khr_int64_extended_atomics",
	"cl_khr_fp64",
	"cl_khr_fp16",
	"cl_khr_select_fprounding_mode",
	"cl_khr_device_uuid",
	"cl_khr_pci_bus_info",
	"cl_khr_integer_dot_product",
	"cl_khr_extended_bit_ops",
	"cl_khr_expect_assume",
	"cl_khr_extended_versioning",
	"cl_khr_kernel_clock",
	"cl_khr_spirv_no_integer_wrap_decoration",
};

bool
icd_extension_allowed(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(g_ext_allowed) / sizeof(g_ext_allowed[0]); i++) {
		if (strcmp(name, g_ext_allowed[i]) == 0) {
			return true;
		}
	}
	return false;
}

/* OpenCL C features of a device that rpci cannot give a kernel. */
static bool
feature_dropped(const char *name)
{
	static const char *const dropped[] = {
		"__opencl_c_images", "__opencl_c_read_write_images", "__opencl_c_3d_image_writes",
		"__opencl_c_pipes", "__opencl_c_device_enqueue", "__opencl_c_subgroups",
	};
	size_t i;

	for (i = 0; i < sizeof(dropped) / sizeof(dropped[0]); i++) {
		if (strcmp(name, dropped[i]) == 0) {
			return true;
		}
	}
	return false;
}

bool
icd_device_key_known(cl_uint key)
{
	return (key >= 0x1000 && key <= 0x1075 && key != CL_DEVICE_PLATFORM &&
		key != CL_DEVICE_PARENT_DEVICE) || key == CL_DEVICE_PCI_BUS_INFO_KHR;
}

/* The table being built: the server's entries, replaced or added to. */
struct answers {
	struct icd_info_ent ents[512];
	uint32_t count;
	uint8_t store[16384];   /* values the ICD makes */
	size_t used;
};

static void
ans_set(struct answers *a, uint32_t key, const void *val, uint32_t len)
{
	uint8_t *copy = NULL;
	uint32_t i;

	if (len > 0) {
		if (len > sizeof(a->store) - a->used) {
			return;
		}
		copy = a->store + a->used;
		memcpy(copy, val, len);
		a->used += (len + 7) & ~7u;
	}
	for (i = 0; i < a->count; i++) {
		if (a->ents[i].key == key) {
			a->ents[i].len = len;
			a->ents[i].val = copy;
			return;
		}
	}
	if (a->count < sizeof(a->ents) / sizeof(a->ents[0])) {
		a->ents[a->count].key = key;
		a->ents[a->count].len = len;
		a->ents[a->count].val = copy;
		a->count++;
	}
}

/* Set a key to zeros of its own length, if the server has it. */
static void
ans_zero(struct answers *a, const struct icd_info *server, uint32_t key)
{
	const struct icd_info_ent *e = icd_info_find(server, key);
	static const uint8_t zeros[16];

	if (e != NULL && e->len <= sizeof(zeros)) {
		ans_set(a, key, zeros, e->len);
	}
}

/* The server's extension string with only the allowed ones. */
static void
ans_extensions(struct answers *a, const struct icd_info *server)
{
	const struct icd_info_ent *e = icd_info_find(server, CL_DEVICE_EXTENSIONS);
	char in[4096], out[4096] = "", *tok, *save = NULL;
	size_t n, used = 0;

	if (e == NULL) {
		return;
	}
	n = strnlen((const char *)e->val, e->len);
	n = n < sizeof(in) ? n : sizeof(in) - 1;
	memcpy(in, e->val, n);
	in[n] = '\0';
	for (tok = strtok_r(in, " ", &save); tok != NULL; tok = strtok_r(NULL, " ", &save)) {
		if (icd_extension_allowed(tok) && used + strlen(tok) + 2 < sizeof(out)) {
			used += (size_t)snprintf(out + used, sizeof(out) - used, "%s ", tok);
		}
	}
	ans_set(a, CL_DEVICE_EXTENSIONS, out, (uint32_t)used + 1);
}

/* A cl_name_version array with the entries keep() keeps. */
static void
ans_name_versions(struct answers *a, const struct icd_info *server, uint32_t key,
		  bool (*keep)(const char *))
{
	const struct icd_info_ent *e = icd_info_find(server, key);
	cl_name_version out[64];
	uint32_t i, n = 0;

	if (e == NULL || e->len % sizeof(cl_name_version) != 0) {
		return;
	}
	for (i = 0; i < e->len / sizeof(cl_name_version) && n < 64; i++) {
		cl_name_version nv;

		memcpy(&nv, e->val + i * sizeof(nv), sizeof(nv));
		nv.name[sizeof(nv.name) - 1] = '\0';
		if (keep(nv.name)) {
			out[n++] = nv;
		}
	}
	ans_set(a, key, out, n * (uint32_t)sizeof(cl_name_version));
}

static bool
feature_kept(const char *name)
{
	return !feature_dropped(name);
}

/* A 2.x device says 1.2: rpci gives none of what 2.x makes mandatory. */
static void
ans_version(struct answers *a, const struct icd_info *server)
{
	char v[256], out[300];
	unsigned int major = 0, minor = 0;
	cl_version numeric;
	int n = 0;

	if (!icd_info_str(server, CL_DEVICE_VERSION, v, sizeof(v)) ||
	    sscanf(v, "OpenCL %u.%u%n", &major, &minor, &n) != 2 || major != 2) {
		return;
	}
	snprintf(out, sizeof(out), "OpenCL 1.2%s", v + n);
	ans_set(a, CL_DEVICE_VERSION, out, (uint32_t)strlen(out) + 1);
	numeric = CL_MAKE_VERSION(1, 2, 0);
	if (icd_info_find(server, CL_DEVICE_NUMERIC_VERSION) != NULL) {
		ans_set(a, CL_DEVICE_NUMERIC_VERSION, &numeric, sizeof(numeric));
	}
}

int
icd_device_answers(const struct icd_info *server, struct icd_info *out)
{
	static const uint32_t absent[] = {
		/* images */
		CL_DEVICE_MAX_READ_IMAGE_ARGS, CL_DEVICE_MAX_WRITE_IMAGE_ARGS,
		CL_DEVICE_IMAGE2D_MAX_WIDTH, CL_DEVICE_IMAGE2D_MAX_HEIGHT,
		CL_DEVICE_IMAGE3D_MAX_WIDTH, CL_DEVICE_IMAGE3D_MAX_HEIGHT,
		CL_DEVICE_IMAGE3D_MAX_DEPTH, CL_DEVICE_MAX_SAMPLERS,
		CL_DEVICE_IMAGE_MAX_BUFFER_SIZE, CL_DEVICE_IMAGE_MAX_ARRAY_SIZE,
		CL_DEVICE_IMAGE_PITCH_ALIGNMENT, CL_DEVICE_IMAGE_BASE_ADDRESS_ALIGNMENT,
		CL_DEVICE_MAX_READ_WRITE_IMAGE_ARGS,
		/* SVM, pipes, device queues, sub-groups */
		CL_DEVICE_SVM_CAPABILITIES, CL_DEVICE_MAX_PIPE_ARGS,
		CL_DEVICE_PIPE_MAX_ACTIVE_RESERVATIONS, CL_DEVICE_PIPE_MAX_PACKET_SIZE,
		CL_DEVICE_PIPE_SUPPORT, CL_DEVICE_DEVICE_ENQUEUE_CAPABILITIES,
		CL_DEVICE_QUEUE_ON_DEVICE_PROPERTIES, CL_DEVICE_QUEUE_ON_DEVICE_PREFERRED_SIZE,
		CL_DEVICE_QUEUE_ON_DEVICE_MAX_SIZE, CL_DEVICE_MAX_ON_DEVICE_QUEUES,
		CL_DEVICE_MAX_ON_DEVICE_EVENTS, CL_DEVICE_MAX_NUM_SUB_GROUPS,
		CL_DEVICE_SUB_GROUP_INDEPENDENT_FORWARD_PROGRESS,
		/* partitions */
		CL_DEVICE_PARTITION_MAX_SUB_DEVICES, CL_DEVICE_PARTITION_AFFINITY_DOMAIN,
		/* memory is not this host's */
		CL_DEVICE_HOST_UNIFIED_MEMORY, CL_DEVICE_IMAGE_SUPPORT,
	};
	static struct answers a; /* large; under the ICD's lock */
	const cl_device_partition_property no_partition = 0;
	const cl_uint one = 1;
	cl_command_queue_properties qp;
	cl_device_exec_capabilities exec = CL_EXEC_KERNEL;
	uint64_t param;
	uint8_t *buf;
	size_t len, i;
	int ret;

	if (icd_info_find(server, CL_DEVICE_NAME) == NULL ||
	    icd_info_find(server, CL_DEVICE_TYPE) == NULL ||
	    icd_info_find(server, CL_DEVICE_VERSION) == NULL) {
		return -EBADMSG;
	}
	memset(&a, 0, sizeof(a));
	for (i = 0; i < server->count; i++) {
		if (icd_device_key_known(server->ents[i].key) && a.count < 512) {
			a.ents[a.count++] = server->ents[i];
		}
	}
	for (i = 0; i < sizeof(absent) / sizeof(absent[0]); i++) {
		ans_zero(&a, server, absent[i]);
	}
	ans_set(&a, CL_DEVICE_REFERENCE_COUNT, &one, sizeof(one));
	ans_set(&a, CL_DEVICE_PARTITION_PROPERTIES, &no_partition, sizeof(no_partition));
	ans_set(&a, CL_DEVICE_PARTITION_TYPE, NULL, 0);
	ans_set(&a, CL_DEVICE_BUILT_IN_KERNELS, "", 1);
	ans_set(&a, CL_DEVICE_EXECUTION_CAPABILITIES, &exec, sizeof(exec));
	qp = icd_info_u64(server, CL_DEVICE_QUEUE_ON_HOST_PROPERTIES, 0) &
	     CL_QUEUE_PROFILING_ENABLE;
	ans_set(&a, CL_DEVICE_QUEUE_ON_HOST_PROPERTIES, &qp, sizeof(qp));
	/* clCompileProgram and clLinkProgram are not offered (doc/backends.md) */
	ans_zero(&a, server, CL_DEVICE_LINKER_AVAILABLE);
	/* what a launch carries besides the values */
	param = icd_info_u64(server, CL_DEVICE_MAX_PARAMETER_SIZE, 1024);
	if (param > RPCI_LAUNCH_PARAMS_MAX - 8 - 16 * ICD_ARGS_MAX - 80) {
		param = RPCI_LAUNCH_PARAMS_MAX - 8 - 16 * ICD_ARGS_MAX - 80;
		ans_set(&a, CL_DEVICE_MAX_PARAMETER_SIZE, &param, sizeof(param));
	}
	if (icd_info_find(server, CL_DEVICE_IL_VERSION) != NULL) {
		ans_set(&a, CL_DEVICE_IL_VERSION, "", 1);
	}
	if (icd_info_find(server, CL_DEVICE_ILS_WITH_VERSION) != NULL) {
		ans_set(&a, CL_DEVICE_ILS_WITH_VERSION, NULL, 0);
	}
	if (icd_info_find(server, CL_DEVICE_BUILT_IN_KERNELS_WITH_VERSION) != NULL) {
		ans_set(&a, CL_DEVICE_BUILT_IN_KERNELS_WITH_VERSION, NULL, 0);
	}
	ans_extensions(&a, server);
	ans_name_versions(&a, server, CL_DEVICE_EXTENSIONS_WITH_VERSION, icd_extension_allowed);
	ans_name_versions(&a, server, CL_DEVICE_OPENCL_C_FEATURES, feature_kept);
	ans_version(&a, server);

	len = sizeof(struct rpci_vgpu_info_hdr) + a.count * 8 + a.used + server->len;
	buf = malloc(len);
	if (buf == NULL) {
		return -ENOMEM;
	}
	len = icd_info_build(a.ents, a.count, buf, len);
	ret = len == 0 ? -ENOMEM : icd_info_parse(buf, len, out);
	free(buf);
	return ret;
}

/* ------------------------------------------------------------ kernels */

void
icd_arg_classify(struct icd_arg *a, const struct icd_info *fninfo, cl_uint index)
{
	static const char *const opaque[] = {
		"sampler_t", "queue_t", "clk_event_t", "reserve_id_t", "event_t",
	};
	cl_kernel_arg_address_qualifier q = (cl_kernel_arg_address_qualifier)icd_info_u64(
		fninfo, RPCI_VGPU_INFO_ARG(index, CL_KERNEL_ARG_ADDRESS_QUALIFIER),
		CL_KERNEL_ARG_ADDRESS_PRIVATE);
	char type[256] = "";
	size_t i;

	icd_info_str(fninfo, RPCI_VGPU_INFO_ARG(index, CL_KERNEL_ARG_TYPE_NAME), type,
		     sizeof(type));
	memset(a, 0, sizeof(*a));
	switch (q) {
	case CL_KERNEL_ARG_ADDRESS_GLOBAL:
	case CL_KERNEL_ARG_ADDRESS_CONSTANT:
		/* images and pipes are global objects, not pointers */
		a->class = strchr(type, '*') != NULL ? ICD_ARG_MEM : ICD_ARG_OPAQUE;
		return;
	case CL_KERNEL_ARG_ADDRESS_LOCAL:
		a->class = ICD_ARG_LOCAL;
		return;
	default:
		break;
	}
	a->class = ICD_ARG_VALUE;
	for (i = 0; i < sizeof(opaque) / sizeof(opaque[0]); i++) {
		if (strcmp(type, opaque[i]) == 0) {
			a->class = ICD_ARG_OPAQUE;
		}
	}
	a->size_known = (uint32_t)icd_info_u64(fninfo, RPCI_VGPU_INFO_ARG(index,
							 RPCI_VGPU_INFO_ARG_SIZE), 0);
}
