// Run by `npm ci` / `npm install` (the package's prepare script): builds the optional
// native kernels when oneDNN's headers are installed, and otherwise says how to enable
// them. Never fails the install: the WebAssembly kernels always work.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const header = '/usr/include/oneapi/dnnl/dnnl.hpp';
const how = 'apt-get install libdnnl-dev && npm run build:native';
if (process.env.YOLOR_SKIP_NATIVE) {
  console.log('yolor-ts: native kernels not built (YOLOR_SKIP_NATIVE is set)');
} else if (!existsSync(header)) {
  console.log(`yolor-ts: native kernels not built (oneDNN headers not found at ${header}); training uses the WebAssembly kernels.`);
  console.log(`yolor-ts: for ~3-5x faster training on CPU: ${how}`);
} else {
  const r = spawnSync('npm', ['run', '--silent', 'build:native'], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.status === 0) console.log('yolor-ts: native kernels built (oneDNN); `npx yolor env` shows them in use');
  else console.log(`yolor-ts: building the native kernels failed; training uses the WebAssembly kernels.\n${(r.stderr ?? '').split('\n').filter((l) => /error/i.test(l)).slice(0, 5).join('\n')}\nRetry with: npm run build:native`);
}
