import { WgslReflect, ResourceType, type TypeInfo } from 'wgsl_reflect/wgsl_reflect.module.js';
import { InvalidArgumentError } from '../errors.js';

/** Scalar types a uniform member may have; vectors are packed element by element. */
export type UniformScalar = 'u32' | 'i32' | 'f32';

export interface UniformMember {
  readonly name: string;
  readonly offset: number;
  readonly scalar: UniformScalar;
  /** 1 for scalars, 2–4 for vectors. */
  readonly count: number;
}

export interface UniformLayout {
  readonly size: number;
  readonly members: readonly UniformMember[];
}

export type BindingKind = 'uniform' | 'read-only-storage' | 'storage';

export interface ReflectedBinding {
  readonly name: string;
  readonly binding: number;
  readonly kind: BindingKind;
  /** Present for uniform bindings: how to pack named values into the buffer. */
  readonly uniform?: UniformLayout;
}

export interface ShaderReflection {
  readonly entryPoint: string;
  readonly bindings: readonly ReflectedBinding[];
  readonly workgroupSize: readonly [number, number, number];
}

const VECTOR = /^vec([234])<?(u32|i32|f32)?>?([uif])?$/;

function scalarOf(type: TypeInfo, where: string): { scalar: UniformScalar; count: number } {
  const name = type.getTypeName();
  if (name === 'u32' || name === 'i32' || name === 'f32') return { scalar: name, count: 1 };
  const m = VECTOR.exec(name);
  if (m) {
    const scalar = (m[2] ?? ({ u: 'u32', i: 'i32', f: 'f32' } as const)[m[3] as 'u' | 'i' | 'f']) as UniformScalar | undefined;
    if (scalar) return { scalar, count: Number(m[1]) };
  }
  throw new InvalidArgumentError(`${where}: uniform member type ${name} is not supported (use u32/i32/f32 or their vectors)`);
}

/**
 * Reflects the bindings of one compute entry point, so that bind-group layouts and uniform
 * packing are derived from the WGSL itself and can never drift from it. Only resources the entry
 * point actually uses are reported (the layout must match what the pipeline sees).
 */
export function reflectComputeShader(code: string, label: string, entryPoint = 'main'): ShaderReflection {
  const reflect = new WgslReflect(code);
  const entry = reflect.entry.compute.find((f) => f.name === entryPoint);
  if (!entry) throw new InvalidArgumentError(`${label}: no @compute entry point named ${entryPoint}`);
  const bindings: ReflectedBinding[] = [];
  for (const v of entry.resources) {
    if (v.group !== 0) throw new InvalidArgumentError(`${label}: binding ${v.name} uses group ${v.group}; kernels use group 0 only`);
    if (v.resourceType === ResourceType.Uniform) {
      const members = (v.members ?? []).map((m): UniformMember => ({ name: m.name, offset: m.offset, ...scalarOf(m.type, `${label}.${m.name}`) }));
      bindings.push({ name: v.name, binding: v.binding, kind: 'uniform', uniform: { size: v.size, members } });
    } else if (v.resourceType === ResourceType.Storage) {
      bindings.push({ name: v.name, binding: v.binding, kind: v.access === 'read_write' ? 'storage' : 'read-only-storage' });
    } else {
      throw new InvalidArgumentError(`${label}: binding ${v.name} is not a buffer; kernels take buffers only`);
    }
  }
  bindings.sort((a, b) => a.binding - b.binding);
  const ws = entry.workgroupSize ?? [1, 1, 1];
  return { entryPoint, bindings, workgroupSize: [ws[0] ?? 1, ws[1] ?? 1, ws[2] ?? 1] };
}

/** Packs named values into a uniform buffer image; every member must be given, and nothing else. */
export function packUniforms(layout: UniformLayout, values: Readonly<Record<string, number | readonly number[]>>, label: string): ArrayBuffer {
  const data = new ArrayBuffer(Math.max(16, Math.ceil(layout.size / 16) * 16));
  const view = new DataView(data);
  const seen = new Set<string>();
  for (const m of layout.members) {
    const v = values[m.name];
    if (v === undefined) throw new InvalidArgumentError(`${label}: uniform ${m.name} not given`);
    const arr = typeof v === 'number' ? [v] : v;
    if (arr.length !== m.count) throw new InvalidArgumentError(`${label}: uniform ${m.name} needs ${m.count} value(s), got ${arr.length}`);
    arr.forEach((x, i) => {
      const at = m.offset + 4 * i;
      if (m.scalar === 'f32') view.setFloat32(at, x, true);
      else {
        if (!Number.isInteger(x)) throw new InvalidArgumentError(`${label}: uniform ${m.name} must be an integer, got ${x}`);
        if (m.scalar === 'u32') {
          if (x < 0 || x > 0xffffffff) throw new InvalidArgumentError(`${label}: uniform ${m.name} out of u32 range: ${x}`);
          view.setUint32(at, x, true);
        } else view.setInt32(at, x, true);
      }
    });
    seen.add(m.name);
  }
  for (const k of Object.keys(values)) {
    if (!seen.has(k)) throw new InvalidArgumentError(`${label}: unknown uniform ${k}`);
  }
  return data;
}
