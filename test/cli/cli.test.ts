/**
 * End-to-end checks of the `yolor` binary's contract: exit codes 0/1/2, one-line
 * errors on stderr, help for every command, and `env` on the offline backends.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const COMMAND_NAMES = ['train', 'val', 'predict', 'export', 'serve-demo', 'cocoeval', 'data', 'info', 'selftest', 'env'];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function yolor(...args: string[]): Promise<Run> {
  // Without YOLOR_DEBUG so errors take their one-line form whatever the caller's environment.
  const env = { ...process.env };
  delete env.YOLOR_DEBUG;
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { env, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

function stderrLines(r: Run): string[] {
  return r.stderr.split('\n').filter((l) => l.length > 0);
}

function assertOneLineError(r: Run, code: number, prefix: string, pattern: RegExp): void {
  assert.equal(r.code, code, `exit code (stderr: ${r.stderr})`);
  const lines = stderrLines(r);
  assert.equal(lines.length, 1, `exactly one stderr line, got:\n${r.stderr}`);
  assert.ok(lines[0]!.startsWith(`${prefix}: `), lines[0]);
  assert.match(lines[0]!, pattern);
}

describe('yolor top level', { concurrency: true }, () => {
  for (const argv of [[], ['--help'], ['help']]) {
    test(`yolor ${argv.join(' ')} lists every command`, async () => {
      const r = await yolor(...argv);
      assert.equal(r.code, 0);
      for (const name of COMMAND_NAMES) assert.match(r.stdout, new RegExp(`^  ${name} +\\S`, 'm'));
    });
  }

  test('--version prints the package version', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    const r = await yolor('--version');
    assert.equal(r.code, 0);
    assert.equal(r.stdout.trim(), pkg.version);
  });

  test('an unknown command exits 2 with one line', async () => {
    assertOneLineError(await yolor('frobnicate'), 2, 'yolor', /unknown command 'frobnicate'/);
  });

  test("help <command> prints that command's help", async () => {
    const r = await yolor('help', 'env');
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Usage: yolor env/);
  });
});

describe('yolor <command>', { concurrency: true }, () => {
  for (const name of COMMAND_NAMES) {
    test(`${name} --help documents its options and --backend`, async () => {
      const r = await yolor(name, '--help');
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      assert.match(r.stdout, new RegExp(`^Usage: yolor ${name}`));
      assert.match(r.stdout, /--backend <auto\|native\|node\|wasm\|cpu>.*\(default: auto\)/);
    });

    test(`${name} rejects an unknown option with exit 2`, async () => {
      assertOneLineError(await yolor(name, '--bogus-flag'), 2, `yolor ${name}`, /unknown option --bogus-flag \(see 'yolor [\w-]+ --help'\)$/);
    });

    test(`${name} rejects a bad --backend value with exit 2`, async () => {
      assertOneLineError(
        await yolor(name, '--backend', 'gpu'),
        2,
        `yolor ${name}`,
        /--backend must be one of auto, native, node, wasm, cpu \(got 'gpu'\)/,
      );
    });
  }

  test('export without --weights is a usage error; a missing checkpoint is a runtime error naming it', async () => {
    assertOneLineError(await yolor('export'), 2, 'yolor export', /--weights is required/);
    assertOneLineError(await yolor('export', '--weights', 'no/such/ckpt', '--backend', 'wasm'), 1, 'yolor export', /no[/]such[/]ckpt/);
  });

  test('data without its action is a usage error', async () => {
    assertOneLineError(await yolor('data'), 2, 'yolor data', /missing <action>/);
  });

  test('a bad number is a usage error', async () => {
    assertOneLineError(await yolor('selftest', '--seed', 'x'), 2, 'yolor selftest', /--seed expects a number, got 'x'/);
  });
});

describe('yolor env', { concurrency: true }, () => {
  test('--json --backend wasm reports the wasm backend, its reason and SIMD', async () => {
    const r = await yolor('env', '--json', '--backend', 'wasm');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '', 'no tfjs banner or warnings');
    const report = JSON.parse(r.stdout) as Record<string, unknown> & { backend: Record<string, unknown> };
    assert.equal(report.backend.name, 'wasm');
    assert.equal(report.backend.requested, 'wasm');
    assert.equal(typeof report.backend.reason, 'string');
    assert.ok((report.backend.reason as string).length > 0);
    assert.equal(typeof report.backend.simd, 'boolean');
    assert.equal(report.node, process.version);
    assert.match(String(report.tfjsCore), /^\d+\.\d+\.\d+/);
    assert.ok(Number(report.cpuCores) >= 1);
    assert.ok(Number(report.totalMemoryBytes) > 0);
  });

  test('a backend that cannot load is a runtime error: exit 1, one line', async (t) => {
    const r = await yolor('env', '--backend', 'node');
    if (r.code === 0) return t.skip('@tensorflow/tfjs-node is installed here');
    assertOneLineError(r, 1, 'yolor env', /tfjs-node/);
  });

  test('--backend cpu prints a readable report', async () => {
    const r = await yolor('env', '--backend', 'cpu');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.match(r.stdout, /^backend +cpu \(requested: cpu\)$/m);
    assert.match(r.stdout, /^reason +requested explicitly$/m);
    assert.match(r.stdout, /^tfjs-core +\d+\.\d+\.\d+/m);
  });
});
