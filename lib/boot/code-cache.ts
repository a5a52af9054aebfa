// Compile a CommonJS bundle with a V8 code cache (Node 20 has no module compile cache of its own).
// A pass is a fresh process every few seconds: without a cache, V8 parses the 0.85 MB bundle and compiles every
// function a pass calls, every time. The cache holds the bytecode of the functions a completed pass used.
//
// The cache file is trusted code, so it is used only when it is ours: owned by this user, not writable by group or
// others, written whole (temp file + rename). V8 checks its own version, flags and the source length; the header
// adds the bundle's size and mtime, so a rebuilt bundle of the same length never runs stale bytecode.
import { closeSync, fstatSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import Module from 'node:module';
import { dirname } from 'node:path';
import { Script } from 'node:vm';

const MAGIC = 'reroute-code-cache 1';

export type CacheStatus = 'used' | 'missing' | 'rejected' | 'stale' | 'unsafe';

export interface LoadedBundle {
  exports: Record<string, unknown>;
  /** what happened to the cache file at load */
  cache: CacheStatus;
  /** Write a fresh cache with every function compiled so far (sync; call at exit). Returns false when it cannot. */
  saveCache(): boolean;
}

/** Identity of the bundle this cache was made from. */
function keyOf(st: { size: number; mtimeMs: number }): string {
  return `${st.size} ${st.mtimeMs}`;
}

function header(key: string): Buffer {
  return Buffer.from(`${MAGIC}\n${key}\n`, 'latin1');
}

/** The cache's V8 data when the file is ours and made from this bundle; otherwise why not. */
function readCache(cacheFile: string, key: string): Buffer | Exclude<CacheStatus, 'used' | 'rejected'> {
  let fd: number;
  try {
    fd = openSync(cacheFile, 'r');
  } catch {
    return 'missing';
  }
  try {
    const st = fstatSync(fd);
    const uid = process.getuid?.();
    if ((uid !== undefined && st.uid !== uid) || (st.mode & 0o022) !== 0 || !st.isFile()) return 'unsafe';
    const data = readFileSync(fd);
    const head = header(key);
    if (data.length <= head.length || !data.subarray(0, head.length).equals(head)) return 'stale';
    return data.subarray(head.length);
  } finally {
    closeSync(fd);
  }
}

/** Load `bundleFile` (CommonJS) the way require() would, with the code cache at `cacheFile`. */
export function loadBundle(bundleFile: string, cacheFile: string): LoadedBundle {
  const fd = openSync(bundleFile, 'r');
  let source: string;
  let key: string;
  try {
    key = keyOf(fstatSync(fd));
    source = readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
  const found = readCache(cacheFile, key);
  const script = new Script(Module.wrap(source), {
    filename: bundleFile,
    ...(Buffer.isBuffer(found) ? { cachedData: found } : {}),
  });
  const cache: CacheStatus = Buffer.isBuffer(found) ? (script.cachedDataRejected ? 'rejected' : 'used') : found;

  const mod = { exports: {} as Record<string, unknown>, filename: bundleFile, id: bundleFile };
  const wrapper = script.runInThisContext() as (...args: unknown[]) => void;
  wrapper.call(mod.exports, mod.exports, Module.createRequire(bundleFile), mod, bundleFile, dirname(bundleFile));

  return {
    exports: mod.exports,
    cache,
    saveCache() {
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      try {
        // the bundle may have been replaced while this run used it: key the cache to what was compiled
        if (keyOf(statSync(bundleFile)) !== key) return false;
        // Open first: where the cache cannot be written (a read-only dist/), every pass would otherwise serialise
        // the cache (milliseconds of CPU) only to fail.
        const fd = openSync(tmp, 'w', 0o600);
        try {
          writeFileSync(fd, Buffer.concat([header(key), script.createCachedData()]));
        } finally {
          closeSync(fd);
        }
        renameSync(tmp, cacheFile);
        return true;
      } catch {
        try {
          unlinkSync(tmp);
        } catch {
          // nothing to clean
        }
        return false;
      }
    },
  };
}
