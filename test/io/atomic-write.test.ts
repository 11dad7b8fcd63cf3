import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { recoverAtomicDir, writeFileAtomic, writeFilesAtomic } from '../../src/io/atomic-write.js';

const MODULE_URL = new URL('../../src/io/atomic-write.js', import.meta.url).href;

let root: string;
beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'yolor-atomic-'));
});
afterEach(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

const listRoot = async () => (await fs.readdir(root)).sort();
const read = (p: string) => fs.readFile(p, 'utf8');

/** A pid that certainly no longer runs: a child that already exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '']).pid!;
}

/** Runs writeFilesAtomic in a child process that SIGKILLs itself at `phase`. */
function writeAndGetKilled(dir: string, phase: string): void {
  const script = `
    import { writeFilesAtomic } from ${JSON.stringify(MODULE_URL)};
    await writeFilesAtomic(${JSON.stringify(dir)}, { 'a.txt': 'new' }, {
      hook: (p) => { if (p === ${JSON.stringify(phase)}) process.kill(process.pid, 'SIGKILL'); },
    });`;
  const res = spawnSync(process.execPath, ['--input-type=module', '-e', script]);
  assert.equal(res.signal, 'SIGKILL', res.stderr.toString());
}

describe('writeFileAtomic', () => {
  it('writes, overwrites and leaves no temp files', async () => {
    const file = path.join(root, 'sub', 'f.txt');
    await writeFileAtomic(file, 'one');
    assert.equal(await read(file), 'one');
    await writeFileAtomic(file, new Uint8Array([0x74, 0x77, 0x6f]));
    assert.equal(await read(file), 'two');
    assert.deepEqual(await fs.readdir(path.join(root, 'sub')), ['f.txt']);
  });

  it('keeps the previous content when the write fails before the rename', async () => {
    const file = path.join(root, 'f.txt');
    await writeFileAtomic(file, 'old');
    await assert.rejects(
      writeFileAtomic(file, 'new', {
        hook: () => {
          throw new Error('boom');
        },
      }),
      /boom/,
    );
    assert.equal(await read(file), 'old');
    assert.deepEqual(await listRoot(), ['f.txt']);
  });
});

describe('writeFilesAtomic', () => {
  it('writes a directory and replaces it wholesale', async () => {
    const dir = path.join(root, 'ckpt');
    await writeFilesAtomic(dir, { 'a.txt': 'a1', 'nested/b.bin': new Uint8Array([1, 2]) });
    assert.equal(await read(path.join(dir, 'a.txt')), 'a1');
    assert.deepEqual([...(await fs.readFile(path.join(dir, 'nested/b.bin')))], [1, 2]);

    await writeFilesAtomic(dir, { 'c.txt': 'c2' });
    assert.deepEqual((await fs.readdir(dir)).sort(), ['c.txt']);
    assert.deepEqual(await listRoot(), ['ckpt']);
  });

  it('rejects file names escaping the directory', async () => {
    await assert.rejects(writeFilesAtomic(path.join(root, 'd'), { '../x': 'no' }), /escapes/);
    assert.deepEqual(await listRoot(), []);
  });

  for (const phase of ['temp-written', 'old-moved-aside'] as const) {
    it(`keeps the previous directory when failing at ${phase}`, async () => {
      const dir = path.join(root, 'ckpt');
      await writeFilesAtomic(dir, { 'a.txt': 'old' });
      const hook = (p: string) => {
        if (p === phase) throw new Error('injected failure');
      };
      await assert.rejects(writeFilesAtomic(dir, { 'a.txt': 'new' }, { hook }), /injected/);
      assert.equal(await read(path.join(dir, 'a.txt')), 'old');
      assert.deepEqual(await listRoot(), ['ckpt']);
    });
  }

  it('a process killed before the swap leaves the old dir; the next write cleans the temp dir', async () => {
    const dir = path.join(root, 'ckpt');
    await writeFilesAtomic(dir, { 'a.txt': 'old' });
    writeAndGetKilled(dir, 'temp-written');
    assert.equal(await read(path.join(dir, 'a.txt')), 'old');
    assert.ok((await listRoot()).some((n) => n.startsWith('ckpt.tmp-')));
    await writeFilesAtomic(dir, { 'a.txt': 'newer' });
    assert.equal(await read(path.join(dir, 'a.txt')), 'newer');
    assert.deepEqual(await listRoot(), ['ckpt']);
  });

  it('a process killed mid-swap is recovered by recoverAtomicDir', async () => {
    const dir = path.join(root, 'ckpt');
    await writeFilesAtomic(dir, { 'a.txt': 'old' });
    writeAndGetKilled(dir, 'old-moved-aside');
    const names = await listRoot();
    assert.ok(!names.includes('ckpt'), `ckpt should be missing mid-swap: ${names}`);
    assert.ok(names.some((n) => n.startsWith('ckpt.old-')));

    assert.equal(await recoverAtomicDir(dir), true);
    assert.equal(await read(path.join(dir, 'a.txt')), 'old');
    assert.deepEqual(await listRoot(), ['ckpt']);
  });
});

describe('recoverAtomicDir', () => {
  it('restores the newest .old-* copy of a dead writer', async () => {
    const dir = path.join(root, 'ckpt');
    const pid = deadPid();
    const older = `${dir}.old-${pid}-aaaa`;
    const newer = `${dir}.old-${pid}-bbbb`;
    await fs.mkdir(older);
    await fs.writeFile(path.join(older, 'v'), '1');
    await fs.utimes(older, new Date(1000), new Date(1000));
    await fs.mkdir(newer);
    await fs.writeFile(path.join(newer, 'v'), '2');

    assert.equal(await recoverAtomicDir(dir), true);
    assert.equal(await read(path.join(dir, 'v')), '2');
    assert.deepEqual(await listRoot(), ['ckpt']);
  });

  it('does nothing when the dir exists, and leaves leftovers of live writers alone', async () => {
    const dir = path.join(root, 'ckpt');
    await fs.mkdir(dir);
    const live = `${dir}.tmp-${process.pid}-cccc`;
    await fs.mkdir(live);
    assert.equal(await recoverAtomicDir(dir), false);
    assert.deepEqual(await listRoot(), ['ckpt', path.basename(live)]);
    assert.equal(await recoverAtomicDir(path.join(root, 'absent')), false);
  });
});
