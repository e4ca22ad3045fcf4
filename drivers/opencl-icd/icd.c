/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * The rpci OpenCL ICD: a platform "rpci" whose devices are remote devices
 * reached through this host's rpci-proxy (RPCI_PROXY, else the default
 * socket), loaded by the OpenCL ICD loader (ocl-icd) into any OpenCL
 * program. This file holds the platform, the devices, the dispatch table and
 * the entry points the loader calls.
 *
 * Which devices: RPCI_OPENCL_DEVICES="server/device,..." names them; else,
 * in a deployment with a selector, the devices the selector gives this
 * host for the requirements of RPCI_OPENCL_REQUIRE (min-memory=SIZE,
 * backend=NAME, vendor=ID, class=CODE, devices=N; backend opencl by
 * default); else the server and device the proxy's host names. They are
 * found once (opened, their API info block read, closed again: no lease
 * held), attached when a context is created on them and released when the
 * last context on them goes. Devices whose backend speaks no OpenCL (no
 * info block) are not shown.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "icd_api.h"
#include "icd_private.h"

struct icd_state g_icd = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
};

struct _cl_platform_id g_icd_platform = {
	.o = { .dispatch = &g_icd_dispatch, .magic = ICD_MAGIC ^ ICD_PLATFORM,
	       .type = ICD_PLATFORM, .refs = 1 },
};

/* The platform's version: the OpenCL 3.0 API, with 2.x's optional features absent. */
#define ICD_PLATFORM_VERSION "OpenCL 3.0 rpci 0.1"
#define ICD_PLATFORM_VENDOR "rpci"
#define ICD_PLATFORM_EXTENSIONS "cl_khr_icd"
#define ICD_SUFFIX "RPCI"
/* A discovery that found nothing is tried again after this long. */
#define ICD_DISCOVER_RETRY_NS 1000000000ull

static uint64_t g_discover_ns;

uint64_t
icd_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A line on stderr when RPCI_LOG=debug, like librpci's. */
static void __attribute__((format(printf, 1, 2)))
icd_debug(const char *fmt, ...)
{
	const char *v = getenv("RPCI_LOG");
	va_list ap;

	if (v == NULL || strcmp(v, "debug") != 0) {
		return;
	}
	va_start(ap, fmt);
	fprintf(stderr, "rpci.opencl: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
}

cl_int
icd_answer(size_t size, void *value, size_t *size_ret, const void *src, size_t len)
{
	if (value != NULL) {
		if (size < len) {
			return CL_INVALID_VALUE;
		}
		if (len > 0) {
			memcpy(value, src, len);
		}
	}
	if (size_ret != NULL) {
		*size_ret = len;
	}
	return CL_SUCCESS;
}

cl_int
icd_errno_cl(int err)
{
	switch (err) {
	case 0:
		return CL_SUCCESS;
	case -ENOMEM:
	case -ENOSPC:
		return CL_MEM_OBJECT_ALLOCATION_FAILURE;
	case -EINVAL:
		return CL_INVALID_VALUE;
	default:
		/* a lost device or proxy (-ENOTCONN, -ETIMEDOUT), the device's refusal */
		return CL_OUT_OF_RESOURCES;
	}
}

/* ------------------------------------------------------------ devices */

bool
icd_device_valid(cl_device_id d)
{
	return icd_obj_valid(d, ICD_DEVICE) && d >= &g_icd.devices[0] &&
	       d < &g_icd.devices[g_icd.nb_devices];
}

/* Parse RPCI_OPENCL_REQUIRE ("min-memory=1G,backend=opencl,..."); the devices wanted. */
static unsigned int
requirements(struct rpci_requirements *req)
{
	const char *env = getenv("RPCI_OPENCL_REQUIRE");
	char buf[256], *tok, *save = NULL, *end;
	unsigned int count = 1;

	memset(req, 0, sizeof(*req));
	snprintf(req->backend, sizeof(req->backend), "opencl");
	req->module_kinds = 1u << RPCI_MODULE_OPENCL;
	req->no_failover = true; /* queued commands are not replayed */
	snprintf(req->job, sizeof(req->job), "opencl");
	if (env == NULL) {
		return count;
	}
	snprintf(buf, sizeof(buf), "%s", env);
	for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		unsigned long long v;

		if (eq == NULL) {
			fprintf(stderr, "rpci.opencl: RPCI_OPENCL_REQUIRE: '%s' is not key=value\n",
				tok);
			continue;
		}
		*eq++ = '\0';
		if (strcmp(tok, "backend") == 0) {
			snprintf(req->backend, sizeof(req->backend), "%s", eq);
			continue;
		}
		v = strtoull(eq, &end, 0);
		if (strcmp(tok, "min-memory") == 0) {
			v <<= *end == 'K' || *end == 'k' ? 10 : *end == 'M' || *end == 'm' ? 20 :
			      *end == 'G' || *end == 'g' ? 30 : 0;
			req->min_memory = v;
		} else if (strcmp(tok, "vendor") == 0) {
			req->vendor_id = (uint16_t)v;
		} else if (strcmp(tok, "class") == 0) {
			req->class_code = (uint32_t)v;
		} else if (strcmp(tok, "devices") == 0 && v >= 1 && v <= ICD_DEVICES_MAX) {
			count = (unsigned int)v;
		} else {
			fprintf(stderr, "rpci.opencl: RPCI_OPENCL_REQUIRE: '%s' is not known\n",
				tok);
		}
	}
	return count;
}

