/**
 * Before the browser suite: embed the shaders and build the browser bundle (so the pages test the
 * current source), write the test assets the pages fetch (tiny random weights, PNG inputs), and
 * start the static server on 127.0.0.1 with ../shared/fixtures mounted at /fixtures/.
 */
import { execFileSync } from 'node:child_process';
import type { TestProject } from 'vitest/node';
import { startServer } from '../../scripts/serve.mjs';
import { repoPath, sharedPath } from '../helpers/shared-path.js';
import { writeBrowserAssets } from './assets.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** http://127.0.0.1:<port>/ serving the repository root, fixtures under /fixtures/. */
    serverUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const root = repoPath();
  execFileSync(process.execPath, ['scripts/embed-shaders.mjs'], { cwd: root, stdio: 'inherit' });
  execFileSync(process.execPath, ['scripts/build-browser.mjs'], { cwd: root, stdio: 'inherit' });
  writeBrowserAssets();
  const server = await startServer({ root, port: 0, mounts: { '/fixtures/': sharedPath('fixtures') } });
  project.provide('serverUrl', server.url);
  return () => server.close();
}
