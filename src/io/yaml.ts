/**
 * YAML files read with errors that say where the problem is: a malformed file
 * throws `FILE:LINE:COL: malformed YAML: REASON` (one line), an unreadable one
 * `FILE: cannot read: ...`. Used for dataset specs and run arguments.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';

/** Reads and parses a YAML file; malformed YAML throws `FILE:LINE:COL: malformed YAML: ...`. */
export function readYamlFile(path: string, label = path): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`${label}: cannot read: ${(err as Error).message}`);
  }
  try {
    return parseYaml(text);
  } catch (err) {
    const e = err as Error & { linePos?: { line: number; col: number }[] };
    const pos = e.linePos?.[0];
    throw new Error(`${label}${pos ? `:${pos.line}:${pos.col}` : ''}: malformed YAML: ${e.message.split('\n')[0]}`);
  }
}
