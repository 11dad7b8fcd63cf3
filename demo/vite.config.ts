/**
 * Vite build of the browser demo: `demo/` → `dist-demo/` with a relative base,
 * so the output can be served from any path (serve-demo serves it at `/`).
 *
 * The WebAssembly binaries are not bundled by Vite; the `wasmFiles` plugin
 * copies them under fixed names into `dist-demo/wasm/` (and serves them from
 * there in `vite dev`), and the page points tfjs (`setWasmPaths`) and
 * onnxruntime-web (`env.wasm.wasmPaths`) at `./wasm/`. Nothing is fetched from
 * a CDN.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

/** Package root of an installed dependency (its package.json may not be exported, so resolve `main`). */
function packageDir(name: string): string {
  let dir = dirname(require.resolve(name));
  while (!dir.endsWith(join('node_modules', ...name.split('/')))) dir = dirname(dir);
  return dir;
}

const tfjsWasmDist = join(packageDir('@tensorflow/tfjs-backend-wasm'), 'dist');
const ortDist = join(packageDir('onnxruntime-web'), 'dist');

/**
 * onnxruntime-web's "all" build (WebGPU via JSEP, WebGL, wasm) without the
 * wasm glue inlined: it loads `ort-wasm-simd-threaded.jsep.{mjs,wasm}` from
 * `env.wasm.wasmPaths`, so one copy of the 28 MB binary ships, under ./wasm/.
 */
const ORT_ENTRY = join(ortDist, 'ort.all.min.mjs');

/** Files copied verbatim into `wasm/` of the output. */
const WASM_FILES: Record<string, string> = {
  'tfjs-backend-wasm.wasm': join(tfjsWasmDist, 'tfjs-backend-wasm.wasm'),
  'tfjs-backend-wasm-simd.wasm': join(tfjsWasmDist, 'tfjs-backend-wasm-simd.wasm'),
  'tfjs-backend-wasm-threaded-simd.wasm': join(tfjsWasmDist, 'tfjs-backend-wasm-threaded-simd.wasm'),
  'ort-wasm-simd-threaded.jsep.wasm': join(ortDist, 'ort-wasm-simd-threaded.jsep.wasm'),
  'ort-wasm-simd-threaded.jsep.mjs': join(ortDist, 'ort-wasm-simd-threaded.jsep.mjs'),
};

function wasmFiles(): Plugin {
  return {
    name: 'yolor-wasm-files',
    generateBundle() {
      for (const [name, src] of Object.entries(WASM_FILES)) {
        this.emitFile({ type: 'asset', fileName: `wasm/${name}`, source: readFileSync(src) });
      }
    },
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const m = /^\/wasm\/([^/?#]+)/.exec(req.url ?? '');
        const src = m ? WASM_FILES[m[1]!] : undefined;
        if (!src) return next();
        res.setHeader('Content-Type', src.endsWith('.wasm') ? 'application/wasm' : 'text/javascript');
        res.end(readFileSync(src));
      });
    },
  };
}

export default defineConfig({
  root: here,
  base: './',
  publicDir: false,
  logLevel: 'warn',
  resolve: {
    alias: [{ find: /^onnxruntime-web\/all$/, replacement: ORT_ENTRY }],
  },
  build: {
    outDir: join(here, '..', 'dist-demo'),
    emptyOutDir: true,
    target: 'es2022',
    // tfjs and onnxruntime-web are large by nature; they are split into lazily loaded chunks.
    chunkSizeWarningLimit: 4096,
    reportCompressedSize: false,
    sourcemap: false,
    // Not minified: tfjs' threaded wasm backend starts its workers from the
    // source text of its emscripten factory (Function.prototype.toString),
    // which breaks once a minifier renames what that text refers to
    // ("e is not defined" in the worker). Served locally, the size matters little.
    minify: false,
  },
  plugins: [wasmFiles()],
});
