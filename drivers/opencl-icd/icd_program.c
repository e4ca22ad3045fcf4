/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Programs and kernels of the rpci OpenCL ICD. A program is built on each
 * device's server (its source or a binary that server's platform gave,
 * with the application's options); the real build log comes back, and what
 * the server's OpenCL says of the program (kernel names, binary sizes) is
 * read once after the build. A kernel is a function of that build, looked
 * up once per name and program (kernels of the same name share it: the
 * server keeps a bounded table of functions), with what the server says of
 * it read once (its work-group info, and each argument's qualifiers, type
 * and, for a value, its size). Arguments are kept here and marshalled into
 * each launch: buffers become device addresses, values of any size travel
 * in the launch's parameters, local memory is a size.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "icd_api.h"
#include "icd_private.h"
#include "rpci_vgpu_hw.h"

#define INFO_FIRST_SIZE 16384u

void
icd_program_retain(cl_program p)
{
	p->o.refs++;
}

static void
fns_free(struct icd_build *b)
{
	while (b->fns != NULL) {
		struct icd_fn *f = b->fns;

		b->fns = f->next;
		icd_info_free(&f->info);
		free(f->name);
		free(f);
	}
}

/* Forget a device's build (its module unloaded if the device is still there). */
static void
build_clear(cl_program p, int i)
{
	struct icd_build *b = &p->builds[i];
	cl_device_id d = p->ctx->devices[i];

	fns_free(b);
	if (b->module != NULL && d->rdev != NULL && !d->lost) {
		rpci_module_unload(b->module);
	}
	b->module = NULL;
	icd_info_free(&b->minfo);
	free(b->log);
	free(b->options);
	b->log = NULL;
	b->options = NULL;
	b->status = CL_BUILD_NONE;
	b->bin_type = CL_PROGRAM_BINARY_TYPE_NONE;
	if (!p->from_binary) {
		free(b->binary);
		b->binary = NULL;
		b->binary_len = 0;
	}
}

void
icd_program_release(cl_program p)
{
	cl_uint i;

	if (--p->o.refs > 0) {
		return;
	}
	for (i = 0; i < p->ctx->nb_devices; i++) {
		build_clear(p, (int)i);
		free(p->builds[i].binary);
	}
	free(p->source);
	free(p->kernel_names);
	icd_context_release(p->ctx);
	icd_obj_kill(&p->o);
	free(p);
}

static cl_program
program_new(cl_context ctx, cl_int *err)
{
	cl_program p = calloc(1, sizeof(*p));
	cl_uint i;

	if (p == NULL) {
		*err = CL_OUT_OF_HOST_MEMORY;
		return NULL;
	}
	icd_obj_init(&p->o, ICD_PROGRAM);
	p->ctx = ctx;
	icd_context_retain(ctx);
	for (i = 0; i < ICD_DEVICES_MAX; i++) {
		p->builds[i].status = CL_BUILD_NONE;
	}
	*err = CL_SUCCESS;
	return p;
}

cl_program
icd_clCreateProgramWithSource(cl_context ctx, cl_uint count, const char **strings,
			      const size_t *lengths, cl_int *errcode_ret)
{
	cl_program p = NULL;
	size_t total = 0, off = 0, n;
	cl_int err;
	cl_uint i;

	icd_lock();
	if (!icd_obj_valid(ctx, ICD_CONTEXT)) {
		err = CL_INVALID_CONTEXT;
		goto out;
	}
	if (count == 0 || strings == NULL) {
		err = CL_INVALID_VALUE;
		goto out;
	}
	for (i = 0; i < count; i++) {
		if (strings[i] == NULL) {
			err = CL_INVALID_VALUE;
			goto out;
		}
		total += lengths != NULL && lengths[i] != 0 ? lengths[i] : strlen(strings[i]);
	}
	p = program_new(ctx, &err);
	if (p == NULL) {
		goto out;
	}
	p->source = malloc(total + 1);
	if (p->source == NULL) {
		icd_program_release(p);
		p = NULL;
		err = CL_OUT_OF_HOST_MEMORY;
		goto out;
	}
	for (i = 0; i < count; i++) {
		n = lengths != NULL && lengths[i] != 0 ? lengths[i] : strlen(strings[i]);
		memcpy(p->source + off, strings[i], n);
		off += n;
	}
	p->source[total] = '\0';
	p->source_len = total;
out:
	icd_unlock();
	if (errcode_ret != NULL) {
		*errcode_ret = err;
	}
	return p;
}

