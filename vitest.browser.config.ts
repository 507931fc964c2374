// The browser suite (npm run test:browser): vitest in Node drives Debian's /usr/bin/chromium through
// puppeteer-core; pages are served from 127.0.0.1 by scripts/serve.mjs (started in global-setup).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/browser/**/*.test.ts'],
    globalSetup: ['test/browser/global-setup.ts'],
    // One Chromium at a time: SwiftShader uses every core it can get.
    fileParallelism: false,
    pool: 'forks',
    testTimeout: 240_000,
    hookTimeout: 240_000,
  },
});
