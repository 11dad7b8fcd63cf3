import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allOptions, COMMANDS, formatCommandHelp, SHARED_OPTIONS } from '../../src/cli/command.js';

test('the registry lists the planned command set once each', () => {
  assert.deepEqual(COMMANDS.map((c) => c.name).sort(), [
    'ablate',
    'cocoeval',
    'data',
    'env',
    'export',
    'info',
    'predict',
    'pretrain',
    'probe',
    'selftest',
    'serve-demo',
    'train',
    'val',
  ]);
});

test('every command accepts the shared options', () => {
  for (const cmd of COMMANDS) {
    const names = allOptions(cmd).map((o) => o.name);
    for (const shared of SHARED_OPTIONS) assert.ok(names.includes(shared.name), `${cmd.name} lacks --${shared.name}`);
  }
});

test('option specs are consistent: unique names, valid defaults, enums with choices', () => {
  for (const cmd of COMMANDS) {
    const names = allOptions(cmd).map((o) => o.name);
    assert.equal(new Set(names).size, names.length, `${cmd.name} has a duplicate option`);
    for (const o of allOptions(cmd)) {
      const where = `${cmd.name} --${o.name}`;
      assert.ok(o.description.length > 0, `${where} needs a description`);
      assert.ok(!o.name.startsWith('no-'), `${where}: declare the positive switch; --no- is derived`);
      if (o.type === 'enum') assert.ok(o.choices?.length, `${where} needs choices`);
      if (o.default === undefined) continue;
      if (o.type === 'enum') assert.ok(o.choices?.includes(String(o.default)), `${where} default not in choices`);
      if (o.type === 'int') assert.ok(Number.isInteger(o.default), `${where} default not an integer`);
      if (o.type === 'number') assert.equal(typeof o.default, 'number', where);
      if (o.type === 'boolean') assert.equal(typeof o.default, 'boolean', where);
      if (o.type === 'string') assert.equal(typeof o.default, 'string', where);
    }
  }
});

test('export documents --no-fuse as an on-by-default switch', () => {
  const exp = COMMANDS.find((c) => c.name === 'export');
  assert.ok(exp);
  assert.equal(exp.options.find((o) => o.name === 'fuse')?.default, true);
  assert.match(formatCommandHelp(exp), /--\[no-\]fuse/);
});