cl_program
icd_clCreateProgramWithBinary(cl_context ctx, cl_uint num_devices, const cl_device_id *devices,
			      const size_t *lengths, const unsigned char **binaries,
			      cl_int *binary_status, cl_int *errcode_ret)
{
	cl_program p = NULL;
	cl_int err = CL_SUCCESS;
	cl_uint i;
	int idx;

	icd_lock();
	if (!icd_obj_valid(ctx, ICD_CONTEXT)) {
		err = CL_INVALID_CONTEXT;
		goto out;
	}
	if (num_devices == 0 || devices == NULL || lengths == NULL || binaries == NULL) {
		err = CL_INVALID_VALUE;
		goto out;
	}
	for (i = 0; i < num_devices && err == CL_SUCCESS; i++) {
		if (!icd_device_valid(devices[i]) || icd_ctx_index(ctx, devices[i]) < 0) {
			err = CL_INVALID_DEVICE;
		} else if (lengths[i] == 0 || binaries[i] == NULL) {
			err = CL_INVALID_VALUE;
			if (binary_status != NULL) {
				binary_status[i] = CL_INVALID_VALUE;
			}
		}
	}
	if (err != CL_SUCCESS) {
		goto out;
	}
	p = program_new(ctx, &err);
	if (p == NULL) {
		goto out;
	}
	p->from_binary = true;
	for (i = 0; i < num_devices; i++) {
		struct icd_build *b;

		idx = icd_ctx_index(ctx, devices[i]);
		b = &p->builds[idx];
		b->binary = malloc(lengths[i]);
		if (b->binary == NULL) {
			icd_program_release(p);
			p = NULL;
			err = CL_OUT_OF_HOST_MEMORY;
			goto out;
		}
		memcpy(b->binary, binaries[i], lengths[i]);
		b->binary_len = lengths[i];
		/* the server checks it when it builds (CL_INVALID_BINARY then) */
		b->bin_type = CL_PROGRAM_BINARY_TYPE_EXECUTABLE;
		if (binary_status != NULL) {
			binary_status[i] = CL_SUCCESS;
		}
	}
out:
	icd_unlock();
	if (errcode_ret != NULL) {
		*errcode_ret = err;
	}
	return p;
}

cl_program
icd_clCreateProgramWithBuiltInKernels(cl_context ctx, cl_uint num_devices,
				      const cl_device_id *devices, const char *names,
				      cl_int *errcode_ret)
{
	cl_int err = CL_INVALID_VALUE; /* CL_DEVICE_BUILT_IN_KERNELS lists none */
	cl_uint i;

	icd_lock();
	if (!icd_obj_valid(ctx, ICD_CONTEXT)) {
		err = CL_INVALID_CONTEXT;
	} else if (num_devices == 0 || devices == NULL || names == NULL) {
		err = CL_INVALID_VALUE;
	} else {
		for (i = 0; i < num_devices; i++) {
			if (!icd_device_valid(devices[i]) || icd_ctx_index(ctx, devices[i]) < 0) {
				err = CL_INVALID_DEVICE;
			}
		}
	}
	icd_unlock();
	if (errcode_ret != NULL) {
		*errcode_ret = err;
	}
	return NULL;
}

cl_int
icd_clRetainProgram(cl_program p)
{
	return icd_obj_ref(p, ICD_PROGRAM, CL_INVALID_PROGRAM, true);
}

cl_int
icd_clReleaseProgram(cl_program p)
{
	return icd_obj_ref(p, ICD_PROGRAM, CL_INVALID_PROGRAM, false);
}

/* An info block of a module or a function, whatever its size. */
static int
read_info(struct rpci_module *m, struct rpci_function *fn, uint32_t key, uint8_t **out,
	  size_t *len)
{
	size_t cap = INFO_FIRST_SIZE, size = 0;
	uint8_t *buf;
	int ret, tries;

	for (tries = 0; tries < 2; tries++) {
		buf = malloc(cap);
		if (buf == NULL) {
			return -ENOMEM;
		}
		ret = m != NULL ? rpci_module_info(m, key, buf, cap, &size) :
			rpci_function_info(fn, key, buf, cap, &size);
		if (ret == 0) {
			*out = buf;
			*len = size;
			return 0;
		}
		free(buf);
		if (ret != -ENOSPC || size <= cap) {
			return ret;
		}
		cap = size;
	}
	return -ENOSPC;
}

/* The kernel names of the build, kept on the program (the first build's). */
static void
program_names(cl_program p, const struct icd_build *b)
{
	char names[8192];

	if (icd_info_str(&b->minfo, CL_PROGRAM_KERNEL_NAMES, names, sizeof(names))) {
		free(p->kernel_names);
		p->kernel_names = strdup(names);
	}
	p->num_kernels = icd_info_u64(&b->minfo, CL_PROGRAM_NUM_KERNELS, 0);
}

