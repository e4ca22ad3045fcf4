/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * What the rpci OpenCL ICD does not do, answered with the specification's
 * error for a device and context that do not have the feature (each one
 * said absent in the device's answers, icd_info.c): images and samplers,
 * native kernels, pipes, shared virtual memory, sub-groups, on-device
 * queues, IL programs and specialization constants, partitions, and the
 * sharing extensions (OpenGL, EGL), which the platform does not list. An
 * invalid object is refused with its own error first. doc/backends.md
 * lists them all.
 */

#include <string.h>

#include "icd_api.h"
#include "icd_private.h"

/* The calls take the specification's parameters and look at few of them. */
#pragma GCC diagnostic ignored "-Wunused-parameter"

/* An object made in a context that cannot have it: NULL and the error. */
static void *
refused_in_context(cl_context context, cl_int *errcode_ret)
{
	if (errcode_ret != NULL) {
		*errcode_ret = icd_obj_valid(context, ICD_CONTEXT) ?
			CL_INVALID_OPERATION : CL_INVALID_CONTEXT;
	}
	return NULL;
}

/*
 * An object from OpenGL in a context that was not made from an OpenGL one
 * (none is: the platform does not list the extension), valid or not:
 * CL_INVALID_CONTEXT either way.
 */
static void *
not_from_gl(cl_int *errcode_ret)
{
	if (errcode_ret != NULL) {
		*errcode_ret = CL_INVALID_CONTEXT;
	}
	return NULL;
}

/* A command that a queue of this platform cannot run. */
static cl_int
refused_in_queue(cl_command_queue command_queue)
{
	return icd_obj_valid(command_queue, ICD_QUEUE) ?
		CL_INVALID_OPERATION : CL_INVALID_COMMAND_QUEUE;
}

/* ------------------------------------------------------------ images */

cl_mem
icd_clCreateImage2D(cl_context context, cl_mem_flags flags, const cl_image_format *image_format,
		    size_t image_width, size_t image_height, size_t image_row_pitch, void *host_ptr,
		    cl_int *errcode_ret)
{
	return refused_in_context(context, errcode_ret);
}

cl_mem
icd_clCreateImage3D(cl_context context, cl_mem_flags flags, const cl_image_format *image_format,
		    size_t image_width, size_t image_height, size_t image_depth,
		    size_t image_row_pitch, size_t image_slice_pitch, void *host_ptr,
		    cl_int *errcode_ret)
{
	return refused_in_context(context, errcode_ret);
}

cl_mem
icd_clCreateImage(cl_context context, cl_mem_flags flags, const cl_image_format *image_format,
		  const cl_image_desc *image_desc, void *host_ptr, cl_int *errcode_ret)
{
	return refused_in_context(context, errcode_ret);
}

cl_mem
icd_clCreateImageWithProperties(cl_context context, const cl_mem_properties *properties,
				cl_mem_flags flags, const cl_image_format *image_format,
				const cl_image_desc *image_desc, void *host_ptr,
				cl_int *errcode_ret)
{
	return refused_in_context(context, errcode_ret);
}

cl_int
icd_clGetSupportedImageFormats(cl_context context, cl_mem_flags flags,
			       cl_mem_object_type image_type, cl_uint num_entries,
			       cl_image_format *image_formats, cl_uint *num_image_formats)
{
	if (!icd_obj_valid(context, ICD_CONTEXT)) {
		return CL_INVALID_CONTEXT;
	}
	if (num_image_formats != NULL) {
		*num_image_formats = 0; /* no image format */
	}
	return CL_SUCCESS;
}

cl_int
icd_clGetImageInfo(cl_mem image, cl_image_info param_name, size_t param_value_size,
		   void *param_value, size_t *param_value_size_ret)
{
	return CL_INVALID_MEM_OBJECT;
}

cl_int
icd_clEnqueueReadImage(cl_command_queue command_queue, cl_mem image, cl_bool blocking_read,
		       const size_t *origin, const size_t *region, size_t row_pitch,
		       size_t slice_pitch, void *ptr, cl_uint num_events_in_wait_list,
		       const cl_event *event_wait_list, cl_event *event)
{
	return refused_in_queue(command_queue);
}

cl_int
icd_clEnqueueWriteImage(cl_command_queue command_queue, cl_mem image, cl_bool blocking_write,
			const size_t *origin, const size_t *region, size_t input_row_pitch,
			size_t input_slice_pitch, const void *ptr, cl_uint num_events_in_wait_list,
			const cl_event *event_wait_list, cl_event *event)
{
	return refused_in_queue(command_queue);
}

cl_int
icd_clEnqueueCopyImage(cl_command_queue command_queue, cl_mem src_image, cl_mem dst_image,
		       const size_t *src_origin, const size_t *dst_origin, const size_t *region,
		       cl_uint num_events_in_wait_list, const cl_event *event_wait_list,
		       cl_event *event)
{
	return refused_in_queue(command_queue);
}

cl_int
icd_clEnqueueCopyImageToBuffer(cl_command_queue command_queue, cl_mem src_image, cl_mem dst_buffer,
			       const size_t *src_origin, const size_t *region, size_t dst_offset,
			       cl_uint num_events_in_wait_list, const cl_event *event_wait_list,
			       cl_event *event)
{
	return refused_in_queue(command_queue);
}

cl_int
icd_clEnqueueCopyBufferToImage(cl_command_queue command_queue, cl_mem src_buffer, cl_mem dst_image,
			       size_t src_offset, const size_t *dst_origin, const size_t *region,
			       cl_uint num_events_in_wait_list, const cl_event *event_wait_list,
			       cl_event *event)
{
	return refused_in_queue(command_queue);
}

void *
icd_clEnqueueMapImage(cl_command_queue command_queue, cl_mem image, cl_bool blocking_map,
		      cl_map_flags map_flags, const size_t *origin, const size_t *region,
		      size_t *image_row_pitch, size_t *image_slice_pitch,
		      cl_uint num_events_in_wait_list, const cl_event *event_wait_list,
		      cl_event *event, cl_int *errcode_ret)
{
	if (errcode_ret != NULL) {
		*errcode_ret = refused_in_queue(command_queue);
	}
	return NULL;
}

cl_int
icd_clEnqueueFillImage(cl_command_queue command_queue, cl_mem image, const void *fill_color,
		       const size_t origin[3], const size_t region[3],
		       cl_uint num_events_in_wait_list, const cl_event *event_wait_list,
		       cl_event *event)
{
	return refused_in_queue(command_queue);
}

/* ------------------------------------------------------------ samplers */

cl_sampler
icd_clCreateSampler(cl_context context, cl_bool normalized_coords,
		    cl_addressing_mode addressing_mode, cl_filter_mode filter_mode,
		    cl_int *errcode_ret)
{
	return refused_in_context(context, errcode_ret);
}

cl_sampler
icd_clCreateSamplerWithProperties(cl_context context,
				  const cl_sampler_properties *sampler_properties,
				  cl_int *errcode_ret)
{
	return refused_in_context(context, errcode_ret);
}

cl_int
icd_clRetainSampler(cl_sampler sampler)
{
	return CL_INVALID_SAMPLER;
}

cl_int
icd_clReleaseSampler(cl_sampler sampler)
{
	return CL_INVALID_SAMPLER;
}

cl_int
icd_clGetSamplerInfo(cl_sampler sampler, cl_sampler_info param_name, size_t param_value_size,
		     void *param_value, size_t *param_value_size_ret)
{
	return CL_INVALID_SAMPLER;
}

/* ----------------------- native kernels (CL_DEVICE_EXECUTION_CAPABILITIES: CL_EXEC_KERNEL) */

cl_int
icd_clEnqueueNativeKernel(cl_command_queue command_queue, void(CL_CALLBACK *user_func)(void *),
			  void *args, size_t cb_args, cl_uint num_mem_objects,
			  const cl_mem *mem_list, const void **args_mem_loc,
			  cl_uint num_events_in_wait_list, const cl_event *event_wait_list,
			  cl_event *event)
{
	return refused_in_queue(command_queue);
}

/* ------------------------------------------------------------ pipes */

cl_mem
icd_clCreatePipe(cl_context context, cl_mem_flags flags, cl_uint pipe_packet_size,
		 cl_uint pipe_max_packets, const cl_pipe_properties *properties,
		 cl_int *errcode_ret)
{
	return refused_in_context(context, errcode_ret);
}

cl_int
icd_clGetPipeInfo(cl_mem pipe, cl_pipe_info param_name, size_t param_value_size, void *param_value,
		  size_t *param_value_size_ret)
{
	return CL_INVALID_MEM_OBJECT;
}

/* ----------------------- shared virtual memory (CL_DEVICE_SVM_CAPABILITIES: 0) */

void *
icd_clSVMAlloc(cl_context context, cl_svm_mem_flags flags, size_t size, unsigned int alignment)
{
	return NULL; /* CL_DEVICE_SVM_CAPABILITIES is 0 */
}

void
icd_clSVMFree(cl_context context, void *svm_pointer)
{
	/* no SVM pointer was ever allocated */
}

cl_int
icd_clEnqueueSVMFree(cl_command_queue command_queue, cl_uint num_svm_pointers, void **svm_pointers,
		     void(CL_CALLBACK *pfn_free_func)(cl_command_queue queue ,
		     cl_uint num_svm_pointers , void ** svm_pointers , void * user_data ),
		     void *user_data, cl_uint num_events_in_wait_list,
		     const cl_event *event_wait_list, cl_event *event)
{
	return refused_in_queue(command_queue);
}

cl_int
icd_clEnqueueSVMMemcpy(cl_command_queue command_queue, cl_bool blocking_copy, void *dst_ptr,
		       const void *src_ptr, size_t size, cl_uint num_events_in_wait_list,
		       const cl_event *event_wait_list, cl_event *event)
{
	return refused_in_queue(command_queue);
}

cl_int
icd_clEnqueueSVMMemFill(cl_command_queue command_queue, void *svm_ptr, const void *pattern,
			size_t pattern_size, size_t size, cl_uint num_events_in_wait_list,
			const cl_event *event_wait_list, cl_event *event)
{
	return refused_in_queue(command_queue);
}

cl_int
icd_clEnqueueSVMMap(cl_command_queue command_queue, cl_bool blocking_map, cl_map_flags map_flags,
		    void *svm_ptr, size_t size, cl_uint num_events_in_wait_list,
		    const cl_event *event_wait_list, cl_event *event)
{
	return refused_in_queue(command_queue);
}

cl_int
icd_clEnqueueSVMUnmap(cl_command_queue command_queue, void *svm_ptr,
		      cl_uint num_events_in_wait_list, const cl_event *event_wait_list,
		      cl_event *event)
{
	return refused_in_queue(command_queue);
}

cl_int
icd_clEnqueueSVMMigrateMem(cl_command_queue command_queue, cl_uint num_svm_pointers,
			   const void **svm_pointers, const size_t *sizes,
			   cl_mem_migration_flags flags, cl_uint num_events_in_wait_list,
			   const cl_event *event_wait_list, cl_event *event)
{
	return refused_in_queue(command_queue);
}

cl_int
icd_clSetKernelArgSVMPointer(cl_kernel kernel, cl_uint arg_index, const void *arg_value)
{
	return icd_obj_valid(kernel, ICD_KERNEL) ? CL_INVALID_OPERATION : CL_INVALID_KERNEL;
}

cl_int
icd_clSetKernelExecInfo(cl_kernel kernel, cl_kernel_exec_info param_name, size_t param_value_size,
			const void *param_value)
{
	if (!icd_obj_valid(kernel, ICD_KERNEL)) {
		return CL_INVALID_KERNEL;
	}
	return param_name == CL_KERNEL_EXEC_INFO_SVM_PTRS ||
		param_name == CL_KERNEL_EXEC_INFO_SVM_FINE_GRAIN_SYSTEM ?
		CL_INVALID_OPERATION : CL_INVALID_VALUE;
}

/* ----------------------- sub-groups (CL_DEVICE_MAX_NUM_SUB_GROUPS: 0), device queues, IL */

cl_int
icd_clGetKernelSubGroupInfo(cl_kernel kernel, cl_device_id device,
			    cl_kernel_sub_group_info param_name, size_t input_value_size,
			    const void *input_value, size_t param_value_size, void *param_value,
			    size_t *param_value_size_ret)
{
	return icd_obj_valid(kernel, ICD_KERNEL) ? CL_INVALID_OPERATION : CL_INVALID_KERNEL;
}

cl_int
icd_clGetKernelSubGroupInfoKHR(cl_kernel in_kernel, cl_device_id in_device,
			       cl_kernel_sub_group_info param_name, size_t input_value_size,
			       const void *input_value, size_t param_value_size, void *param_value,
			       size_t *param_value_size_ret)
{
	return icd_obj_valid(in_kernel, ICD_KERNEL) ? CL_INVALID_OPERATION : CL_INVALID_KERNEL;
}

cl_int
icd_clSetDefaultDeviceCommandQueue(cl_context context, cl_device_id device,
				   cl_command_queue command_queue)
{
	return icd_obj_valid(context, ICD_CONTEXT) ? CL_INVALID_OPERATION : CL_INVALID_CONTEXT;
}

cl_program
icd_clCreateProgramWithIL(cl_context context, const void *il, size_t length, cl_int *errcode_ret)
{
	return refused_in_context(context, errcode_ret);
}

cl_int
icd_clSetProgramReleaseCallback(cl_program program,
				void(CL_CALLBACK *pfn_notify)(cl_program program, void *user_data),
				void *user_data)
{
	return icd_obj_valid(program, ICD_PROGRAM) ? CL_INVALID_OPERATION : CL_INVALID_PROGRAM;
}

cl_int
icd_clSetProgramSpecializationConstant(cl_program program, cl_uint spec_id, size_t spec_size,
				       const void *spec_value)
{
	return icd_obj_valid(program, ICD_PROGRAM) ? CL_INVALID_OPERATION : CL_INVALID_PROGRAM;
}

/* ----------------------- device fission (cl_ext_device_fission, not listed): no partition */

cl_int
icd_clCreateSubDevicesEXT(cl_device_id in_device,
			  const cl_device_partition_property_ext *partition_properties,
			  cl_uint num_entries, cl_device_id *out_devices, cl_uint *num_devices)
{
	return icd_device_valid(in_device) ? CL_INVALID_VALUE : CL_INVALID_DEVICE;
}

cl_int
icd_clRetainDeviceEXT(cl_device_id device)
{
	return icd_device_valid(device) ? CL_SUCCESS : CL_INVALID_DEVICE;
}

cl_int
icd_clReleaseDeviceEXT(cl_device_id device)
{
	return icd_device_valid(device) ? CL_SUCCESS : CL_INVALID_DEVICE;
}

/* ----------------------- OpenGL sharing (cl_khr_gl_sharing, not listed): no GL context */

cl_mem
icd_clCreateFromGLBuffer(cl_context context, cl_mem_flags flags, cl_GLuint bufobj, int *errcode_ret)
{
	return not_from_gl(errcode_ret);
}

cl_mem
icd_clCreateFromGLTexture2D(cl_context context, cl_mem_flags flags, cl_GLenum target,
			    cl_GLint miplevel, cl_GLuint texture, cl_int *errcode_ret)
{
	return not_from_gl(errcode_ret);
}

cl_mem
icd_clCreateFromGLTexture3D(cl_context context, cl_mem_flags flags, cl_GLenum target,
			    cl_GLint miplevel, cl_GLuint texture, cl_int *errcode_ret)
{
	return not_from_gl(errcode_ret);
}

cl_mem
icd_clCreateFromGLRenderbuffer(cl_context context, cl_mem_flags flags, cl_GLuint renderbuffer,
			       cl_int *errcode_ret)
{
	return not_from_gl(errcode_ret);
}

cl_mem
icd_clCreateFromGLTexture(cl_context context, cl_mem_flags flags, cl_GLenum target,
			  cl_GLint miplevel, cl_GLuint texture, cl_int *errcode_ret)
{
	return not_from_gl(errcode_ret);
}

cl_int
icd_clGetGLObjectInfo(cl_mem memobj, cl_gl_object_type *gl_object_type, cl_GLuint *gl_object_name)
{
	return CL_INVALID_GL_OBJECT;
}

cl_int
icd_clGetGLTextureInfo(cl_mem memobj, cl_gl_texture_info param_name, size_t param_value_size,
		       void *param_value, size_t *param_value_size_ret)
{
	return CL_INVALID_GL_OBJECT;
}

cl_int
icd_clEnqueueAcquireGLObjects(cl_command_queue command_queue, cl_uint num_objects,
			      const cl_mem *mem_objects, cl_uint num_events_in_wait_list,
			      const cl_event *event_wait_list, cl_event *event)
{
	return icd_obj_valid(command_queue, ICD_QUEUE) ?
		CL_INVALID_CONTEXT : CL_INVALID_COMMAND_QUEUE;
}

cl_int
icd_clEnqueueReleaseGLObjects(cl_command_queue command_queue, cl_uint num_objects,
			      const cl_mem *mem_objects, cl_uint num_events_in_wait_list,
			      const cl_event *event_wait_list, cl_event *event)
{
	return icd_obj_valid(command_queue, ICD_QUEUE) ?
		CL_INVALID_CONTEXT : CL_INVALID_COMMAND_QUEUE;
}

cl_int
icd_clGetGLContextInfoKHR(const cl_context_properties *properties, cl_gl_context_info param_name,
			  size_t param_value_size, void *param_value, size_t *param_value_size_ret)
{
	return CL_INVALID_OPERATION;
}

cl_event
icd_clCreateEventFromGLsyncKHR(cl_context context, cl_GLsync sync, cl_int *errcode_ret)
{
	return not_from_gl(errcode_ret);
}

/* ----------------------- EGL sharing (cl_khr_egl_image, cl_khr_egl_event, not listed) */

cl_mem
icd_clCreateFromEGLImageKHR(cl_context context, CLeglDisplayKHR display, CLeglImageKHR image,
			    cl_mem_flags flags, const cl_egl_image_properties_khr *properties,
			    cl_int *errcode_ret)
{
	return refused_in_context(context, errcode_ret);
}

cl_int
icd_clEnqueueAcquireEGLObjectsKHR(cl_command_queue command_queue, cl_uint num_objects,
				  const cl_mem *mem_objects, cl_uint num_events_in_wait_list,
				  const cl_event *event_wait_list, cl_event *event)
{
	return refused_in_queue(command_queue);
}

cl_int
icd_clEnqueueReleaseEGLObjectsKHR(cl_command_queue command_queue, cl_uint num_objects,
				  const cl_mem *mem_objects, cl_uint num_events_in_wait_list,
				  const cl_event *event_wait_list, cl_event *event)
{
	return refused_in_queue(command_queue);
}

cl_event
icd_clCreateEventFromEGLSyncKHR(cl_context context, CLeglSyncKHR sync, CLeglDisplayKHR display,
				cl_int *errcode_ret)
{
	return refused_in_context(context, errcode_ret);
}
