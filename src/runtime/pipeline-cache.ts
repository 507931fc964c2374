import { ShaderStage } from './gpu-constants.js';
import { SHADER_SOURCES } from '../kernels/shaders.gen.js';
import { GpuKernelError, InvalidArgumentError } from '../errors.js';
import { reflectComputeShader, type ShaderReflection } from './reflection.js';

/** Compile-time specialisation of a shader: emitted as `const NAME = value;` ahead of its source. */
export type ShaderDefines = Readonly<Record<string, number | boolean>>;

export interface KernelSource {
  /** Shader file stem: shaders/<shader>.wgsl. */
  readonly shader: string;
  readonly defines?: ShaderDefines;
  /** Adds `enable f16;` (the shader then uses f16 wherever its defines say so). */
  readonly f16?: boolean;
  /** Adds `enable subgroups;` (the device must have the `subgroups` feature). */
  readonly subgroups?: boolean;
}

export interface CompiledKernel {
  readonly key: string;
  readonly pipeline: GPUComputePipeline;
  readonly bindGroupLayout: GPUBindGroupLayout;
  readonly reflection: ShaderReflection;
}

export function kernelKey(src: KernelSource): string {
  const defs = Object.entries(src.defines ?? {}).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${k}=${v}`);
  return `${src.shader}${src.f16 ? '+f16' : ''}${src.subgroups ? '+sg' : ''}(${defs.join(',')})`;
}

export function composeShader(src: KernelSource): string {
  const body = SHADER_SOURCES[src.shader];
  if (body === undefined) throw new InvalidArgumentError(`no shader named ${src.shader}`);
  const lines: string[] = [];
  if (src.f16) lines.push('enable f16;');
  if (src.subgroups) lines.push('enable subgroups;');
  for (const [k, v] of Object.entries(src.defines ?? {})) {
    if (!/^[A-Z][A-Z0-9_]*$/.test(k)) throw new InvalidArgumentError(`${src.shader}: define ${k} must be UPPER_CASE`);
    if (typeof v === 'number' && !Number.isFinite(v)) throw new InvalidArgumentError(`${src.shader}: define ${k} is not finite`);
    lines.push(`const ${k} = ${typeof v === 'number' && !Number.isInteger(v) ? v.toExponential() + 'f' : String(v)};`);
  }
  return `${lines.join('\n')}\n${body}`;
}

/**
 * One compute pipeline per (shader, defines). Shapes are uniforms, so a pipeline serves every
 * image size; only genuine specialisations (tile shape, kernel size, fused epilogue) add entries.
 */
export class PipelineCache {
  private readonly compiled = new Map<string, Promise<CompiledKernel>>();
  private readonly ready = new Map<string, CompiledKernel>();

  constructor(private readonly device: GPUDevice) {}

  get size(): number { return this.ready.size; }

  async prepare(src: KernelSource): Promise<CompiledKernel> {
    const key = kernelKey(src);
    let p = this.compiled.get(key);
    if (!p) {
      p = this.compile(key, src);
      this.compiled.set(key, p);
      p.then((k) => this.ready.set(key, k), () => this.compiled.delete(key));
    }
    return p;
  }

  private async compile(key: string, src: KernelSource): Promise<CompiledKernel> {
    const code = composeShader(src);
    const reflection = reflectComputeShader(code, key);
    const bindGroupLayout = this.device.createBindGroupLayout({
      label: key,
      entries: reflection.bindings.map((b) => ({
        binding: b.binding,
        visibility: ShaderStage.COMPUTE,
        buffer: { type: b.kind },
      })),
    });
    this.device.pushErrorScope('validation');
    const module = this.device.createShaderModule({ label: key, code });
    const moduleError = await this.device.popErrorScope();
    if (moduleError) throw new GpuKernelError('GPU_VALIDATION', key, `shader does not compile: ${moduleError.message}`);
    try {
      const pipeline = await this.device.createComputePipelineAsync({
        label: key,
        layout: this.device.createPipelineLayout({ label: key, bindGroupLayouts: [bindGroupLayout] }),
        compute: { module, entryPoint: reflection.entryPoint },
      });
      return { key, pipeline, bindGroupLayout, reflection };
    } catch (e) {
      throw new GpuKernelError('GPU_VALIDATION', key, `pipeline creation failed: ${(e as Error).message}`);
    }
  }
}
