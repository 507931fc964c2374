import { InvalidArgumentError } from '../../src/errors.js';
import type { Shape3, Shape4 } from './types.js';

/** Throws unless `data` holds exactly the elements `shape` describes. */
export function checkLength(what: string, data: ArrayLike<number>, shape: readonly number[]): void {
  const expected = shape.reduce((a, b) => a * b, 1);
  if (data.length !== expected) {
    throw new InvalidArgumentError(`${what}: length ${data.length} does not match shape [${shape.join(', ')}]`);
  }
}

export function checkShape3(what: string, shape: Shape3): void {
  if (shape.length !== 3 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new InvalidArgumentError(`${what}: expected a [C, H, W] shape of positive integers, got [${shape.join(', ')}]`);
  }
}

export function checkShape4(what: string, shape: Shape4): void {
  if (shape.length !== 4 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new InvalidArgumentError(`${what}: expected a 4-d shape of positive integers, got [${shape.join(', ')}]`);
  }
}

export function ensure(condition: boolean, message: string): asserts condition {
  if (!condition) throw new InvalidArgumentError(message);
}
