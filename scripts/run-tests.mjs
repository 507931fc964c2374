// Runs the test suites (the README's test command) and prints "N passed, N failed" last.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'nerco-tests-'));
const suites = [
  { name: 'node', args: ['vitest', 'run'] },
  ...(existsSync('vitest.browser.config.ts') ? [{ name: 'browser', args: ['vitest', 'run', '--config', 'vitest.browser.config.ts'] }] : []),
];
let passed = 0;
let failed = 0;
let code = 0;
for (const s of suites) {
  const out = join(dir, `${s.name}.json`);
  const r = spawnSync('npx', [...s.args, '--reporter=default', '--reporter=json', `--outputFile.json=${out}`], { stdio: 'inherit', env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' } });
  if (r.status !== 0) code = 1;
  if (!existsSync(out)) {
    console.error(`${s.name} suite produced no report (exit ${r.status})`);
    failed += 1;
    continue;
  }
  const report = JSON.parse(readFileSync(out, 'utf8'));
  passed += report.numPassedTests;
  // A file that fails to load has no test results of its own: count it as one failure.
  const brokenFiles = report.testResults.filter((f) => f.status === 'failed' && f.assertionResults.length === 0).length;
  // A skipped or to-do test checked nothing: it counts as a failure, never as a pass.
  const unchecked = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  if (unchecked) console.error(`${s.name} suite: ${unchecked} skipped or to-do test(s), counted as failed`);
  failed += report.numFailedTests + brokenFiles + unchecked;
  // A non-zero exit with no failing test (an unhandled error between tests) is a failure too.
  if (r.status !== 0 && report.numFailedTests + brokenFiles === 0) failed += 1;
  if (report.numTotalTests === 0) code = 1;
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(code || (failed ? 1 : 0));