/* Read a device's API info block and make its answers: 0 or a negative errno. */
static int
device_describe(cl_device_id d, struct rpci_device *rdev)
{
	static uint8_t block[RPCI_API_INFO_MAX];
	size_t size = 0;
	int ret;

	ret = rpci_device_api_info(rdev, block, sizeof(block), &size);
	if (ret < 0) {
		return ret;
	}
	ret = icd_info_parse(block, size, &d->server);
	if (ret == 0) {
		ret = icd_device_answers(&d->server, &d->info);
	}
	if (ret < 0) {
		icd_info_free(&d->server);
		return ret;
	}
	d->type = icd_info_u64(&d->info, CL_DEVICE_TYPE, CL_DEVICE_TYPE_GPU);
	d->max_dims = (cl_uint)icd_info_u64(&d->info, CL_DEVICE_MAX_WORK_ITEM_DIMENSIONS, 3);
	d->max_wg = icd_info_u64(&d->info, CL_DEVICE_MAX_WORK_GROUP_SIZE, 1);
	d->align = (cl_uint)icd_info_u64(&d->info, CL_DEVICE_MEM_BASE_ADDR_ALIGN, 1024) / 8;
	d->max_alloc = icd_info_u64(&d->info, CL_DEVICE_MAX_MEM_ALLOC_SIZE, 0);
	d->local_mem = icd_info_u64(&d->info, CL_DEVICE_LOCAL_MEM_SIZE, 0);
	d->max_param = icd_info_u64(&d->info, CL_DEVICE_MAX_PARAMETER_SIZE, 1024);
	d->nonuniform = icd_info_u64(&d->info, CL_DEVICE_NON_UNIFORM_WORK_GROUP_SUPPORT, 0) != 0;
	if (d->align == 0) {
		d->align = 1;
	}
	if (d->max_dims < 1 || d->max_dims > 3) {
		d->max_dims = 3;
	}
	{
		const struct icd_info_ent *e = icd_info_find(&d->info,
							     CL_DEVICE_MAX_WORK_ITEM_SIZES);
		uint32_t i;

		for (i = 0; i < 3; i++) {
			d->max_wi[i] = d->max_wg;
			if (e != NULL && e->len >= 8 * (i + 1)) {
				memcpy(&d->max_wi[i], e->val + 8 * i, 8);
			}
		}
	}
	return 0;
}

