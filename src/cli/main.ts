import { NercoError } from '../errors.js';
import { removePendingTemporaryFiles } from '../node/fs-atomic.js';
import { UsageError } from './args.js';
import { CONVERT_USAGE, runConvert } from './convert.js';
import { ENHANCE_USAGE, runEnhance, type Output } from './enhance.js';
import { EVAL_USAGE, runEval } from './eval.js';

const USAGE = `usage:\n  ${ENHANCE_USAGE}\n  ${CONVERT_USAGE}\n  ${EVAL_USAGE}`;
const COMMAND_USAGE: Readonly<Record<string, string>> = { enhance: ENHANCE_USAGE, convert: CONVERT_USAGE, eval: EVAL_USAGE };

/** The CLI: returns the exit code; errors are one line on stderr, never a stack trace. */
export async function main(argv: string[], io: Output = { log: (l) => console.log(l), warn: (l) => console.error(l) }): Promise<number> {
  const [command, ...rest] = argv;
  // Ctrl-C or a kill while an output is being written: remove the temporary file, then exit as
  // the signal would have. (Outputs are renamed into place whole, so none is ever half-written.)
  const onSignal = (signal: NodeJS.Signals): void => {
    removePendingTemporaryFiles();
    io.warn(`nerco-webgpu: interrupted (${signal})`);
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    switch (command) {
      case 'enhance': return await runEnhance(rest, io);
      case 'convert': return await runConvert(rest, io);
      case 'eval': return await runEval(rest, io);
      case undefined: case '-h': case '--help': case 'help':
        io.log(USAGE);
        return command === undefined ? 2 : 0;
      default:
        io.warn(`nerco-webgpu: unknown command '${command}'\n${USAGE}`);
        return 2;
    }
  } catch (e) {
    const msg = e instanceof NercoError ? e.message : e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    const [first, ...more] = msg.split('\n');
    io.warn(`nerco-webgpu: ${first}`);
    if (!(e instanceof NercoError && e.code === 'INVALID_ARGUMENT')) return 1;
    // Exit 2. A command line that does not parse gets the command's usage after the error line.
    if (more.length) io.warn(more.join('\n'));
    if (e instanceof UsageError) io.warn(COMMAND_USAGE[command!] ?? USAGE);
    return 2;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
