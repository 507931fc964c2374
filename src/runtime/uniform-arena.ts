import { BufferUsage } from './gpu-constants.js';

/**
 * Uniforms for a whole recorded pass: each dispatch gets a 256-byte-aligned slot in a chunk;
 * `flush()` uploads every chunk with one writeBuffer each, before the commands are submitted.
 * Chunks go back to a free list when the owner says the GPU is done with them.
 */
const CHUNK_BYTES = 64 * 1024;
const SLOT_ALIGN = 256;

interface Chunk {
  readonly buffer: GPUBuffer;
  readonly shadow: Uint8Array<ArrayBuffer>;
  used: number;
}

export interface UniformSlot {
  readonly buffer: GPUBuffer;
  readonly offset: number;
  readonly size: number;
}

export class UniformArena {
  private readonly freeChunks: Chunk[] = [];
  private active: Chunk[] = [];

  constructor(private readonly device: GPUDevice) {}

  allocate(data: ArrayBuffer): UniformSlot {
    if (data.byteLength > CHUNK_BYTES) throw new RangeError(`uniform block of ${data.byteLength} bytes is too large`);
    let chunk = this.active[this.active.length - 1];
    if (!chunk || chunk.used + data.byteLength > CHUNK_BYTES) {
      chunk = this.freeChunks.pop() ?? {
        buffer: this.device.createBuffer({ label: 'uniforms', size: CHUNK_BYTES, usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST }),
        shadow: new Uint8Array(CHUNK_BYTES),
        used: 0,
      };
      chunk.used = 0;
      this.active.push(chunk);
    }
    const offset = chunk.used;
    chunk.shadow.set(new Uint8Array(data), offset);
    chunk.used = Math.ceil((offset + data.byteLength) / SLOT_ALIGN) * SLOT_ALIGN;
    return { buffer: chunk.buffer, offset, size: data.byteLength };
  }

  /** Uploads what was allocated since the last flush and hands back a token for `recycle`. */
  flush(): Chunk[] {
    for (const c of this.active) this.device.queue.writeBuffer(c.buffer, 0, c.shadow, 0, c.used);
    const done = this.active;
    this.active = [];
    return done;
  }

  recycle(chunks: readonly Chunk[]): void {
    this.freeChunks.push(...chunks);
  }

  destroy(): void {
    for (const c of [...this.freeChunks, ...this.active]) c.buffer.destroy();
    this.freeChunks.length = 0;
    this.active = [];
  }
}
