import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';

/** The repository root: this file lives at <root>/test/helpers/shared-path.ts. */
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Absolute path inside the read-only shared folder that sits next to the repository
 * (`<repo root>/../shared/...`), e.g. `sharedPath('fixtures', 'nerco-random', 'dark-40x56', 'input.npy')`.
 */
export function sharedPath(...parts: string[]): string {
  return resolve(REPO_ROOT, '..', 'shared', ...parts);
}

/** Absolute path inside the repository, e.g. `repoPath('test', '.artifacts')`. */
export function repoPath(...parts: string[]): string {
  return resolve(REPO_ROOT, ...parts);
}
