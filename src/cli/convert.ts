import { InvalidArgumentError } from '../errors.js';
import { convertCheckpoints } from '../../weights-tools/convert.js';
import { parse, UsageError } from './args.js';
import type { Output } from './enhance.js';

export const CONVERT_USAGE = `nerco-webgpu convert <dir with latest_net_{G_A,Pre,H}.pth> -o <model.safetensors> [--fp16] [--force]`;

export async function runConvert(argv: string[], io: Output): Promise<number> {
  const { values, positionals } = parse(argv, {
    output: { type: 'string', short: 'o' },
    fp16: { type: 'boolean' },
    force: { type: 'boolean' },
  });
  if (positionals.length !== 1 || !values.output) throw new UsageError('expected a checkpoint directory and -o <file>');
  // --weights and loadNeRCo take a file by its .safetensors name: write only what they will read.
  if (!/\.safetensors$/i.test(values.output)) throw new InvalidArgumentError(`${values.output}: the output is a .safetensors file; give it a .safetensors name`);
  await convertCheckpoints(positionals[0]!, values.output, { fp16: values.fp16 ?? false, force: values.force ?? false });
  io.log(`${positionals[0]} → ${values.output}${values.fp16 ? ' (float16)' : ''}`);
  return 0;
}