/* A device found: described, listed. */
static void
device_add(struct rpci_device *rdev, const char *server, const char *device, bool selector)
{
	cl_device_id d = &g_icd.devices[g_icd.nb_devices];
	struct rpci_device_info di;
	int ret;

	memset(d, 0, sizeof(*d));
	icd_obj_init(&d->o, ICD_DEVICE);
	d->index = g_icd.nb_devices;
	rpci_device_info(rdev, &di);
	ret = device_describe(d, rdev);
	if (ret < 0) {
		icd_debug("%s/%s: not an OpenCL device (%s)", di.server, di.backend,
			  rpci_last_error());
		icd_obj_kill(&d->o);
		return;
	}
	snprintf(d->open_server, sizeof(d->open_server), "%s", server != NULL ? server : "");
	snprintf(d->open_device, sizeof(d->open_device), "%s", device != NULL ? device : "");
	d->from_selector = selector;
	g_icd.nb_devices++;
	icd_debug("device %u: %s on server %s", d->index, di.device_name, di.server);
}

/* RPCI_OPENCL_DEVICES: server/device names, opened one by one. */
static void
discover_named(const char *list)
{
	char buf[512], *tok, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", list);
	for (tok = strtok_r(buf, ",", &save); tok != NULL && g_icd.nb_devices < ICD_DEVICES_MAX;
	     tok = strtok_r(NULL, ",", &save)) {
		char *slash = strchr(tok, '/');
		struct rpci_device *rdev;

		if (slash != NULL) {
			*slash++ = '\0';
		}
		rdev = rpci_device_open(g_icd.client, tok, slash);
		if (rdev == NULL) {
			fprintf(stderr, "rpci.opencl: %s%s%s: %s\n", tok, slash ? "/" : "",
				slash ? slash : "", rpci_last_error());
			continue;
		}
		device_add(rdev, tok, slash, false);
		rpci_device_close(rdev);
	}
}

/* The devices the selector gives, or without one the server the proxy's host names. */
static void
discover_default(void)
{
	struct rpci_device *devs[ICD_DEVICES_MAX];
	struct rpci_requirements req;
	unsigned int count = requirements(&req), i;
	int ret;

	ret = rpci_device_request(g_icd.client, &req, count, devs);
	if (ret == 0) {
		for (i = 0; i < count; i++) {
			device_add(devs[i], NULL, NULL, true);
			rpci_device_close(devs[i]);
		}
		return;
	}
	if (ret != -ENOTSUP) {
		fprintf(stderr, "rpci.opencl: no device from the selector: %s\n",
			rpci_last_error());
		g_icd.discover_error = -ret;
		return;
	}
	devs[0] = rpci_device_open(g_icd.client, NULL, NULL);
	if (devs[0] == NULL) {
		g_icd.discover_error = errno;
		icd_debug("no device: %s", rpci_last_error());
		return;
	}
	device_add(devs[0], NULL, NULL, false);
	rpci_device_close(devs[0]);
}

/* Find the devices once (again after a while if it found none). Lock held. */
static void
discover(void)
{
	const char *named = getenv("RPCI_OPENCL_DEVICES");
	uint64_t now = icd_now_ns();

	if (g_icd.discovered && (g_icd.nb_devices > 0 || now - g_discover_ns <
				 ICD_DISCOVER_RETRY_NS)) {
		return;
	}
	g_icd.discovered = true;
	g_discover_ns = now;
	g_icd.discover_error = 0;
	if (g_icd.client == NULL) {
		g_icd.client = rpci_client_create(NULL);
		if (g_icd.client == NULL) {
			g_icd.discover_error = errno;
			icd_debug("no rpci proxy: %s", rpci_last_error());
			return;
		}
	}
	if (named != NULL && named[0] != '\0') {
		discover_named(named);
	} else {
		discover_default();
	}
}

/* Open d again and check that it is the device found. */
static struct rpci_device *
device_reopen(cl_device_id d)
{
	static uint8_t block[RPCI_API_INFO_MAX];
	struct rpci_device *rdev = NULL;
	struct rpci_requirements req;
	size_t size = 0;

	if (d->from_selector) {
		requirements(&req);
		if (rpci_device_request(g_icd.client, &req, 1, &rdev) < 0) {
			rdev = NULL;
		}
	} else {
		rdev = rpci_device_open(g_icd.client, d->open_server[0] ? d->open_server : NULL,
					d->open_device[0] ? d->open_device : NULL);
	}
	if (rdev == NULL) {
		return NULL;
	}
	/* the same device, or one its answers cannot tell from it */
	if (rpci_device_api_info(rdev, block, sizeof(block), &size) < 0 ||
	    size != d->server.len || memcmp(block, d->server.blob, size) != 0) {
		fprintf(stderr, "rpci.opencl: device %u: the device given now is not the one "
			"found before\n", d->index);
		rpci_device_close(rdev);
		return NULL;
	}
	return rdev;
}

