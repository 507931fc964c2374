import { parseArgs } from 'node:util';
import { InvalidArgumentError } from '../errors.js';

/** The subset of parseArgs options the CLI uses: named string or boolean flags. */
export type OptionSpec = Readonly<Record<string, { readonly type: 'string' | 'boolean'; readonly short?: string }>>;
export type OptionValues<T extends OptionSpec> = { -readonly [K in keyof T]?: T[K]['type'] extends 'boolean' ? boolean : string };

/** A command line the CLI cannot parse: main() prints the command's usage after the error line. */
export class UsageError extends InvalidArgumentError {}

/** parseArgs (strict, with positionals) with errors turned into one-line UsageErrors. */
export function parse<T extends OptionSpec>(argv: string[], options: T): { values: OptionValues<T>; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return { values: values as OptionValues<T>, positionals };
  } catch (e) {
    throw new UsageError((e as Error).message.split('\n')[0]!);
  }
}

export function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], flag: string, fallback: T): T {
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`${flag} must be one of ${allowed.join(', ')}; got '${value}'`);
  return value as T;
}
