// A config file's text as JSON, stricter than JSON.parse where a person's edit goes wrong silently: a key given twice
// (JSON.parse keeps the last, so the first edit seems to do nothing) is refused, naming both lines; a syntax error is
// given as its line and column only (V8's message quotes the text, which in a credentials file is the password); a
// UTF-8 byte order mark, which some Windows editors write, is accepted. Pure.

/** Where a JSON syntax error is, as "line L, column C", from the position V8 reports; nothing of the text itself. */
export function jsonSyntaxWhere(text: string, err: Error): string {
  const m = /at position (\d+)/.exec(err.message);
  if (m) return where(text, Number(m[1]));
  return /end of JSON input/.test(err.message) ? 'it ends too early' : 'a syntax error';
}

function where(text: string, offset: number): string {
  const before = text.slice(0, offset);
  return `line ${before.split('\n').length}, column ${before.length - before.lastIndexOf('\n')}`;
}

/** The first key an object of valid JSON `text` holds twice, with both places; null when none does. */
export function duplicateKey(text: string): { key: string; first: string; again: string } | null {
  type Frame = { object: true; path: string; keys: Map<string, number>; expectKey: boolean; key: string | null } | { object: false; path: string; index: number };
  const stack: Frame[] = [];
  const child = (): string => {
    const top = stack[stack.length - 1];
    if (!top) return '';
    const name = top.object ? top.key ?? '' : String(top.index);
    return top.path === '' ? name : `${top.path}.${name}`;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    const top = stack[stack.length - 1];
    if (c === '"') {
      const start = i;
      let s = '';
      for (i++; text[i] !== '"'; i++) {
        if (text[i] === '\\') {
          s += text.slice(i, i + (text[i + 1] === 'u' ? 6 : 2));
          i += text[i + 1] === 'u' ? 5 : 1;
        } else s += text[i];
      }
      if (top?.object && top.expectKey) {
        const key = JSON.parse(`"${s}"`) as string;
        const seen = top.keys.get(key);
        const path = top.path === '' ? key : `${top.path}.${key}`;
        if (seen !== undefined) return { key: path, first: where(text, seen), again: where(text, start) };
        top.keys.set(key, start);
        top.key = key;
        top.expectKey = false;
      }
    } else if (c === '{') {
      stack.push({ object: true, path: child(), keys: new Map(), expectKey: true, key: null });
    } else if (c === '[') {
      stack.push({ object: false, path: child(), index: 0 });
    } else if (c === '}' || c === ']') {
      stack.pop();
    } else if (c === ',' && top) {
      if (top.object) top.expectKey = true;
      else top.index++;
    }
  }
  return null;
}

/** A config file's text as a JSON value, or the one problem (without the text's content) and its fix. */
export function parseConfigJson(text: string): { ok: true; value: unknown } | { ok: false; problem: string } {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (e) {
    return { ok: false, problem: `is not valid JSON (${jsonSyntaxWhere(body, e as Error)}): fix the syntax` };
  }
  const dup = duplicateKey(body);
  if (dup) return { ok: false, problem: `gives key "${dup.key}" twice (${dup.first} and ${dup.again}): keep one (JSON readers keep only the last)` };
  return { ok: true, value };
}