/* Our clock minus the device's: the read that came back fastest of three. */
static int64_t
clock_offset(struct rpci_device *rdev)
{
	uint64_t best_rtt = UINT64_MAX, t0, t1, dev_ns;
	int64_t off = 0;
	int i;

	for (i = 0; i < 3; i++) {
		t0 = icd_now_ns();
		if (rpci_device_clock(rdev, &dev_ns) < 0) {
			break;
		}
		t1 = icd_now_ns();
		if (t1 - t0 < best_rtt) {
			best_rtt = t1 - t0;
			off = (int64_t)(t0 + (t1 - t0) / 2) - (int64_t)dev_ns;
		}
	}
	return off;
}

int
icd_device_attach(cl_device_id d)
{
	struct rpci_device_stats st;
	struct rpci_device_info di;

	if (d->contexts > 0) {
		if (d->lost) {
			return -ENOTCONN;
		}
		d->contexts++;
		return 0;
	}
	d->rdev = device_reopen(d);
	if (d->rdev == NULL) {
		return -ENODEV;
	}
	rpci_device_info(d->rdev, &di);
	d->mem_bytes = di.memory_bytes;
	d->clock_offset = clock_offset(d->rdev);
	rpci_device_stats(d->rdev, &st);
	d->resets = st.resets;
	d->lost = false;
	d->contexts = 1;
	return 0;
}

bool
icd_device_was_reset(cl_device_id d)
{
	struct rpci_device_stats st;

	if (d->rdev == NULL || d->lost) {
		return false;
	}
	rpci_device_stats(d->rdev, &st);
	if (st.resets == d->resets) {
		return false;
	}
	icd_device_lost(d, "the device was reset (function-level reset): its memory and "
			"programs are gone");
	return true;
}

void
icd_device_detach(cl_device_id d)
{
	if (d->contexts == 0 || --d->contexts > 0) {
		return;
	}
	icd_fail_device(d, CL_OUT_OF_RESOURCES); /* nothing is left, normally */
	rpci_device_close(d->rdev);
	d->rdev = NULL;
	d->lost = false;
}

int
icd_ctx_index(cl_context ctx, cl_device_id d)
{
	cl_uint i;

	for (i = 0; i < ctx->nb_devices; i++) {
		if (ctx->devices[i] == d) {
			return (int)i;
		}
	}
	return -1;
}

/* ------------------------------------------------------------ platform */

cl_int
icd_clGetPlatformIDs(cl_uint num_entries, cl_platform_id *platforms, cl_uint *num_platforms)
{
	if ((num_entries == 0 && platforms != NULL) ||
	    (platforms == NULL && num_platforms == NULL)) {
		return CL_INVALID_VALUE;
	}
	if (platforms != NULL) {
		platforms[0] = &g_icd_platform;
	}
	if (num_platforms != NULL) {
		*num_platforms = 1;
	}
	return CL_SUCCESS;
}

