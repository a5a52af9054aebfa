// The one parser of a number of seconds on the command line (`loop --every/--for`, `install --every`).
import { UsageError } from '../errors';

/** `value` as seconds: a plain decimal number, within `range` when given; else a usage error naming the option. */
export function parseSeconds(option: string, value: string, range?: { min: number; max: number }): number {
  const n = Number(value);
  const within = range === undefined || (n >= range.min && n <= range.max);
  if (!/^\d+(\.\d+)?$/.test(value) || !within) {
    throw new UsageError(`${option} "${value}" is not a number of seconds${range ? ` from ${range.min} to ${range.max}` : ''}`);
  }
  return n;
}
