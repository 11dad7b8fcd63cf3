/** Temporary folders for a test file, removed after its tests. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

const created: string[] = [];
after(() => {
  for (const d of created) rmSync(d, { recursive: true, force: true });
});

export function tmp(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), `yolor-${prefix}-`));
  created.push(d);
  return d;
}
