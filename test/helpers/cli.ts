import { main } from '../../src/cli/main.js';

/** One in-process CLI call: its exit code and what it printed, line by line. */
export interface CliRun { code: number; out: string[]; err: string[] }

export async function runCli(...argv: string[]): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { log: (l) => out.push(l), warn: (l) => err.push(l) });
  return { code, out, err };
}
