import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

test('yolor selftest --backend wasm --quick --json passes and reports every check', () => {
  const r = spawnSync(process.execPath, [main, 'selftest', '--backend', 'wasm', '--quick', '--json'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { backend: string; passed: boolean; results: Array<{ group: string; passed: boolean }> };
  assert.equal(report.backend, 'wasm');
  assert.equal(report.passed, true);
  assert.ok(report.results.some((x) => x.group === 'kernel'));
  assert.ok(report.results.some((x) => x.group === 'gradient'));
});

test('yolor selftest prints a table and the passed/failed summary', () => {
  const r = spawnSync(process.execPath, [main, 'selftest', '--backend', 'wasm', '--quick'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /Conv2DBackpropFilter/);
  assert.match(r.stdout, /^\d+ passed, 0 failed$/m);
});
