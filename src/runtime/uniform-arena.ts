import { BufferUsage } from './gpu-constants.js';

/**
 * Uniform blocks, content-addressed: a block is written once into a 256-byte-aligned slot and
 * every later dispatch with the same bytes binds the same slot. For a given image size a forward
 * pass issues the same blocks every call, so in steady state nothing is uploaded at all, and a
 * slot's contents never change while any recorded command buffer may still read it (which makes
 * recording into a caller's encoder safe however late the caller submits).
 *
 * The cache grows with the number of distinct sizes seen; the runtime empties it when it is
 * large and no recorded work can still read it.
 */
const CHUNK_BYTES = 64 * 1024;
const SLOT_ALIGN = 256;
const RESET_ABOVE_BYTES = 8 * 1024 * 1024;

interface Chunk {
  readonly buffer: GPUBuffer;
  readonly shadow: Uint8Array<ArrayBuffer>;
  used: number;
  /** Bytes [dirtyFrom, used) are not yet uploaded. */
  dirtyFrom: number;
}

export interface UniformSlot {
  readonly buffer: GPUBuffer;
  readonly offset: number;
  readonly size: number;
}

function keyOf(data: ArrayBuffer): string {
  const w = new Uint32Array(data);
  let s = '';
  for (let i = 0; i < w.length; i++) s += w[i]!.toString(36) + ',';
  return s;
}

export class UniformArena {
  private chunks: Chunk[] = [];
  private readonly slots = new Map<string, UniformSlot>();

  constructor(private readonly device: GPUDevice) {}

  get bytes(): number { return this.chunks.length * CHUNK_BYTES; }

  allocate(data: ArrayBuffer): UniformSlot {
    if (data.byteLength % 4 !== 0 || data.byteLength > CHUNK_BYTES) throw new RangeError(`uniform block of ${data.byteLength} bytes`);
    const key = keyOf(data);
    const hit = this.slots.get(key);
    if (hit) return hit;
    let chunk = this.chunks[this.chunks.length - 1];
    if (!chunk || chunk.used + data.byteLength > CHUNK_BYTES) {
      chunk = {
        buffer: this.device.createBuffer({ label: 'uniforms', size: CHUNK_BYTES, usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST }),
        shadow: new Uint8Array(CHUNK_BYTES),
        used: 0,
        dirtyFrom: 0,
      };
      this.chunks.push(chunk);
    }
    const offset = chunk.used;
    chunk.shadow.set(new Uint8Array(data), offset);
    chunk.used = Math.ceil((offset + data.byteLength) / SLOT_ALIGN) * SLOT_ALIGN;
    const slot = { buffer: chunk.buffer, offset, size: data.byteLength };
    this.slots.set(key, slot);
    return slot;
  }

  /** Uploads the slots created since the last flush (queue order puts them before the next submit). */
  flush(): void {
    for (const c of this.chunks) {
      if (c.dirtyFrom < c.used) {
        this.device.queue.writeBuffer(c.buffer, c.dirtyFrom, c.shadow, c.dirtyFrom, c.used - c.dirtyFrom);
        c.dirtyFrom = c.used;
      }
    }
  }

  /** Large enough that emptying it (when no recorded work is pending) is worth a wait. */
  get isLarge(): boolean { return this.bytes > RESET_ABOVE_BYTES; }

  /** Drops every slot; only when no recorded work that binds them is pending. */
  destroy(): void {
    for (const c of this.chunks) c.buffer.destroy();
    this.chunks = [];
    this.slots.clear();
  }
}
