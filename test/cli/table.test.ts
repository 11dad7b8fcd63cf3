import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatBytes, formatSignificant, formatTable } from '../../src/cli/table.js';

test('formatTable aligns columns, draws a header rule and trims trailing space', () => {
  const out = formatTable(
    [
      ['a', '1.5'],
      ['long name', '10'],
    ],
    { header: ['name', 'value'], align: ['left', 'right'] },
  );
  assert.equal(out, ['name       value', '---------  -----', 'a            1.5', 'long name     10'].join('\n'));
});

test('formatTable indents and tolerates ragged rows', () => {
  assert.equal(formatTable([['x'], ['yy', 'z']], { indent: 2 }), '  x\n  yy  z');
  assert.equal(formatTable([]), '');
});

test('formatSignificant keeps three significant digits', () => {
  assert.equal(formatSignificant(0), '0');
  assert.equal(formatSignificant(0.012345), '0.0123');
  assert.equal(formatSignificant(1.23456e-7), '1.23e-7');
  assert.equal(formatSignificant(123456), '1.23e+5');
  assert.equal(formatSignificant(Number.POSITIVE_INFINITY), 'Infinity');
  assert.equal(formatSignificant(Number.NaN), 'NaN');
});

test('formatBytes', () => {
  assert.equal(formatBytes(8 * 1024 ** 3), '8.0 GiB');
  assert.equal(formatBytes(512 * 1024 ** 2), '512.0 MiB');
});