cl_int
icd_clGetPlatformInfo(cl_platform_id platform, cl_platform_info param, size_t size,
		      void *value, size_t *size_ret)
{
	cl_name_version ext = { .version = CL_MAKE_VERSION(1, 0, 0), .name = "cl_khr_icd" };
	cl_version version = CL_MAKE_VERSION(3, 0, 0);
	cl_ulong timer = 0;
	const char *s;

	if (platform != NULL && platform != &g_icd_platform) {
		return CL_INVALID_PLATFORM;
	}
	switch (param) {
	case CL_PLATFORM_PROFILE:
		s = "FULL_PROFILE";
		break;
	case CL_PLATFORM_VERSION:
		s = ICD_PLATFORM_VERSION;
		break;
	case CL_PLATFORM_NAME:
		s = ICD_PLATFORM_NAME;
		break;
	case CL_PLATFORM_VENDOR:
		s = ICD_PLATFORM_VENDOR;
		break;
	case CL_PLATFORM_EXTENSIONS:
		s = ICD_PLATFORM_EXTENSIONS;
		break;
	case CL_PLATFORM_ICD_SUFFIX_KHR:
		s = ICD_SUFFIX;
		break;
	case CL_PLATFORM_HOST_TIMER_RESOLUTION:
		/* 0: clGetDeviceAndHostTimer is not offered */
		return icd_answer(size, value, size_ret, &timer, sizeof(timer));
	case CL_PLATFORM_NUMERIC_VERSION:
		return icd_answer(size, value, size_ret, &version, sizeof(version));
	case CL_PLATFORM_EXTENSIONS_WITH_VERSION:
		return icd_answer(size, value, size_ret, &ext, sizeof(ext));
	default:
		return CL_INVALID_VALUE;
	}
	return icd_answer(size, value, size_ret, s, strlen(s) + 1);
}

cl_int
icd_clGetDeviceIDs(cl_platform_id platform, cl_device_type type, cl_uint num_entries,
		   cl_device_id *devices, cl_uint *num_devices)
{
	cl_uint i, n = 0;

	if (platform != NULL && platform != &g_icd_platform) {
		return CL_INVALID_PLATFORM;
	}
	if ((num_entries == 0 && devices != NULL) || (devices == NULL && num_devices == NULL)) {
		return CL_INVALID_VALUE;
	}
	if (type != CL_DEVICE_TYPE_ALL && type != CL_DEVICE_TYPE_DEFAULT &&
	    (type & ~(cl_device_type)(CL_DEVICE_TYPE_CPU | CL_DEVICE_TYPE_GPU |
				      CL_DEVICE_TYPE_ACCELERATOR | CL_DEVICE_TYPE_CUSTOM |
				      CL_DEVICE_TYPE_DEFAULT)) != 0) {
		return CL_INVALID_DEVICE_TYPE;
	}
	icd_lock();
	discover();
	for (i = 0; i < g_icd.nb_devices; i++) {
		cl_device_id d = &g_icd.devices[i];
		bool match = type == CL_DEVICE_TYPE_ALL || (d->type & type) != 0 ||
			     (type == CL_DEVICE_TYPE_DEFAULT && i == 0);

		if (!match) {
			continue;
		}
		if (devices != NULL && n < num_entries) {
			devices[n] = d;
		}
		n++;
	}
	icd_unlock();
	if (num_devices != NULL) {
		*num_devices = n;
	}
	return n == 0 ? CL_DEVICE_NOT_FOUND : CL_SUCCESS;
}

cl_int
icd_device_info(cl_device_id d, cl_device_info param, size_t size, void *value,
		size_t *size_ret)
{
	const struct icd_info_ent *e;
	cl_platform_id platform = &g_icd_platform;
	cl_device_id none = NULL;
	cl_bool available;

	switch (param) {
	case CL_DEVICE_PLATFORM:
		return icd_answer(size, value, size_ret, &platform, sizeof(platform));
	case CL_DEVICE_PARENT_DEVICE:
		return icd_answer(size, value, size_ret, &none, sizeof(none));
	case CL_DEVICE_AVAILABLE:
		available = !d->lost;
		return icd_answer(size, value, size_ret, &available, sizeof(available));
	default:
		break;
	}
	e = icd_device_key_known(param) ? icd_info_find(&d->info, param) : NULL;
	if (e == NULL) {
		return CL_INVALID_VALUE;
	}
	return icd_answer(size, value, size_ret, e->val, e->len);
}

cl_int
icd_clGetDeviceInfo(cl_device_id device, cl_device_info param, size_t size, void *value,
		    size_t *size_ret)
{
	cl_int err;

	icd_lock();
	err = icd_device_valid(device) ? icd_device_info(device, param, size, value, size_ret) :
		CL_INVALID_DEVICE;
	icd_unlock();
	return err;
}

