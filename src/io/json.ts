/**
 * JSON files read with errors that say where the problem is: a malformed file
 * throws `FILE:LINE:COL: malformed JSON: REASON` (one line), an unreadable one
 * `FILE: no such file` or `FILE: cannot read: ...`. Used by the dataset
 * readers (COCO instances, dataset specs) and by COCO evaluation.
 */
import { readFileSync } from 'node:fs';

/** A malformed JSON text; the message is `SOURCE:LINE:COL: malformed JSON: REASON`. */
export class JsonSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JsonSyntaxError';
  }
}

export interface JsonErrorLocation {
  /** 0-based offset in UTF-16 code units. */
  offset: number;
  /** 1-based line and column. */
  line: number;
  column: number;
  reason: string;
}

class Located extends Error {
  constructor(
    readonly offset: number,
    readonly reason: string,
  ) {
    super(reason);
  }
}

/** 1-based line and column of a string offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(offset, text.length);
  for (let i = 0; i < end; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: end - lineStart + 1 };
}

function describeChar(c: string): string {
  return JSON.stringify(c);
}

/**
 * Scans `text` as strict JSON (RFC 8259) without building values and returns
 * where and why it first goes wrong, or null when it is valid. JSON.parse's own
 * messages carry no position in some cases (and their wording varies between V8
 * versions), hence this small scanner.
 */
export function locateJsonError(text: string): JsonErrorLocation | null {
  const n = text.length;
  let i = 0;
  const fail = (reason: string, at = i): never => {
    throw new Located(at, at >= n ? 'unexpected end of input' : reason);
  };
  const ws = (): void => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 32 || c === 9 || c === 10 || c === 13) i++;
      else break;
    }
  };
  const isDigit = (c: number): boolean => c >= 48 && c <= 57;
  const str = (): void => {
    i++; // opening quote
    for (;;) {
      if (i >= n) fail('unterminated string');
      const c = text.charCodeAt(i);
      if (c === 34) {
        i++;
        return;
      }
      if (c === 92) {
        const e = text[i + 1];
        if (e === undefined) fail('unterminated string', n);
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail('invalid \\u escape in string');
          i += 6;
        } else if ('"\\/bfnrt'.includes(e!)) {
          i += 2;
        } else {
          fail(`invalid escape \\${e} in string`);
        }
        continue;
      }
      if (c < 0x20) fail('control character in string (unescaped newline or tab?)');
      i++;
    }
  };
  const num = (): void => {
    if (text[i] === '-') i++;
    if (i < n && text[i] === '0') i++;
    else if (i < n && isDigit(text.charCodeAt(i))) while (i < n && isDigit(text.charCodeAt(i))) i++;
    else fail('invalid number');
    if (text[i] === '.') {
      i++;
      if (!(i < n && isDigit(text.charCodeAt(i)))) fail('invalid number: digits expected after the decimal point');
      while (i < n && isDigit(text.charCodeAt(i))) i++;
    }
    if (text[i] === 'e' || text[i] === 'E') {
      i++;
      if (text[i] === '+' || text[i] === '-') i++;
      if (!(i < n && isDigit(text.charCodeAt(i)))) fail('invalid number: digits expected in the exponent');
      while (i < n && isDigit(text.charCodeAt(i))) i++;
    }
  };
  const value = (): void => {
    ws();
    if (i >= n) fail('unexpected end of input');
    const c = text[i]!;
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail(text[i] === '}' ? "trailing comma before '}'" : 'expected a property name in double quotes');
        str();
        ws();
        if (text[i] !== ':') fail("expected ':' after the property name");
        i++;
        value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return;
        }
        fail("expected ',' or '}' after a property value");
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] === ']') fail("trailing comma before ']'");
        value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return;
        }
        fail("expected ',' or ']' after an array element");
      }
    }
    if (c === '"') {
      str();
      return;
    }
    if (c === '-' || isDigit(c.charCodeAt(0))) {
      num();
      return;
    }
    for (const lit of ['true', 'false', 'null']) {
      if (text.startsWith(lit, i)) {
        i += lit.length;
        return;
      }
    }
    if (c === "'") fail('strings must use double quotes');
    fail(`unexpected character ${describeChar(c)}`);
  };
  try {
    value();
    ws();
    if (i < n) fail(`unexpected ${describeChar(text[i]!)} after the end of the JSON value`);
    return null;
  } catch (e) {
    if (e instanceof Located) return { offset: e.offset, ...lineColumn(text, e.offset), reason: e.reason };
    if (e instanceof RangeError) return null; // nesting too deep for this scanner
    throw e;
  }
}

/** JSON.parse with errors of the form `FILE:LINE:COL: malformed JSON: REASON`. */
export function parseJsonText(text: string, source: string): unknown {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    return JSON.parse(body);
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
    const loc = locateJsonError(body);
    if (loc) throw new JsonSyntaxError(`${source}:${loc.line}:${loc.column}: malformed JSON: ${loc.reason}`);
    const m = /position (\d+)/.exec(err.message);
    if (m) {
      const { line, column } = lineColumn(body, Number(m[1]));
      throw new JsonSyntaxError(`${source}:${line}:${column}: malformed JSON: ${err.message.split('\n')[0]}`);
    }
    throw new JsonSyntaxError(`${source}: malformed JSON: ${err.message.split('\n')[0]}`);
  }
}

/** Reads and parses a JSON file; malformed JSON throws `FILE:LINE:COL: malformed JSON: ...`. */
export function readJsonFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new Error(e.code === 'ENOENT' ? `${path}: no such file` : `${path}: cannot read: ${e.message}`);
  }
  return parseJsonText(text, path);
}
