import { DeviceLostError, InvalidArgumentError, NoWebGPUError } from '../errors.js';

export interface AcquireDeviceOptions {
  /** Use this device as it is (the caller owns it). */
  readonly device?: GPUDevice;
  /** Pick the first adapter whose description/vendor/architecture contains this (case-insensitive). */
  readonly adapter?: string;
  readonly powerPreference?: GPUPowerPreference;
  /** Request `shader-f16` when the adapter has it (default true). */
  readonly f16?: boolean;
  /** Request `subgroups` when the adapter has it (default true); false keeps every kernel on its portable form. */
  readonly subgroups?: boolean;
}

export interface AcquiredDevice {
  readonly device: GPUDevice;
  /** True when this library created the device (and so may destroy it). */
  readonly owned: boolean;
  readonly adapterName: string;
}

/** Limits NeRCo benefits from: asked for up to what the adapter allows. */
const WANTED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupsPerDimension',
] as const;

const HOW_TO_FIX =
  'On Debian/Ubuntu without a GPU, install Mesa\'s lavapipe Vulkan driver (on bookworm from bookworm-backports: ' +
  '`apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1`); in a browser, use one with WebGPU enabled ' +
  '(Chromium: --enable-unsafe-webgpu) and a secure context (https or localhost).';

// Dawn's GPU object must stay referenced while any device created from it lives (else the
// process can crash mid-run), and dropped afterwards (else Node never exits): we count the
// devices we created and let go of it when the last one is released.
let nodeGPU: GPU | null = null;
let liveDevices = 0;

function isNode(): boolean {
  return typeof process !== 'undefined' && !!process.versions?.node;
}

async function getGPU(): Promise<GPU> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return nav.gpu;
  if (!isNode()) throw new NoWebGPUError(`this browser has no WebGPU (navigator.gpu is missing). ${HOW_TO_FIX}`);
  if (nodeGPU) return nodeGPU;
  const name = 'webgpu'; // a variable, so that browser bundlers leave this Node-only import alone
  let mod: { create: (opts: string[]) => GPU; globals: Record<string, unknown> };
  try {
    mod = await import(/* @vite-ignore */ name);
  } catch (e) {
    throw new NoWebGPUError(`the 'webgpu' package (Dawn for Node) could not be loaded: ${(e as Error).message}`);
  }
  Object.assign(globalThis, mod.globals);
  nodeGPU = mod.create([]);
  return nodeGPU;
}

/** Drops this library's reference to Dawn's GPU object once no device made from it is alive. */
export function releaseNodeGPU(): void {
  if (liveDevices === 0) nodeGPU = null;
}

/**
 * To be called once for every owned device when it is destroyed. It does not drop Dawn's GPU
 * object: creating a new one after the old one was collected crashed or hung the process in
 * tests that create and destroy several models; apps call releaseNodeGPU() once when done.
 */
export function deviceReleased(): void {
  liveDevices = Math.max(0, liveDevices - 1);
}

function describe(adapter: GPUAdapter): string {
  const i = adapter.info;
  return [i.vendor, i.architecture, i.device, i.description].filter((s) => s).join(' / ') || 'unknown adapter';
}

export async function acquireDevice(opts: AcquireDeviceOptions = {}): Promise<AcquiredDevice> {
  if (opts.device) {
    // The caller chose the adapter: options that choose one would be silently ignored.
    if (opts.adapter !== undefined || opts.powerPreference !== undefined) {
      throw new InvalidArgumentError('adapter and powerPreference choose an adapter; with your own device, leave them out');
    }
    return { device: opts.device, owned: false, adapterName: "caller's device" };
  }
  const gpu = await getGPU();
  const adapter = await gpu.requestAdapter({ powerPreference: opts.powerPreference }).catch((e: Error) => {
    throw new NoWebGPUError(`requesting a WebGPU adapter failed (${e.message}). ${HOW_TO_FIX}`);
  });
  if (!adapter) throw new NoWebGPUError(`no WebGPU adapter is available. ${HOW_TO_FIX}`);
  const name = describe(adapter);
  if (opts.adapter && !name.toLowerCase().includes(opts.adapter.toLowerCase())) {
    throw new NoWebGPUError(`no adapter matches "${opts.adapter}"; the available one is "${name}"`);
  }
  const requiredLimits: Record<string, number> = {};
  for (const k of WANTED_LIMITS) requiredLimits[k] = adapter.limits[k];
  const requiredFeatures: GPUFeatureName[] = [];
  if (opts.f16 !== false && adapter.features.has('shader-f16')) requiredFeatures.push('shader-f16');
  if (adapter.features.has('timestamp-query')) requiredFeatures.push('timestamp-query');
  // Subgroup shuffles let the hot conv kernel share loads across lanes (conv2d_sg.wgsl).
  if (opts.subgroups !== false && adapter.features.has('subgroups')) requiredFeatures.push('subgroups');
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ label: 'nerco-webgpu', requiredLimits, requiredFeatures });
  } catch (e) {
    throw new NoWebGPUError(`the adapter "${name}" refused to create a device (${(e as Error).message})`);
  }
  liveDevices++;
  return { device, owned: true, adapterName: name };
}

/** The error every call on a lost device fails with. */
export function deviceLostError(info: GPUDeviceLostInfo, cause?: unknown): DeviceLostError {
  return new DeviceLostError(`the GPU device was lost (${info.reason}): ${info.message || 'no details'}; create a new model`, cause === undefined ? undefined : { cause });
}

/**
 * The device's loss, if it is lost or becomes lost within `ms`: a call on a lost device may be
 * rejected before `device.lost` resolves.
 */
export async function lossWithin(device: GPUDevice, ms: number): Promise<GPUDeviceLostInfo | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const info = await Promise.race([device.lost, new Promise<null>((r) => { timer = setTimeout(() => r(null), ms); })]);
  clearTimeout(timer);
  return info;
}