/* Build for device index i. CL_SUCCESS or the server's error. */
static cl_int
build_one(cl_program p, int i, const char *options)
{
	static char log[16384];
	struct icd_build *b = &p->builds[i];
	cl_device_id d = p->ctx->devices[i];
	uint8_t *blob = NULL;
	size_t blob_len = 0;
	int32_t api = 0;
	int ret;

	build_clear(p, i);
	if (d->lost || d->rdev == NULL) {
		return CL_OUT_OF_RESOURCES;
	}
	b->options = strdup(options != NULL ? options : "");
	b->status = CL_BUILD_IN_PROGRESS;
	if (p->from_binary && b->binary == NULL) {
		b->status = CL_BUILD_ERROR;
		b->log = strdup("no binary for this device");
		return CL_INVALID_BINARY;
	}
	ret = rpci_module_build(d->rdev, p->from_binary ? RPCI_MODULE_OPENCL_BINARY :
				RPCI_MODULE_OPENCL, p->from_binary ? (const void *)b->binary :
				p->source, p->from_binary ? b->binary_len : p->source_len,
				b->options, &b->module, log, sizeof(log), &api);
	b->log = strdup(log);
	if (ret < 0) {
		b->module = NULL;
		b->status = CL_BUILD_ERROR;
		if (ret == -ENOTCONN) {
			icd_device_lost(d, rpci_last_error());
			return CL_OUT_OF_RESOURCES;
		}
		/* the server's own code: CL_BUILD_PROGRAM_FAILURE, CL_INVALID_BUILD_OPTIONS... */
		return api < 0 ? api : CL_BUILD_PROGRAM_FAILURE;
	}
	b->status = CL_BUILD_SUCCESS;
	b->bin_type = CL_PROGRAM_BINARY_TYPE_EXECUTABLE;
	ret = read_info(b->module, NULL, 0, &blob, &blob_len);
	if (ret == 0) {
		ret = icd_info_parse(blob, blob_len, &b->minfo);
		free(blob);
	}
	if (ret < 0) {
		return ret == -ENOTCONN ? CL_OUT_OF_RESOURCES : CL_OUT_OF_HOST_MEMORY;
	}
	program_names(p, b);
	return CL_SUCCESS;
}

cl_int
icd_clBuildProgram(cl_program p, cl_uint num_devices, const cl_device_id *devices,
		   const char *options, void (CL_CALLBACK *notify)(cl_program, void *),
		   void *data)
{
	cl_int err = CL_SUCCESS, e;
	cl_uint i;
	int idx;

	icd_lock();
	if (!icd_obj_valid(p, ICD_PROGRAM)) {
		err = CL_INVALID_PROGRAM;
		goto out;
	}
	if ((num_devices == 0) != (devices == NULL) || (notify == NULL && data != NULL)) {
		err = CL_INVALID_VALUE;
		goto out;
	}
	for (i = 0; i < num_devices; i++) {
		if (!icd_device_valid(devices[i]) || icd_ctx_index(p->ctx, devices[i]) < 0) {
			err = CL_INVALID_DEVICE;
			goto out;
		}
	}
	if (p->kernels > 0) {
		err = CL_INVALID_OPERATION;
		goto out;
	}
	for (i = 0; i < (num_devices ? num_devices : p->ctx->nb_devices); i++) {
		idx = num_devices ? icd_ctx_index(p->ctx, devices[i]) : (int)i;
		e = build_one(p, idx, options);
		if (err == CL_SUCCESS) {
			err = e;
		}
	}
	if (notify != NULL) {
		icd_queue_obj_cb((void (*)(void))notify, p, data, true);
	}
out:
	icd_unlock();
	return err;
}

cl_int
icd_clCompileProgram(cl_program p, cl_uint num_devices, const cl_device_id *devices,
		     const char *options, cl_uint num_headers, const cl_program *headers,
		     const char **header_names, void (CL_CALLBACK *notify)(cl_program, void *),
		     void *data)
{
	(void)num_devices;
	(void)devices;
	(void)options;
	(void)num_headers;
	(void)headers;
	(void)header_names;
	(void)notify;
	(void)data;
	/* Separate compilation is not offered (CL_DEVICE_LINKER_AVAILABLE is false):
	 * clBuildProgram builds from source in one step. */
	return icd_obj_valid(p, ICD_PROGRAM) ? CL_INVALID_OPERATION : CL_INVALID_PROGRAM;
}

cl_program
icd_clLinkProgram(cl_context ctx, cl_uint num_devices, const cl_device_id *devices,
		  const char *options, cl_uint num_programs, const cl_program *programs,
		  void (CL_CALLBACK *notify)(cl_program, void *), void *data, cl_int *errcode_ret)
{
	(void)num_devices;
	(void)devices;
	(void)options;
	(void)num_programs;
	(void)programs;
	(void)notify;
	(void)data;
	if (errcode_ret != NULL) {
		*errcode_ret = icd_obj_valid(ctx, ICD_CONTEXT) ? CL_LINKER_NOT_AVAILABLE :
			CL_INVALID_CONTEXT;
	}
	return NULL;
}

