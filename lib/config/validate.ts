// Pure: raw JSON value -> Config, or every problem at once, each naming the key, the value and what is expected.
import { z } from 'zod';
import type { Platform } from './platform';
import { completeConfig, configSchema, type Config } from './schema';

export type ValidateResult = { ok: true; config: Config } | { ok: false; problems: string[] };

/** Keys whose values are never shown, whatever they hold (a password given as a number is still a password). */
const SECRET = /password|token|secret/i;

function show(value: unknown, path: (string | number)[] = []): string {
  if (value === undefined) return 'nothing';
  if (path.some((k) => SECRET.test(String(k)))) return '(a value, not shown)';
  const s = JSON.stringify(value);
  return s.length > 60 ? s.slice(0, 57) + '...' : s;
}

function valueAt(root: unknown, path: (string | number)[]): unknown {
  let v: unknown = root;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[k];
  }
  return v;
}

function article(noun: string): string {
  return /^[aeiou]/.test(noun) ? `an ${noun}` : `a ${noun}`;
}

function expected(issue: z.ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return issue.received === 'undefined' ? `${article(issue.expected)} (the key is required)` : article(issue.expected);
    case 'invalid_enum_value':
      return `one of ${issue.options.map((o) => JSON.stringify(o)).join(', ')}`;
    case 'too_small':
      return issue.type === 'string'
        ? `a non-empty string`
        : issue.type === 'array'
          ? `at least ${issue.minimum} entries`
          : `a number >= ${issue.minimum}`;
    case 'too_big':
      return issue.type === 'array' ? `at most ${issue.maximum} entries` : `a number <= ${issue.maximum}`;
    case 'not_multiple_of':
      return `a multiple of ${issue.multipleOf}`;
    case 'invalid_string':
      return issue.message;
    default:
      return issue.message.replace(/^Expected /, '');
  }
}

/**
 * Turn a parsed JSON value into a Config; collects every problem rather than stopping at the first. The paths it does
 * not name get the defaults of its platform, or of `host` (the platform detected) when it says "auto".
 */
export function validateConfig(raw: unknown, host: Platform): ValidateResult {
  const parsed = configSchema.safeParse(raw);
  if (parsed.success) return { ok: true, config: completeConfig(parsed.data, host) };
  const problems: string[] = [];
  for (const issue of parsed.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      const base = issue.path.join('.');
      for (const k of issue.keys) {
        problems.push(`unknown key "${base ? base + '.' : ''}${k}": remove it or check its spelling (see docs/config.md)`);
      }
      continue;
    }
    const key = issue.path.join('.') || '(top level)';
    if (issue.code === 'invalid_type' && issue.path.length === 0) {
      problems.push(`the file holds ${issue.received}, expected a JSON object`);
      continue;
    }
    const got = issue.code === 'invalid_type' && issue.received === 'undefined' ? 'nothing' : show(valueAt(raw, issue.path), issue.path);
    problems.push(`key "${key}" is ${got}, expected ${expected(issue)}`);
  }
  return { ok: false, problems };
}
