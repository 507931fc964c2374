import { parseArgs } from 'node:util';
import { InvalidArgumentError } from '../errors.js';

/** The subset of parseArgs options the CLI uses: named string or boolean flags. */
export type OptionSpec = Readonly<Record<string, { readonly type: 'string' | 'boolean'; readonly short?: string }>>;
export type OptionValues<T extends OptionSpec> = { -readonly [K in keyof T]?: T[K]['type'] extends 'boolean' ? boolean : string };

/** parseArgs (strict, with positionals) with errors turned into one-line InvalidArgumentErrors. */
export function parse<T extends OptionSpec>(argv: string[], options: T): { values: OptionValues<T>; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return { values: values as OptionValues<T>, positionals };
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message.split('\n')[0]!);
  }
}

export function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], flag: string, fallback: T): T {
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) throw new InvalidArgumentError(`${flag} must be one of ${allowed.join(', ')}; got '${value}'`);
  return value as T;
}