/* The binary of device index i (fetched from the server once). */
static cl_int
program_binary(cl_program p, int i)
{
	struct icd_build *b = &p->builds[i];
	int ret;

	if (b->binary != NULL || b->module == NULL) {
		return CL_SUCCESS;
	}
	ret = read_info(b->module, NULL, RPCI_INFO_KEY_BINARY, &b->binary, &b->binary_len);
	if (ret == -ENOTSUP) {
		return CL_SUCCESS; /* the server's platform gives none: size 0 */
	}
	return ret < 0 ? icd_errno_cl(ret) : CL_SUCCESS;
}

/* The first device with a built program, or -1. */
static int
program_built(cl_program p)
{
	cl_uint i;

	for (i = 0; i < p->ctx->nb_devices; i++) {
		if (p->builds[i].status == CL_BUILD_SUCCESS) {
			return (int)i;
		}
	}
	return -1;
}

static cl_int
program_info(cl_program p, cl_program_info param, size_t size, void *value, size_t *size_ret)
{
	size_t sizes[ICD_DEVICES_MAX];
	cl_bool no = CL_FALSE;
	cl_uint i, v;
	cl_int err;

	switch (param) {
	case CL_PROGRAM_REFERENCE_COUNT:
		v = p->o.refs;
		return icd_answer(size, value, size_ret, &v, sizeof(v));
	case CL_PROGRAM_CONTEXT:
		return icd_answer(size, value, size_ret, &p->ctx, sizeof(p->ctx));
	case CL_PROGRAM_NUM_DEVICES:
		return icd_answer(size, value, size_ret, &p->ctx->nb_devices, sizeof(cl_uint));
	case CL_PROGRAM_DEVICES:
		return icd_answer(size, value, size_ret, p->ctx->devices,
				  p->ctx->nb_devices * sizeof(cl_device_id));
	case CL_PROGRAM_SOURCE:
		return icd_answer(size, value, size_ret, p->source != NULL ? p->source : "",
				  p->source != NULL ? p->source_len + 1 : 1);
	case CL_PROGRAM_IL:
		return icd_answer(size, value, size_ret, NULL, 0);
	case CL_PROGRAM_SCOPE_GLOBAL_CTORS_PRESENT:
	case CL_PROGRAM_SCOPE_GLOBAL_DTORS_PRESENT:
		return icd_answer(size, value, size_ret, &no, sizeof(no));
	case CL_PROGRAM_BINARY_SIZES:
	case CL_PROGRAM_BINARIES:
		for (i = 0; i < p->ctx->nb_devices; i++) {
			err = program_binary(p, (int)i);
			if (err != CL_SUCCESS) {
				return err;
			}
			sizes[i] = p->builds[i].binary_len;
		}
		if (param == CL_PROGRAM_BINARY_SIZES) {
			return icd_answer(size, value, size_ret, sizes,
					  p->ctx->nb_devices * sizeof(size_t));
		}
		/* an array of the caller's pointers, each filled (NULL: skipped) */
		if (value != NULL) {
			if (size < p->ctx->nb_devices * sizeof(unsigned char *)) {
				return CL_INVALID_VALUE;
			}
			for (i = 0; i < p->ctx->nb_devices; i++) {
				unsigned char *dst = ((unsigned char **)value)[i];

				if (dst != NULL && sizes[i] > 0) {
					memcpy(dst, p->builds[i].binary, sizes[i]);
				}
			}
		}
		if (size_ret != NULL) {
			*size_ret = p->ctx->nb_devices * sizeof(unsigned char *);
		}
		return CL_SUCCESS;
	case CL_PROGRAM_NUM_KERNELS:
		if (program_built(p) < 0) {
			return CL_INVALID_PROGRAM_EXECUTABLE;
		}
		return icd_answer(size, value, size_ret, &p->num_kernels, sizeof(size_t));
	case CL_PROGRAM_KERNEL_NAMES:
		if (program_built(p) < 0) {
			return CL_INVALID_PROGRAM_EXECUTABLE;
		}
		return icd_answer(size, value, size_ret, p->kernel_names ? p->kernel_names : "",
				  p->kernel_names ? strlen(p->kernel_names) + 1 : 1);
	default:
		return CL_INVALID_VALUE;
	}
}

cl_int
icd_clGetProgramInfo(cl_program p, cl_program_info param, size_t size, void *value,
		     size_t *size_ret)
{
	cl_int err;

	icd_lock();
	err = icd_obj_valid(p, ICD_PROGRAM) ? program_info(p, param, size, value, size_ret) :
		CL_INVALID_PROGRAM;
	icd_unlock();
	return err;
}