cl_int
icd_clCreateSubDevices(cl_device_id in_device, const cl_device_partition_property *props,
		       cl_uint num_devices, cl_device_id *out_devices, cl_uint *num_ret)
{
	(void)props;
	(void)num_devices;
	(void)out_devices;
	(void)num_ret;
	/* CL_DEVICE_PARTITION_PROPERTIES lists none: every partition is unsupported */
	return icd_device_valid(in_device) ? CL_INVALID_VALUE : CL_INVALID_DEVICE;
}

cl_int
icd_clRetainDevice(cl_device_id device)
{
	return icd_device_valid(device) ? CL_SUCCESS : CL_INVALID_DEVICE; /* root devices */
}

cl_int
icd_clReleaseDevice(cl_device_id device)
{
	return icd_device_valid(device) ? CL_SUCCESS : CL_INVALID_DEVICE;
}

cl_int
icd_clUnloadCompiler(void)
{
	return CL_SUCCESS; /* a hint: the compilers are the servers' */
}

cl_int
icd_clUnloadPlatformCompiler(cl_platform_id platform)
{
	return platform == &g_icd_platform ? CL_SUCCESS : CL_INVALID_PLATFORM;
}

cl_int
icd_clGetDeviceAndHostTimer(cl_device_id device, cl_ulong *device_ts, cl_ulong *host_ts)
{
	(void)device_ts;
	(void)host_ts;
	/* CL_PLATFORM_HOST_TIMER_RESOLUTION is 0 */
	return icd_device_valid(device) ? CL_INVALID_OPERATION : CL_INVALID_DEVICE;
}

cl_int
icd_clGetHostTimer(cl_device_id device, cl_ulong *host_ts)
{
	(void)host_ts;
	return icd_device_valid(device) ? CL_INVALID_OPERATION : CL_INVALID_DEVICE;
}

/* ------------------------------------------------------------ the loader */

const struct _cl_icd_dispatch g_icd_dispatch = {
#define ICD_ENTRY(name) .name = icd_##name,
	ICD_API_LIST(ICD_ENTRY)
#undef ICD_ENTRY
};

void *
icd_clGetExtensionFunctionAddress(const char *name)
{
	if (name != NULL && strcmp(name, "clIcdGetPlatformIDsKHR") == 0) {
		return (void *)clIcdGetPlatformIDsKHR;
	}
	if (name != NULL && strcmp(name, "clGetPlatformInfo") == 0) {
		return (void *)clGetPlatformInfo;
	}
	return NULL;
}

void *
icd_clGetExtensionFunctionAddressForPlatform(cl_platform_id platform, const char *name)
{
	if (platform != &g_icd_platform) {
		return NULL;
	}
	return icd_clGetExtensionFunctionAddress(name);
}

/* What the loader calls (exported: version.map). */
CL_API_ENTRY cl_int CL_API_CALL
clIcdGetPlatformIDsKHR(cl_uint num_entries, cl_platform_id *platforms, cl_uint *num_platforms)
{
	if ((num_entries == 0 && platforms != NULL) ||
	    (platforms == NULL && num_platforms == NULL)) {
		return CL_INVALID_VALUE;
	}
	return icd_clGetPlatformIDs(num_entries, platforms, num_platforms);
}

/* ocl-icd asks an ICD for its platform's suffix through this one by name. */
CL_API_ENTRY cl_int CL_API_CALL
clGetPlatformInfo(cl_platform_id platform, cl_platform_info param, size_t size, void *value,
		  size_t *size_ret)
{
	return icd_clGetPlatformInfo(platform, param, size, value, size_ret);
}

CL_API_ENTRY void *CL_API_CALL
clGetExtensionFunctionAddress(const char *name)
{
	return icd_clGetExtensionFunctionAddress(name);
}

CL_API_ENTRY void *CL_API_CALL
clGetExtensionFunctionAddressForPlatform(cl_platform_id platform, const char *name)
{
	return icd_clGetExtensionFunctionAddressForPlatform(platform, name);
}
