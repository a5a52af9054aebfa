// No config error ever shows a secret: not a password of the wrong type, not the text around a JSON syntax error in
// the credentials file (V8's own message quotes it).
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jsonSyntaxWhere } from '../../lib/config/json';
import { loadConfig } from '../../lib/config/load';
import { validateConfig } from '../../lib/config/validate';
import { rawConfig } from '../support/config';

function problemsOf(raw: unknown): string {
  const r = validateConfig(raw, 'esxi');
  if (r.ok) throw new Error('expected problems');
  return r.problems.join('\n');
}

function file(text: string, mode = 0o600): string {
  const path = join(mkdtempSync(join(tmpdir(), 'reroute-secret-')), 'f.json');
  writeFileSync(path, text);
  chmodSync(path, mode);
  return path;
}

describe('secrets in config errors', () => {
  it('a password of the wrong type is named, its value never shown', () => {
    const text = problemsOf({ ...rawConfig('/tmp/x'), api: { username: 'admin', password: 20240611 } });
    expect(text).toMatch(/key "api\.password" is \(a value, not shown\), expected a string/);
    expect(text).not.toContain('20240611');
  });

  it('a JSON syntax error in the credentials file gives only the line and column', () => {
    const creds = file('{\n  "username": "admin",\n  "password": s3cr3t-Pa55\n}\n');
    const config = file(JSON.stringify({ ...rawConfig('/tmp/x'), api: { credentialsFile: creds } }));
    let message = '';
    try {
      loadConfig(config);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toBe(`config: credentials file ${creds} is not valid JSON (a syntax error): fix the syntax`);
    const positioned = file('{\n  "username": "admin",\n  "password": "s3cr3t-Pa55\n}\n');
    const config2 = file(JSON.stringify({ ...rawConfig('/tmp/x'), api: { credentialsFile: positioned } }));
    expect(() => loadConfig(config2)).toThrow(new RegExp(`credentials file ${positioned} is not valid JSON \\(line 3, column \\d+\\)`));
    expect(() => loadConfig(config2)).not.toThrow(/s3cr3t/);
  });

  it('jsonSyntaxWhere counts lines and columns from the position V8 reports', () => {
    const text = '{\n "a": 1,\n "b": x\n}';
    let err: Error = new Error();
    try {
      JSON.parse(text);
    } catch (e) {
      err = e as Error;
    }
    expect(jsonSyntaxWhere('{\n "a": 1,\n "b": "x\n}', new Error('Bad control character in string literal in JSON at position 19'))).toBe(
      'line 3, column 9',
    );
    expect(jsonSyntaxWhere(text, new Error('Unexpected end of JSON input'))).toBe('it ends too early');
    expect(jsonSyntaxWhere(text, err)).toBe('a syntax error'); // V8 quotes the text here, and gives no position
  });
});