cl_int
icd_clGetProgramBuildInfo(cl_program p, cl_device_id dev, cl_program_build_info param,
			  size_t size, void *value, size_t *size_ret)
{
	const struct icd_build *b;
	size_t gsize;
	cl_int err;
	int i;

	icd_lock();
	if (!icd_obj_valid(p, ICD_PROGRAM)) {
		err = CL_INVALID_PROGRAM;
		goto out;
	}
	i = icd_device_valid(dev) ? icd_ctx_index(p->ctx, dev) : -1;
	if (i < 0) {
		err = CL_INVALID_DEVICE;
		goto out;
	}
	b = &p->builds[i];
	switch (param) {
	case CL_PROGRAM_BUILD_STATUS:
		err = icd_answer(size, value, size_ret, &b->status, sizeof(b->status));
		break;
	case CL_PROGRAM_BUILD_OPTIONS:
		err = icd_answer(size, value, size_ret, b->options ? b->options : "",
				 b->options ? strlen(b->options) + 1 : 1);
		break;
	case CL_PROGRAM_BUILD_LOG:
		err = icd_answer(size, value, size_ret, b->log ? b->log : "",
				 b->log ? strlen(b->log) + 1 : 1);
		break;
	case CL_PROGRAM_BINARY_TYPE:
		err = icd_answer(size, value, size_ret, &b->bin_type, sizeof(b->bin_type));
		break;
	case CL_PROGRAM_BUILD_GLOBAL_VARIABLE_TOTAL_SIZE:
		gsize = icd_info_u64(&b->minfo, CL_PROGRAM_BUILD_GLOBAL_VARIABLE_TOTAL_SIZE, 0);
		err = icd_answer(size, value, size_ret, &gsize, sizeof(gsize));
		break;
	default:
		err = CL_INVALID_VALUE;
		break;
	}
out:
	icd_unlock();
	return err;
}

/* ------------------------------------------------------------ kernels */

/* The function name of build i, looked up and described once. */
static cl_int
fn_get(cl_program p, int i, const char *name, struct icd_fn **out)
{
	struct icd_build *b = &p->builds[i];
	struct icd_fn *f;
	uint8_t *blob = NULL;
	size_t len = 0;
	int ret;

	for (f = b->fns; f != NULL; f = f->next) {
		if (strcmp(f->name, name) == 0) {
			*out = f;
			return CL_SUCCESS;
		}
	}
	f = calloc(1, sizeof(*f));
	if (f == NULL || (f->name = strdup(name)) == NULL) {
		free(f);
		return CL_OUT_OF_HOST_MEMORY;
	}
	ret = rpci_function_get(b->module, name, &f->fn);
	if (ret == 0) {
		ret = read_info(NULL, f->fn, 0, &blob, &len);
	}
	if (ret == 0) {
		ret = icd_info_parse(blob, len, &f->info);
		free(blob);
	}
	if (ret < 0) {
		free(f->name);
		free(f);
		if (ret == -ENOTCONN) {
			icd_device_lost(p->ctx->devices[i], rpci_last_error());
		}
		return ret == -ENOENT || ret == -EINVAL ? CL_INVALID_KERNEL_NAME :
			ret == -ENOMEM ? CL_OUT_OF_HOST_MEMORY : CL_OUT_OF_RESOURCES;
	}
	f->next = b->fns;
	b->fns = f;
	*out = f;
	return CL_SUCCESS;
}

/* Whether name is one of the program's kernels (';'-separated names). */
static bool
kernel_named(const cl_program p, const char *name)
{
	const char *s = p->kernel_names;
	size_t n = strlen(name);

	while (s != NULL && *s != '\0') {
		const char *end = strchr(s, ';');
		size_t len = end != NULL ? (size_t)(end - s) : strlen(s);

		if (len == n && strncmp(s, name, n) == 0) {
			return true;
		}
		s = end != NULL ? end + 1 : NULL;
	}
	return false;
}

static cl_kernel
kernel_new(cl_program p, const char *name, cl_int *err)
{
	const struct icd_info *info = NULL;
	cl_kernel k;
	cl_uint i;

	if (!kernel_named(p, name)) {
		*err = CL_INVALID_KERNEL_NAME;
		return NULL;
	}
	k = calloc(1, sizeof(*k));
	if (k == NULL || (k->name = strdup(name)) == NULL) {
		free(k);
		*err = CL_OUT_OF_HOST_MEMORY;
		return NULL;
	}
	*err = CL_SUCCESS;
	for (i = 0; i < p->ctx->nb_devices && *err == CL_SUCCESS; i++) {
		if (p->builds[i].status != CL_BUILD_SUCCESS) {
			continue;
		}
		*err = fn_get(p, (int)i, name, &k->fns[i]);
		if (*err == CL_SUCCESS && info == NULL) {
			info = &k->fns[i]->info;
		}
	}
	if (*err == CL_SUCCESS) {
		k->nb_args = info != NULL ? (cl_uint)icd_info_u64(info, CL_KERNEL_NUM_ARGS, 0) : 0;
		k->args = calloc(k->nb_args ? k->nb_args : 1, sizeof(*k->args));
		if (k->args == NULL) {
			*err = CL_OUT_OF_HOST_MEMORY;
		}
	}
	if (*err != CL_SUCCESS) {
		free(k->name);
		free(k);
		return NULL;
	}
	for (i = 0; i < k->nb_args; i++) {
		icd_arg_classify(&k->args[i], info, i);
	}
	icd_obj_init(&k->o, ICD_KERNEL);
	k->prog = p;
	icd_program_retain(p);
	p->kernels++;
	return k;
}

