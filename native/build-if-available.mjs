// Builds the native kernels (native/: N-API, C++17, OpenMP) with node-gyp, offline, against
// the Node headers of the running Node (the system's: /usr/include/node). Convolutions use
// oneDNN when its headers are installed (apt-get install libdnnl-dev), else the addon's own
// im2col + GEMM ones. Run by `npm ci` / `npm install` (the package's prepare script), where
// it never fails the install (the WebAssembly kernels always work): it says what it did and
// how to enable what is missing. Options: --required (exit 1 when the build fails: `npm run
// build:native`, CI), --builtin (ignore oneDNN), --copy-to FILE (copy the built addon there).
// YOLOR_SKIP_NATIVE=1 skips it.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const required = args.includes('--required');
const builtin = args.includes('--builtin');
const ci = args.indexOf('--copy-to');
const copyTo = ci >= 0 ? args[ci + 1] : null;
const say = (msg) => console.log(`yolor-ts: ${msg}`);
const fail = (msg) => {
  say(msg);
  if (required) process.exit(1);
  process.exit(0);
};

if (process.env.YOLOR_SKIP_NATIVE) fail('native kernels not built (YOLOR_SKIP_NATIVE is set)');
const nodeDir = resolve(dirname(process.execPath), '..');
if (!existsSync(join(nodeDir, 'include', 'node', 'node_api.h'))) {
  fail(`native kernels not built: no Node headers at ${join(nodeDir, 'include', 'node')} (Debian: apt-get install libnode-dev); training uses the WebAssembly kernels`);
}
const onednn = !builtin && existsSync('/usr/include/oneapi/dnnl/dnnl.hpp');
const nodeGyp = process.env.npm_config_node_gyp || join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
if (!existsSync(nodeGyp)) fail(`native kernels not built: node-gyp not found (${nodeGyp}); training uses the WebAssembly kernels`);
const r = spawnSync(process.execPath, [nodeGyp, 'rebuild', '--directory', here, `--nodedir=${nodeDir}`, '--', `-Donednn=${onednn ? 1 : 0}`], {
  stdio: ['ignore', 'ignore', 'pipe'],
  encoding: 'utf8',
});
if (r.status !== 0) {
  const errors = (r.stderr ?? '').split('\n').filter((l) => /error/i.test(l)).slice(0, 8).join('\n');
  fail(`building the native kernels failed (needs g++ with OpenMP); training uses the WebAssembly kernels.\n${errors}\nRetry with: npm run build:native`);
}
const built = join(here, 'build', 'Release', 'yolor_native.node');
if (copyTo) {
  mkdirSync(dirname(resolve(copyTo)), { recursive: true });
  copyFileSync(built, copyTo);
}
if (onednn) say('native kernels built with oneDNN convolutions; `npx yolor env` shows them in use');
else
  say(
    `native kernels built with the built-in convolutions${builtin ? '' : ' (oneDNN not installed; for faster convolutions: apt-get install libdnnl-dev && npm run build:native)'}; \`npx yolor env\` shows them in use`,
  );
