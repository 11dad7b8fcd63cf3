/**
 * The native addon built without oneDNN (its own im2col + GEMM and depthwise
 * convolutions: what `npm ci` builds where libdnnl-dev is not installed) passes the same
 * tests as the oneDNN build: the native kernel tests and the whole four-task training
 * step against the cpu reference, run in a child process with YOLOR_NATIVE_ADDON pointing
 * at it. CI builds it (`node native/build-if-available.mjs --required --builtin --copy-to
 * native/build-builtin/yolor_native.node`); skipped, with the reason, where it is absent.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const addon = `${root}native/build-builtin/yolor_native.node`;
const skip = existsSync(addon)
  ? false
  : `no built-in-convolution build at ${addon} (build it: node native/build-if-available.mjs --required --builtin --copy-to ${addon})`;

test('the built-in-convolution addon passes the native kernel tests and the whole-step test', { skip, timeout: 600_000 }, () => {
  const files = ['native.test.js', 'whole-step.test.js'].map((f) => fileURLToPath(new URL(f, import.meta.url)));
  // NODE_TEST_CONTEXT (set by the parent test runner) would make the child report to it instead of printing TAP.
  const { NODE_TEST_CONTEXT: _, ...env0 } = process.env;
  const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', ...files], {
    encoding: 'utf8',
    env: { ...env0, YOLOR_NATIVE_ADDON: addon },
    maxBuffer: 1 << 26,
  });
  const summary = r.stdout.split('\n').filter((l) => /^# (pass|fail|skipped)/.test(l));
  assert.equal(
    r.status,
    0,
    `${summary.join(', ')}\n${r.stdout
      .split('\n')
      .filter((l) => /not ok|error/.test(l))
      .slice(0, 20)
      .join('\n')}`,
  );
  assert.ok(
    summary.some((l) => /^# skipped 0/.test(l)),
    `nothing skipped: ${summary.join(', ')}`,
  );
  // The child really used the built-in convolutions.
  const env = spawnSync(process.execPath, [`${root}dist/src/cli/main.js`, 'env', '--json', '--backend', 'native'], {
    encoding: 'utf8',
    env: { ...process.env, YOLOR_NATIVE_ADDON: addon },
  });
  assert.equal(env.status, 0, env.stderr);
  assert.match(env.stdout, /built-in \(no oneDNN\)/);
});
