/* SPDX-License-Identifier: BSD-3-Clause */

#ifndef RPCI_ICD_API_H
#define RPCI_ICD_API_H

#include "icd_private.h"

/*
 * Every entry of the loader's dispatch table that the ICD fills, by the file
 * that implements it: ICD_FN(name) for each. icd.c declares them (each
 * icd_<name> has the type of the table's entry) and fills the table;
 * Direct3D and DX9 media sharing, which Linux has not, stay NULL.
 */

#define ICD_API_LIST(ICD_FN) \
	/* icd.c */ \
	ICD_FN(clGetPlatformIDs) \
	ICD_FN(clGetPlatformInfo) \
	ICD_FN(clGetDeviceIDs) \
	ICD_FN(clGetDeviceInfo) \
	ICD_FN(clCreateSubDevices) \
	ICD_FN(clRetainDevice) \
	ICD_FN(clReleaseDevice) \
	ICD_FN(clGetExtensionFunctionAddress) \
	ICD_FN(clGetExtensionFunctionAddressForPlatform) \
	ICD_FN(clUnloadCompiler) \
	ICD_FN(clUnloadPlatformCompiler) \
	ICD_FN(clGetDeviceAndHostTimer) \
	ICD_FN(clGetHostTimer) \
	/* icd_object.c */ \
	ICD_FN(clCreateContext) \
	ICD_FN(clCreateContextFromType) \
	ICD_FN(clRetainContext) \
	ICD_FN(clReleaseContext) \
	ICD_FN(clGetContextInfo) \
	ICD_FN(clSetContextDestructorCallback) \
	ICD_FN(clCreateCommandQueue) \
	ICD_FN(clCreateCommandQueueWithProperties) \
	ICD_FN(clRetainCommandQueue) \
	ICD_FN(clReleaseCommandQueue) \
	ICD_FN(clGetCommandQueueInfo) \
	ICD_FN(clSetCommandQueueProperty) \
	ICD_FN(clCreateBuffer) \
	ICD_FN(clCreateBufferWithProperties) \
	ICD_FN(clCreateSubBuffer) \
	ICD_FN(clRetainMemObject) \
	ICD_FN(clReleaseMemObject) \
	ICD_FN(clGetMemObjectInfo) \
	ICD_FN(clSetMemObjectDestructorCallback) \
	/* icd_program.c */ \
	ICD_FN(clCreateProgramWithSource) \
	ICD_FN(clCreateProgramWithBinary) \
	ICD_FN(clCreateProgramWithBuiltInKernels) \
	ICD_FN(clRetainProgram) \
	ICD_FN(clReleaseProgram) \
	ICD_FN(clBuildProgram) \
	ICD_FN(clCompileProgram) \
	ICD_FN(clLinkProgram) \
	ICD_FN(clGetProgramInfo) \
	ICD_FN(clGetProgramBuildInfo) \
	ICD_FN(clCreateKernel) \
	ICD_FN(clCreateKernelsInProgram) \
	ICD_FN(clRetainKernel) \
	ICD_FN(clReleaseKernel) \
	ICD_FN(clSetKernelArg) \
	ICD_FN(clGetKernelInfo) \
	ICD_FN(clGetKernelWorkGroupInfo) \
	ICD_FN(clGetKernelArgInfo) \
	ICD_FN(clCloneKernel) \
	/* icd_queue.c */ \
	ICD_FN(clWaitForEvents) \
	ICD_FN(clGetEventInfo) \
	ICD_FN(clRetainEvent) \
	ICD_FN(clReleaseEvent) \
	ICD_FN(clGetEventProfilingInfo) \
	ICD_FN(clFlush) \
	ICD_FN(clFinish) \
	ICD_FN(clCreateUserEvent) \
	ICD_FN(clSetUserEventStatus) \
	ICD_FN(clSetEventCallback) \
	/* icd_enqueue.c */ \
	ICD_FN(clEnqueueReadBuffer) \
	ICD_FN(clEnqueueWriteBuffer) \
	ICD_FN(clEnqueueCopyBuffer) \
	ICD_FN(clEnqueueMapBuffer) \
	ICD_FN(clEnqueueUnmapMemObject) \
	ICD_FN(clEnqueueNDRangeKernel) \
	ICD_FN(clEnqueueTask) \
	ICD_FN(clEnqueueMarker) \
	ICD_FN(clEnqueueWaitForEvents) \
	ICD_FN(clEnqueueBarrier) \
	ICD_FN(clEnqueueReadBufferRect) \
	ICD_FN(clEnqueueWriteBufferRect) \
	ICD_FN(clEnqueueCopyBufferRect) \
	ICD_FN(clEnqueueFillBuffer) \
	ICD_FN(clEnqueueMigrateMemObjects) \
	ICD_FN(clEnqueueMarkerWithWaitList) \
	ICD_FN(clEnqueueBarrierWithWaitList) \
	/* icd_unsupported.c */ \
	ICD_FN(clCreateImage2D) \
	ICD_FN(clCreateImage3D) \
	ICD_FN(clCreateImage) \
	ICD_FN(clCreateImageWithProperties) \
	ICD_FN(clGetSupportedImageFormats) \
	ICD_FN(clGetImageInfo) \
	ICD_FN(clEnqueueReadImage) \
	ICD_FN(clEnqueueWriteImage) \
	ICD_FN(clEnqueueCopyImage) \
	ICD_FN(clEnqueueCopyImageToBuffer) \
	ICD_FN(clEnqueueCopyBufferToImage) \
	ICD_FN(clEnqueueMapImage) \
	ICD_FN(clEnqueueFillImage) \
	ICD_FN(clCreateSampler) \
	ICD_FN(clCreateSamplerWithProperties) \
	ICD_FN(clRetainSampler) \
	ICD_FN(clReleaseSampler) \
	ICD_FN(clGetSamplerInfo) \
	ICD_FN(clEnqueueNativeKernel) \
	ICD_FN(clCreatePipe) \
	ICD_FN(clGetPipeInfo) \
	ICD_FN(clSVMAlloc) \
	ICD_FN(clSVMFree) \
	ICD_FN(clEnqueueSVMFree) \
	ICD_FN(clEnqueueSVMMemcpy) \
	ICD_FN(clEnqueueSVMMemFill) \
	ICD_FN(clEnqueueSVMMap) \
	ICD_FN(clEnqueueSVMUnmap) \
	ICD_FN(clEnqueueSVMMigrateMem) \
	ICD_FN(clSetKernelArgSVMPointer) \
	ICD_FN(clSetKernelExecInfo) \
	ICD_FN(clGetKernelSubGroupInfo) \
	ICD_FN(clGetKernelSubGroupInfoKHR) \
	ICD_FN(clSetDefaultDeviceCommandQueue) \
	ICD_FN(clCreateProgramWithIL) \
	ICD_FN(clSetProgramReleaseCallback) \
	ICD_FN(clSetProgramSpecializationConstant) \
	ICD_FN(clCreateSubDevicesEXT) \
	ICD_FN(clRetainDeviceEXT) \
	ICD_FN(clReleaseDeviceEXT) \
	ICD_FN(clCreateFromGLBuffer) \
	ICD_FN(clCreateFromGLTexture2D) \
	ICD_FN(clCreateFromGLTexture3D) \
	ICD_FN(clCreateFromGLRenderbuffer) \
	ICD_FN(clCreateFromGLTexture) \
	ICD_FN(clGetGLObjectInfo) \
	ICD_FN(clGetGLTextureInfo) \
	ICD_FN(clEnqueueAcquireGLObjects) \
	ICD_FN(clEnqueueReleaseGLObjects) \
	ICD_FN(clGetGLContextInfoKHR) \
	ICD_FN(clCreateEventFromGLsyncKHR) \
	ICD_FN(clCreateFromEGLImageKHR) \
	ICD_FN(clEnqueueAcquireEGLObjectsKHR) \
	ICD_FN(clEnqueueReleaseEGLObjectsKHR) \
	ICD_FN(clCreateEventFromEGLSyncKHR)

/* A function of the type of the dispatch table's entry for name. */
#define ICD_DECLARE(name) extern __typeof__(*(cl_api_##name)0) icd_##name ICD_API;
ICD_API_LIST(ICD_DECLARE)

#endif /* RPCI_ICD_API_H */
