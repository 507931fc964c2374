/**
 * Texel-exact copies between textures whose formats copyTextureToTexture will not pair (rgba8 →
 * a bgra8 canvas) or whose usage forbids copying (no COPY_SRC): a full-screen triangle whose
 * fragment shader `textureLoad`s the source texel under each target pixel. No filtering, no
 * scaling: the target must have the source's size. 8-bit values survive exactly (k/255 converts
 * back to k); float sources written to a float target of at least their precision are exact.
 */
import { InvalidArgumentError } from '../errors.js';
import { TextureUsage } from '../runtime/gpu-constants.js';

const BLIT_WGSL = /* wgsl */ `
@group(0) @binding(0) var src: texture_2d<f32>;

@vertex
fn vs(@builtin(vertex_index) i: u32) -> @builtin(position) vec4f {
  // One triangle covering the viewport: (-1,-1), (3,-1), (-1,3).
  let xy = vec2f(f32((i << 1u) & 2u), f32(i & 2u)) * 2.0 - 1.0;
  return vec4f(xy, 0.0, 1.0);
}

@fragment
fn fs(@builtin(position) p: vec4f) -> @location(0) vec4f {
  return textureLoad(src, vec2u(p.xy), 0);
}
`;

interface BlitResources {
  readonly layout: GPUBindGroupLayout;
  readonly module: GPUShaderModule;
  readonly pipelines: Map<GPUTextureFormat, GPURenderPipeline>;
}

const perDevice = new WeakMap<GPUDevice, BlitResources>();

function resources(device: GPUDevice): BlitResources {
  let r = perDevice.get(device);
  if (!r) {
    r = {
      // 'unfilterable-float' accepts every float-sampled format, rgba32float included.
      layout: device.createBindGroupLayout({
        label: 'nerco-webgpu blit',
        entries: [{ binding: 0, visibility: 0x2 /* FRAGMENT */, texture: { sampleType: 'unfilterable-float' } }],
      }),
      module: device.createShaderModule({ label: 'nerco-webgpu blit', code: BLIT_WGSL }),
      pipelines: new Map(),
    };
    perDevice.set(device, r);
  }
  return r;
}

function pipeline(device: GPUDevice, format: GPUTextureFormat): { pipeline: GPURenderPipeline; layout: GPUBindGroupLayout } {
  const r = resources(device);
  let p = r.pipelines.get(format);
  if (!p) {
    p = device.createRenderPipeline({
      label: `nerco-webgpu blit → ${format}`,
      layout: device.createPipelineLayout({ bindGroupLayouts: [r.layout] }),
      vertex: { module: r.module, entryPoint: 'vs' },
      fragment: { module: r.module, entryPoint: 'fs', targets: [{ format }] },
      primitive: { topology: 'triangle-list' },
    });
    r.pipelines.set(format, p);
  }
  return { pipeline: p, layout: r.layout };
}

/**
 * Records a texel-for-texel copy of `src` (TEXTURE_BINDING) into `target` (RENDER_ATTACHMENT,
 * same size). `targetFormat` is the target texture's format.
 */
export function recordBlit(device: GPUDevice, encoder: GPUCommandEncoder, src: GPUTexture, target: GPUTexture, label = 'nerco-webgpu blit'): void {
  if (!(src.usage & TextureUsage.TEXTURE_BINDING)) {
    throw new InvalidArgumentError(`${label}: a ${src.format} texture is read through a render pass here, which needs TEXTURE_BINDING usage`);
  }
  if (src.width !== target.width || src.height !== target.height) {
    throw new InvalidArgumentError(`${label}: source ${src.width}×${src.height} and target ${target.width}×${target.height} differ`);
  }
  const { pipeline: p, layout } = pipeline(device, target.format);
  const bindGroup = device.createBindGroup({ label, layout, entries: [{ binding: 0, resource: src.createView({ dimension: '2d', mipLevelCount: 1, arrayLayerCount: 1 }) }] });
  const pass = encoder.beginRenderPass({
    label,
    colorAttachments: [{ view: target.createView(), loadOp: 'clear', clearValue: [0, 0, 0, 1], storeOp: 'store' }],
  });
  pass.setPipeline(p);
  pass.setBindGroup(0, bindGroup);
  pass.draw(3);
  pass.end();
}

/** The format a blit copy of `format` should have so that the model can read it exactly. */
export function readableFormatFor(format: GPUTextureFormat): 'rgba8unorm' | 'rgba16float' | 'rgba32float' {
  if (format === 'rgba16float') return 'rgba16float';
  if (format === 'rgba32float') return 'rgba32float';
  return 'rgba8unorm';
}
