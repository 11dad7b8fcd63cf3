import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { JsonSyntaxError, lineColumn, locateJsonError, parseJsonText, readJsonFile } from '../../src/io/json.js';
import { readYamlFile } from '../../src/io/yaml.js';
import { tmp } from '../helpers/tmp.js';

function rejects(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof JsonSyntaxError, `a JsonSyntaxError, got ${String(err)}`);
    assert.match(err.message, pattern);
    assert.ok(!err.message.includes('\n'), 'one line');
    return true;
  });
}

describe('malformed JSON', () => {
  test('reports file:line:column of the first error', () => {
    const text = '{\n  "images": [1, 2,,]\n}';
    rejects(() => parseJsonText(text, 'gt.json'), /^gt\.json:2:19: malformed JSON: unexpected character ","$/);
  });

  test('end of input, missing commas, trailing commas, single quotes', () => {
    rejects(() => parseJsonText('{"images": [', 'a.json'), /^a\.json:1:13: malformed JSON: unexpected end of input$/);
    rejects(() => parseJsonText('[\n{"a": 1}\n{"b": 2}]', 'b.json'), /^b\.json:3:1: malformed JSON: expected ',' or '\]'/);
    rejects(() => parseJsonText('{"a": 1,\n}', 'c.json'), /^c\.json:2:1: malformed JSON: trailing comma before '}'/);
    rejects(() => parseJsonText("{'a': 1}", 'd.json'), /^d\.json:1:2: malformed JSON: /);
    rejects(() => parseJsonText('[1] x', 'e.json'), /^e\.json:1:5: malformed JSON: unexpected "x" after the end/);
    rejects(() => parseJsonText('[01]', 'f.json'), /^f\.json:1:3: malformed JSON: /);
  });

  test('the locator agrees with JSON.parse on valid input', () => {
    for (const s of ['{}', '[]', ' [1, -2.5e3, "a\\u00e9\\n", true, false, null, {"x": [ ]}] ', '"\\"q\\""', '0']) {
      assert.doesNotThrow(() => JSON.parse(s));
      assert.equal(locateJsonError(s), null, s);
    }
  });

  test('a UTF-8 BOM is accepted', () => {
    assert.deepEqual(parseJsonText('\uFEFF[1]', 'x.json'), [1]);
  });

  test('line and column count from 1, columns restart after each newline', () => {
    assert.deepEqual(lineColumn('ab\ncd', 0), { line: 1, column: 1 });
    assert.deepEqual(lineColumn('ab\ncd', 4), { line: 2, column: 2 });
    assert.deepEqual(lineColumn('ab', 10), { line: 1, column: 3 });
  });
});

describe('readJsonFile', () => {
  test('parses the file; a missing file, a folder and malformed JSON are named', () => {
    const dir = tmp('io-json');
    writeFileSync(join(dir, 'ok.json'), '{"a": [1, 2]}');
    assert.deepEqual(readJsonFile(join(dir, 'ok.json')), { a: [1, 2] });
    assert.throws(
      () => readJsonFile(join(dir, 'missing.json')),
      (e: Error) => e.message === `${join(dir, 'missing.json')}: no such file`,
    );
    mkdirSync(join(dir, 'folder.json'));
    assert.throws(
      () => readJsonFile(join(dir, 'folder.json')),
      (e: Error) => e.message.startsWith(`${join(dir, 'folder.json')}: cannot read: `),
    );
    writeFileSync(join(dir, 'bad.json'), '{\n  "a": [1,]\n}');
    rejects(() => readJsonFile(join(dir, 'bad.json')), /bad\.json:2:11: malformed JSON: trailing comma before '\]'$/);
  });
});

describe('readYamlFile', () => {
  test('parses the file; unreadable and malformed files are named (by the label, when given)', () => {
    const dir = tmp('io-yaml');
    writeFileSync(join(dir, 'ok.yaml'), 'names: [a, b]\nnc: 2\n');
    assert.deepEqual(readYamlFile(join(dir, 'ok.yaml')), { names: ['a', 'b'], nc: 2 });
    assert.throws(() => readYamlFile(join(dir, 'missing.yaml'), 'data.yaml'), /^Error: data\.yaml: cannot read: ENOENT/);
    writeFileSync(join(dir, 'bad.yaml'), 'train: [\nnames: a\n');
    assert.throws(
      () => readYamlFile(join(dir, 'bad.yaml')),
      (e: Error) =>
        new RegExp(`^${join(dir, 'bad.yaml').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:\\d+:\\d+: malformed YAML: `).test(e.message) &&
        !e.message.includes('\n'),
    );
  });
});
