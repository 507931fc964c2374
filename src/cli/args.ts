import { parseArgs, type ParseArgsConfig } from 'node:util';
import { InvalidArgumentError } from '../errors.js';

/** parseArgs with errors turned into one-line InvalidArgumentErrors. */
export function parse<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message.split('\n')[0]!);
  }
}

export function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], flag: string, fallback: T): T {
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) throw new InvalidArgumentError(`${flag} must be one of ${allowed.join(', ')}; got '${value}'`);
  return value as T;
}
