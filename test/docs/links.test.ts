/**
 * The README and docs/ link to each other by relative paths and #anchors: every
 * such link points at a file that exists and, where it names a section, at a
 * heading of that file (GitHub's slug rules); every image shown exists.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

/** dist/test/docs/ → repository root */
const ROOT = resolve(fileURLToPath(new URL('../../../', import.meta.url)));

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/`/g, '')
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function anchors(file: string): Set<string> {
  const text = readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '');
  const out = new Set<string>();
  for (const m of text.matchAll(/^#{1,6}\s+(.+)$/gm)) out.add(slug(m[1]!));
  return out;
}

function markdownFiles(): string[] {
  const docs = join(ROOT, 'docs');
  return [
    join(ROOT, 'README.md'),
    ...readdirSync(docs)
      .filter((f) => f.endsWith('.md'))
      .map((f) => join(docs, f)),
  ];
}

test('every relative link and image in the README and docs/ resolves, anchors included', () => {
  const problems: string[] = [];
  let checked = 0;
  for (const file of markdownFiles()) {
    const text = readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '');
    for (const m of text.matchAll(/!?\[[^\]]*\]\(([^)\s]+)\)/g)) {
      const target = m[1]!;
      if (/^[a-z]+:/i.test(target)) continue;
      const [path, anchor] = target.split('#') as [string, string | undefined];
      const dest = path ? resolve(dirname(file), path) : file;
      checked++;
      if (!existsSync(dest)) {
        problems.push(`${file.slice(ROOT.length + 1)}: ${target}: no such file`);
        continue;
      }
      if (anchor && dest.endsWith('.md') && !anchors(dest).has(anchor)) problems.push(`${file.slice(ROOT.length + 1)}: ${target}: no such heading`);
    }
  }
  assert.ok(checked > 20, `only ${checked} links found`);
  assert.deepEqual(problems, []);
});