cl_kernel
icd_clCreateKernel(cl_program p, const char *name, cl_int *errcode_ret)
{
	cl_kernel k = NULL;
	cl_int err;

	icd_lock();
	if (!icd_obj_valid(p, ICD_PROGRAM)) {
		err = CL_INVALID_PROGRAM;
	} else if (name == NULL) {
		err = CL_INVALID_VALUE;
	} else if (program_built(p) < 0) {
		err = CL_INVALID_PROGRAM_EXECUTABLE;
	} else {
		k = kernel_new(p, name, &err);
	}
	icd_unlock();
	if (errcode_ret != NULL) {
		*errcode_ret = err;
	}
	return k;
}

cl_int
icd_clCreateKernelsInProgram(cl_program p, cl_uint num_kernels, cl_kernel *kernels,
			     cl_uint *num_ret)
{
	char names[8192], *tok, *save = NULL;
	cl_uint n = 0, i;
	cl_int err = CL_SUCCESS;

	icd_lock();
	if (!icd_obj_valid(p, ICD_PROGRAM)) {
		err = CL_INVALID_PROGRAM;
		goto out;
	}
	if (program_built(p) < 0) {
		err = CL_INVALID_PROGRAM_EXECUTABLE;
		goto out;
	}
	if (kernels != NULL && num_kernels < p->num_kernels) {
		err = CL_INVALID_VALUE;
		goto out;
	}
	snprintf(names, sizeof(names), "%s", p->kernel_names ? p->kernel_names : "");
	for (tok = strtok_r(names, ";", &save); tok != NULL; tok = strtok_r(NULL, ";", &save)) {
		if (kernels != NULL) {
			kernels[n] = kernel_new(p, tok, &err);
			if (kernels[n] == NULL) {
				for (i = 0; i < n; i++) {
					icd_kernel_release(kernels[i]);
				}
				goto out;
			}
		}
		n++;
	}
	if (num_ret != NULL) {
		*num_ret = n;
	}
out:
	icd_unlock();
	return err;
}

static void
args_free(cl_kernel k)
{
	cl_uint i;

	for (i = 0; i < k->nb_args; i++) {
		free(k->args[i].value);
	}
	free(k->args);
}

void
icd_kernel_release(cl_kernel k)
{
	if (--k->o.refs > 0) {
		return;
	}
	args_free(k);
	k->prog->kernels--;
	icd_program_release(k->prog);
	free(k->name);
	icd_obj_kill(&k->o);
	free(k);
}

cl_int
icd_clRetainKernel(cl_kernel k)
{
	return icd_obj_ref(k, ICD_KERNEL, CL_INVALID_KERNEL, true);
}

cl_int
icd_clReleaseKernel(cl_kernel k)
{
	return icd_obj_ref(k, ICD_KERNEL, CL_INVALID_KERNEL, false);
}

cl_kernel
icd_clCloneKernel(cl_kernel src, cl_int *errcode_ret)
{
	cl_kernel k = NULL;
	cl_int err = CL_SUCCESS;
	cl_uint i;

	icd_lock();
	if (!icd_obj_valid(src, ICD_KERNEL)) {
		err = CL_INVALID_KERNEL;
		goto out;
	}
	k = kernel_new(src->prog, src->name, &err);
	for (i = 0; k != NULL && i < k->nb_args && err == CL_SUCCESS; i++) {
		struct icd_arg *a = &k->args[i];

		*a = src->args[i];
		a->value = NULL;
		if (src->args[i].value != NULL) {
			a->value = malloc(src->args[i].size);
			if (a->value == NULL) {
				err = CL_OUT_OF_HOST_MEMORY;
			} else {
				memcpy(a->value, src->args[i].value, src->args[i].size);
			}
		}
	}
	if (err != CL_SUCCESS && k != NULL) {
		icd_kernel_release(k);
		k = NULL;
	}
out:
	icd_unlock();
	if (errcode_ret != NULL) {
		*errcode_ret = err;
	}
	return k;
}

