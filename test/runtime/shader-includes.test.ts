// scripts/embed-shaders.mjs resolves `// #include "lib/…"` lines: every kernel must reach the
// pipeline cache with its helpers inlined exactly once and no directive left (a leftover would
// be a silent comment in WGSL and the helper would be missing at pipeline creation).
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SHADER_SOURCES } from '../../src/kernels/shaders.gen.js';

const SHADERS = fileURLToPath(new URL('../../shaders/', import.meta.url));
const DIRECTIVE = /^[ \t]*\/\/[ \t]*#include[ \t]+"([^"]+)"/gm;

describe('shader includes', () => {
  const kernels = readdirSync(SHADERS).filter((f) => f.endsWith('.wgsl'));

  it('every kernel file is embedded, and no helper library is embedded as a kernel', () => {
    expect(Object.keys(SHADER_SOURCES).sort()).toEqual(kernels.map((f) => f.slice(0, -5)).sort());
  });

  for (const file of kernels) {
    const raw = readFileSync(`${SHADERS}${file}`, 'utf8');
    const included = [...raw.matchAll(DIRECTIVE)].map((m) => m[1]!);
    if (included.length === 0) continue;
    it(`${file}: ${included.join(', ')} inlined once, no directive left`, () => {
      const src = SHADER_SOURCES[file.slice(0, -5)]!;
      expect(src.match(DIRECTIVE)).toBeNull();
      for (const lib of included) {
        expect(src.split(`// ---- ${lib} ----`).length - 1).toBe(1);
        // The helper's own text (its first function) is in the embedded source.
        const body = readFileSync(`${SHADERS}${lib}`, 'utf8');
        const firstFn = /^fn [a-z_]+\(/m.exec(body)![0];
        expect(src).toContain(firstFn);
      }
    });
  }
});
