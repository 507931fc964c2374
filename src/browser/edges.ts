/**
 * Edge views of an image on the GPU with the library's edge kernels: NeRCo's Sobel-style gradient
 * magnitude (gray) or a per-channel Laplacian, returned as a new rgba8unorm texture for display.
 */
import { InvalidArgumentError } from '../errors.js';
import { checkGain, edgeView } from '../kernels/edge-view.js';
import { checkNeighbours, laplacian, sobel } from '../kernels/edges.js';
import { BYTES_PER_TEXEL, copyRowPitch, packImage, type ImageFormat } from '../kernels/image.js';
import { TextureUsage } from '../runtime/gpu-constants.js';
import { Runtime } from '../runtime/runtime.js';
import type { GpuTensor } from '../runtime/tensor.js';
import { NeRCoModel } from '../nerco/model.js';
import { INPUT_LUT } from '../nerco/preprocess.js';
import { textureFromSource, type ImageSource } from './sources.js';

export type EdgeKind = 'sobel' | 'laplacian';

export interface EdgesOptions {
  /**
   * Display gain: a texel shows round(clamp(|e|·gain, 0, 1)·255), e computed on the image scaled
   * to [-1, 1] as the network sees it. Default 2 (a gray step of a quarter of the range is white).
   */
  readonly gain?: number;
  /** Laplacian stencil: 4 (default) or 8 neighbours. */
  readonly neighbours?: 4 | 8;
}


/**
 * Runs edge views on a bare device (no model): one runtime per device, its calls queued so that
 * its error scopes never interleave with each other. Pass the model instead when you have one,
 * so that edge views also queue behind its enhancements.
 */
class DeviceEdges {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly ready: Promise<Runtime>;

  constructor(device: GPUDevice) {
    this.ready = Runtime.create({ device });
  }

  withRuntime<T>(fn: (rt: Runtime) => Promise<T>): Promise<T> {
    const run = async () => fn(await this.ready);
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }
}

const deviceRunners = new WeakMap<GPUDevice, DeviceEdges>();
const luts = new WeakMap<Runtime, GpuTensor>();

function lutFor(rt: Runtime): GpuTensor {
  let lut = luts.get(rt);
  if (!lut || lut.isReleased) {
    lut = rt.constant(INPUT_LUT, [256], 'edges input LUT');
    luts.set(rt, lut);
  }
  return lut;
}

function runnerFor(target: NeRCoModel | GPUDevice): { device: GPUDevice; withRuntime: <T>(fn: (rt: Runtime) => Promise<T>) => Promise<T> } {
  if (target instanceof NeRCoModel) return { device: target.device, withRuntime: (fn) => target.withRuntime(fn) };
  let r = deviceRunners.get(target);
  if (!r) {
    r = new DeviceEdges(target);
    deviceRunners.set(target, r);
  }
  const runner = r;
  return { device: target, withRuntime: (fn) => runner.withRuntime(fn) };
}

/**
 * The edge view of `input` (any source `enhance` accepts) as a new rgba8unorm texture of the same
 * size (usage COPY_SRC | COPY_DST | TEXTURE_BINDING | RENDER_ATTACHMENT) that the caller owns.
 * - 'sobel': NeRCo's gradient layer: gray = BT.601 luma of the [-1, 1] image, central
 *   differences, magnitude (gray output);
 * - 'laplacian': the [[0,1,0],[1,−4,1],[0,1,0]] stencil (or 8 neighbours) per channel with
 *   reflect borders (colour output; the image must be at least 2×2).
 * `target` is the model (recommended: the work queues with its own) or a bare GPUDevice.
 */
export async function edges(target: NeRCoModel | GPUDevice, input: ImageSource, kind: EdgeKind, opts: EdgesOptions = {}): Promise<GPUTexture> {
  if (kind !== 'sobel' && kind !== 'laplacian') throw new InvalidArgumentError(`edges: kind must be 'sobel' or 'laplacian', got ${String(kind)}`);
  const gain = opts.gain ?? 2;
  const neighbours = opts.neighbours ?? 4;
  // The kernels' own checks, before anything is created for a call that cannot run.
  checkGain(gain, 'edges');
  checkNeighbours(neighbours, 'edges');
  const runner = runnerFor(target);
  const device = runner.device;
  const src = await textureFromSource(device, input, 'nerco-webgpu edges input');
  const { width, height } = src.texture;
  if (kind === 'laplacian' && (width < 2 || height < 2)) {
    if (src.owned) src.texture.destroy();
    throw new InvalidArgumentError(`edges: the Laplacian's reflect borders need at least 2×2 pixels, the image is ${width}×${height}`);
  }
  const output = device.createTexture({
    label: `nerco-webgpu ${kind} edges`,
    size: [width, height],
    format: 'rgba8unorm',
    usage: TextureUsage.COPY_SRC | TextureUsage.COPY_DST | TextureUsage.TEXTURE_BINDING | TextureUsage.RENDER_ATTACHMENT,
  });
  try {
    await runner.withRuntime(async (rt) => {
      const format = src.texture.format as ImageFormat;
      const inRow = copyRowPitch(width, BYTES_PER_TEXEL[format]);
      const outRow = copyRowPitch(width, 4);
      const staging = rt.tensor([(inRow * height) / 4], 'edges input texels');
      const texels = rt.tensor([(outRow * height) / 4], 'edges output texels');
      try {
        await rt.run(async (rec) => {
          rec.encoder.copyTextureToBuffer({ texture: src.texture }, { buffer: staging.buffer, bytesPerRow: inRow, rowsPerImage: height }, [width, height]);
          const image = await packImage(rec, staging.buffer, { format, width, height, bytesPerRow: inRow, lut: lutFor(rt) }, 'edges image');
          const e = kind === 'sobel' ? await sobel(rec, image, 'edges sobel') : await laplacian(rec, image, neighbours, 'edges laplacian');
          image.release();
          await edgeView(rec, e, { bytesPerRow: outRow, gain, output: texels.buffer }, `edges ${kind} view`);
          e.release();
          rec.encoder.copyBufferToTexture({ buffer: texels.buffer, bytesPerRow: outRow, rowsPerImage: height }, { texture: output }, [width, height]);
        });
      } finally {
        staging.release();
        texels.release();
      }
    });
    return output;
  } catch (e) {
    output.destroy();
    throw e;
  } finally {
    if (src.owned) src.texture.destroy();
  }
}