cl_int
icd_arg_set(cl_kernel k, cl_uint index, size_t size, const void *value)
{
	struct icd_arg *a;
	cl_mem m;
	uint8_t *copy;

	if (index >= k->nb_args) {
		return CL_INVALID_ARG_INDEX;
	}
	a = &k->args[index];
	switch (a->class) {
	case ICD_ARG_MEM:
		if (size != sizeof(cl_mem)) {
			return CL_INVALID_ARG_SIZE;
		}
		m = value != NULL ? *(const cl_mem *)value : NULL;
		if (m != NULL && (!icd_obj_valid(m, ICD_MEM) || m->ctx != k->prog->ctx)) {
			return CL_INVALID_MEM_OBJECT;
		}
		a->mem = m;
		break;
	case ICD_ARG_LOCAL:
		if (value != NULL) {
			return CL_INVALID_ARG_VALUE;
		}
		if (size == 0) {
			return CL_INVALID_ARG_SIZE;
		}
		a->size = size;
		break;
	case ICD_ARG_VALUE:
		if (value == NULL) {
			return CL_INVALID_ARG_VALUE;
		}
		if (size == 0 || (a->size_known != 0 && size != a->size_known) ||
		    size > RPCI_LAUNCH_PARAMS_MAX) {
			return CL_INVALID_ARG_SIZE;
		}
		copy = malloc(size);
		if (copy == NULL) {
			return CL_OUT_OF_HOST_MEMORY;
		}
		memcpy(copy, value, size);
		free(a->value);
		a->value = copy;
		a->size = size;
		break;
	default:
		/* images, samplers, pipes: none can exist here */
		return CL_INVALID_ARG_VALUE;
	}
	a->set = true;
	return CL_SUCCESS;
}

cl_int
icd_clSetKernelArg(cl_kernel k, cl_uint index, size_t size, const void *value)
{
	cl_int err;

	icd_lock();
	err = icd_obj_valid(k, ICD_KERNEL) ? icd_arg_set(k, index, size, value) :
		CL_INVALID_KERNEL;
	icd_unlock();
	return err;
}

cl_int
icd_kernel_marshal(cl_kernel k, int i, struct icd_cmd *cmd)
{
	cl_device_id d = k->prog->ctx->devices[i];
	size_t values = 0, at = 0;
	uint64_t local = 0;
	cl_uint n;
	cl_int err;

	if (k->fns[i] == NULL) {
		return CL_INVALID_PROGRAM_EXECUTABLE;
	}
	if (k->nb_args > ICD_ARGS_MAX) {
		return CL_OUT_OF_RESOURCES; /* the device takes at most ICD_ARGS_MAX */
	}
	for (n = 0; n < k->nb_args; n++) {
		if (!k->args[n].set) {
			return CL_INVALID_KERNEL_ARGS;
		}
		if (k->args[n].class == ICD_ARG_VALUE) {
			values += k->args[n].size;
		}
	}
	if (values > d->max_param) {
		return CL_OUT_OF_RESOURCES;
	}
	cmd->values = malloc(values ? values : 1);
	if (cmd->values == NULL) {
		return CL_OUT_OF_HOST_MEMORY;
	}
	cmd->fn = k->fns[i];
	cmd->nb_args = k->nb_args;
	for (n = 0; n < k->nb_args; n++) {
		const struct icd_arg *a = &k->args[n];
		struct rpci_launch_arg *la = &cmd->args[n];

		switch (a->class) {
		case ICD_ARG_MEM:
			la->kind = RPCI_ARG_DEVPTR;
			la->size = 8;
			if (a->mem == NULL) {
				/* the end of memory: NULL in the kernel */
				la->value = d->mem_bytes;
				break;
			}
			err = icd_mem_on_device(a->mem, i);
			if (err != CL_SUCCESS) {
				return err;
			}
			la->value = icd_mem_addr(a->mem, i);
			icd_cmd_use(cmd, a->mem, !(a->mem->flags & CL_MEM_READ_ONLY));
			break;
		case ICD_ARG_LOCAL:
			if (a->size > UINT16_MAX) {
				return CL_OUT_OF_RESOURCES; /* a launch carries 16-bit sizes */
			}
			la->kind = RPCI_ARG_LOCAL;
			la->size = (uint16_t)a->size;
			local += a->size;
			break;
		default:
			la->kind = RPCI_ARG_BYVAL;
			la->size = (uint16_t)a->size;
			memcpy(cmd->values + at, a->value, a->size);
			la->data = cmd->values + at;
			at += a->size;
			break;
		}
	}
	if (local + icd_info_u64(&cmd->fn->info, CL_KERNEL_LOCAL_MEM_SIZE, 0) > d->local_mem &&
	    d->local_mem > 0) {
		return CL_OUT_OF_RESOURCES;
	}
	return CL_SUCCESS;
}

