// The code cache loader: the cache is used only when it is ours and made from this very bundle; anything else falls
// back to a plain compile, and the bundle always runs.
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadBundle } from '../../lib/boot/code-cache';

let dir: string;
let bundle: string;
let cache: string;

function writeBundle(greeting: string): void {
  writeFileSync(
    bundle,
    `'use strict';\nconst path = require('node:path');\n` +
      `exports.hello = function hello() { return '${greeting} from ' + path.basename(__filename); };\n` +
      `exports.dir = __dirname;\nexports.self = module.exports === exports;\n`,
  );
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'reroute-cc-'));
  bundle = join(dir, 'main.js');
  cache = `${bundle}.cache`;
  writeBundle('hi');
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('loadBundle', () => {
  it('runs a CommonJS bundle like require() would, without a cache at first', () => {
    const b = loadBundle(bundle, cache);
    expect(b.cache).toBe('missing');
    expect((b.exports.hello as () => string)()).toBe('hi from main.js');
    expect(b.exports.dir).toBe(dir);
    expect(b.exports.self).toBe(true);
  });

  it('writes a 0600 cache keyed to the bundle, and the next load uses it', () => {
    const first = loadBundle(bundle, cache);
    (first.exports.hello as () => string)();
    expect(first.saveCache()).toBe(true);
    expect(statSync(cache).mode & 0o777).toBe(0o600);
    const st = statSync(bundle);
    expect(readFileSync(cache, 'latin1').startsWith(`reroute-code-cache 1\n${st.size} ${st.mtimeMs}\n`)).toBe(true);

    const second = loadBundle(bundle, cache);
    expect(second.cache).toBe('used');
    expect((second.exports.hello as () => string)()).toBe('hi from main.js');
  });

  it('ignores the cache of an older bundle of the same length: the new code runs', () => {
    loadBundle(bundle, cache).saveCache();
    writeBundle('yo'); // same length, new content
    const later = new Date(Date.now() + 5000);
    utimesSync(bundle, later, later);
    const b = loadBundle(bundle, cache);
    expect(b.cache).toBe('stale');
    expect((b.exports.hello as () => string)()).toBe('yo from main.js');
  });

  it('refuses a cache that group or others may write (it is code)', () => {
    loadBundle(bundle, cache).saveCache();
    chmodSync(cache, 0o664);
    const b = loadBundle(bundle, cache);
    expect(b.cache).toBe('unsafe');
    expect((b.exports.hello as () => string)()).toBe('hi from main.js');
  });

  it('survives a cache V8 rejects (damaged data, another Node version)', () => {
    const st = statSync(bundle);
    writeFileSync(cache, Buffer.concat([Buffer.from(`reroute-code-cache 1\n${st.size} ${st.mtimeMs}\n`), Buffer.alloc(4096, 7)]), {
      mode: 0o600,
    });
    const b = loadBundle(bundle, cache);
    expect(b.cache).toBe('rejected');
    expect((b.exports.hello as () => string)()).toBe('hi from main.js');
    // and a fresh cache replaces it
    expect(b.saveCache()).toBe(true);
    expect(loadBundle(bundle, cache).cache).toBe('used');
  });

  it('does not write a cache when the bundle was replaced while it ran', () => {
    const b = loadBundle(bundle, cache);
    writeBundle('yo');
    const later = new Date(Date.now() + 5000);
    utimesSync(bundle, later, later);
    expect(b.saveCache()).toBe(false);
    expect(() => statSync(cache)).toThrow(/ENOENT/);
  });

  it('reports a cache it cannot write (read-only place) as false, without throwing', () => {
    const b = loadBundle(bundle, join(dir, 'no-such-dir', 'main.js.cache'));
    expect(b.saveCache()).toBe(false);
  });
});
