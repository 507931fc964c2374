/**
 * Typed errors. Every failure a user can cause or fix surfaces as a NercoError subclass with a
 * stable `code`, so callers can branch on it and the CLI can print one clean line.
 */
export type NercoErrorCode =
  | 'NO_WEBGPU'          // no WebGPU implementation / adapter
  | 'DEVICE_LOST'
  | 'GPU_VALIDATION'     // a kernel failed WebGPU validation
  | 'GPU_OUT_OF_MEMORY'
  | 'LIMIT_EXCEEDED'     // an image or tensor exceeds a device limit
  | 'CHECKPOINT'         // unreadable / corrupt / unsafe checkpoint
  | 'WEIGHTS_MISMATCH'   // readable weights that do not fit the NeRCo layout
  | 'IMAGE'              // unreadable / unsupported image
  | 'INVALID_ARGUMENT'
  | 'IO';

export class NercoError extends Error {
  readonly code: NercoErrorCode;
  constructor(code: NercoErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** No WebGPU adapter could be obtained; the message says how to get one. */
export class NoWebGPUError extends NercoError {
  constructor(message: string) { super('NO_WEBGPU', message); }
}

export class DeviceLostError extends NercoError {
  constructor(message: string, options?: { cause?: unknown }) { super('DEVICE_LOST', message, options); }
}

/** A GPU validation or out-of-memory error, attributed to the kernel that caused it. */
export class GpuKernelError extends NercoError {
  readonly kernel: string;
  constructor(code: 'GPU_VALIDATION' | 'GPU_OUT_OF_MEMORY', kernel: string, message: string) {
    super(code, `${kernel}: ${message}`);
    this.kernel = kernel;
  }
}

export class LimitError extends NercoError {
  constructor(message: string) { super('LIMIT_EXCEEDED', message); }
}

/** The file is not a readable, safe checkpoint (corrupt zip, bad pickle, forbidden global...). */
export class CheckpointError extends NercoError {
  readonly file: string;
  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super('CHECKPOINT', `${file}: ${message}`, options);
    this.file = file;
  }
}

/** Readable weights that do not match the NeRCo layout (missing/extra key, wrong shape/dtype, NaN). */
export class WeightsMismatchError extends NercoError {
  readonly key?: string;
  constructor(message: string, key?: string) {
    super('WEIGHTS_MISMATCH', message);
    this.key = key;
  }
}

export class ImageError extends NercoError {
  constructor(message: string, options?: { cause?: unknown }) { super('IMAGE', message, options); }
}

export class InvalidArgumentError extends NercoError {
  constructor(message: string) { super('INVALID_ARGUMENT', message); }
}