static cl_int
kernel_info(cl_kernel k, cl_kernel_info param, size_t size, void *value, size_t *size_ret)
{
	const struct icd_info_ent *e;
	cl_uint v;

	switch (param) {
	case CL_KERNEL_FUNCTION_NAME:
		return icd_answer(size, value, size_ret, k->name, strlen(k->name) + 1);
	case CL_KERNEL_NUM_ARGS:
		return icd_answer(size, value, size_ret, &k->nb_args, sizeof(k->nb_args));
	case CL_KERNEL_REFERENCE_COUNT:
		v = k->o.refs;
		return icd_answer(size, value, size_ret, &v, sizeof(v));
	case CL_KERNEL_CONTEXT:
		return icd_answer(size, value, size_ret, &k->prog->ctx, sizeof(cl_context));
	case CL_KERNEL_PROGRAM:
		return icd_answer(size, value, size_ret, &k->prog, sizeof(k->prog));
	case CL_KERNEL_ATTRIBUTES:
		for (v = 0; v < k->prog->ctx->nb_devices; v++) {
			if (k->fns[v] != NULL) {
				e = icd_info_find(&k->fns[v]->info, CL_KERNEL_ATTRIBUTES);
				if (e != NULL) {
					return icd_answer(size, value, size_ret, e->val, e->len);
				}
			}
		}
		return icd_answer(size, value, size_ret, "", 1);
	default:
		return CL_INVALID_VALUE;
	}
}

cl_int
icd_clGetKernelInfo(cl_kernel k, cl_kernel_info param, size_t size, void *value,
		    size_t *size_ret)
{
	cl_int err;

	icd_lock();
	err = icd_obj_valid(k, ICD_KERNEL) ? kernel_info(k, param, size, value, size_ret) :
		CL_INVALID_KERNEL;
	icd_unlock();
	return err;
}

static cl_int
work_group_info(cl_kernel k, cl_device_id dev, cl_kernel_work_group_info param, size_t size,
		void *value, size_t *size_ret)
{
	const struct icd_info_ent *e;
	const struct icd_fn *f;
	cl_ulong local;
	cl_uint n;
	int i;

	if (dev == NULL) {
		if (k->prog->ctx->nb_devices != 1) {
			return CL_INVALID_DEVICE;
		}
		dev = k->prog->ctx->devices[0];
	}
	i = icd_device_valid(dev) ? icd_ctx_index(k->prog->ctx, dev) : -1;
	if (i < 0 || k->fns[i] == NULL) {
		return CL_INVALID_DEVICE;
	}
	f = k->fns[i];
	switch (param) {
	case CL_KERNEL_LOCAL_MEM_SIZE:
		/* the kernel's own, and what its __local arguments were set to */
		local = icd_info_u64(&f->info, CL_KERNEL_LOCAL_MEM_SIZE, 0);
		for (n = 0; n < k->nb_args; n++) {
			if (k->args[n].class == ICD_ARG_LOCAL && k->args[n].set) {
				local += k->args[n].size;
			}
		}
		return icd_answer(size, value, size_ret, &local, sizeof(local));
	case CL_KERNEL_WORK_GROUP_SIZE:
	case CL_KERNEL_COMPILE_WORK_GROUP_SIZE:
	case CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE:
	case CL_KERNEL_PRIVATE_MEM_SIZE:
		e = icd_info_find(&f->info, param);
		return e != NULL ? icd_answer(size, value, size_ret, e->val, e->len) :
			CL_INVALID_VALUE;
	default:
		/* CL_KERNEL_GLOBAL_WORK_SIZE: custom devices and built-in kernels only */
		return CL_INVALID_VALUE;
	}
}

cl_int
icd_clGetKernelWorkGroupInfo(cl_kernel k, cl_device_id dev, cl_kernel_work_group_info param,
			     size_t size, void *value, size_t *size_ret)
{
	cl_int err;

	icd_lock();
	err = icd_obj_valid(k, ICD_KERNEL) ? work_group_info(k, dev, param, size, value,
							      size_ret) : CL_INVALID_KERNEL;
	icd_unlock();
	return err;
}

cl_int
icd_clGetKernelArgInfo(cl_kernel k, cl_uint index, cl_kernel_arg_info param, size_t size,
		       void *value, size_t *size_ret)
{
	const struct icd_info_ent *e = NULL;
	cl_int err;
	cl_uint i;

	icd_lock();
	if (!icd_obj_valid(k, ICD_KERNEL)) {
		err = CL_INVALID_KERNEL;
		goto out;
	}
	if (index >= k->nb_args) {
		err = CL_INVALID_ARG_INDEX;
		goto out;
	}
	if (param < CL_KERNEL_ARG_ADDRESS_QUALIFIER || param > CL_KERNEL_ARG_NAME) {
		err = CL_INVALID_VALUE;
		goto out;
	}
	for (i = 0; i < k->prog->ctx->nb_devices && e == NULL; i++) {
		if (k->fns[i] != NULL) {
			e = icd_info_find(&k->fns[i]->info, RPCI_VGPU_INFO_ARG(index, param));
		}
	}
	err = e != NULL ? icd_answer(size, value, size_ret, e->val, e->len) :
		CL_KERNEL_ARG_INFO_NOT_AVAILABLE;
out:
	icd_unlock();
	return err;
}
