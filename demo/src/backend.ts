/**
 * Backend choice: `?backend=webgpu|webgl|wasm|cpu` forces one (an error if it
 * cannot start); otherwise the runtimes try them best first.
 */

export type BackendName = 'webgpu' | 'webgl' | 'wasm' | 'cpu';

/** Best first. `cpu` (tfjs' plain-JS kernels) is never chosen automatically. */
export const AUTO_ORDER: readonly BackendName[] = ['webgpu', 'webgl', 'wasm'];
const ALL: readonly BackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu'];

/** The backend forced by the query string, or null for automatic choice. */
export function requestedBackend(search = location.search): BackendName | null {
  const value = new URLSearchParams(search).get('backend');
  if (value === null || value === '' || value === 'auto') return null;
  if (!(ALL as readonly string[]).includes(value)) throw new Error(`?backend=${value}: expected one of auto, ${ALL.join(', ')}`);
  return value as BackendName;
}

/** The candidates to try in order: just the forced one, or `auto` (default AUTO_ORDER). */
export function backendCandidates(forced: BackendName | null, auto: readonly BackendName[] = AUTO_ORDER): readonly BackendName[] {
  return forced ? [forced] : auto;
}

interface GpuAdapterLike {
  info?: { vendor?: string; architecture?: string; description?: string; isFallbackAdapter?: boolean };
  isFallbackAdapter?: boolean;
}

/**
 * Why a GPU backend would run on a software rasteriser (SwiftShader,
 * llvmpipe: headless browsers, VMs), where wasm is several times faster;
 * null when it looks like real hardware or cannot be told.
 */
export async function softwareRenderer(backend: BackendName): Promise<string | null> {
  const soft = /swiftshader|llvmpipe|softpipe|software/i;
  if (backend === 'webgl') {
    const gl = document.createElement('canvas').getContext('webgl2') ?? document.createElement('canvas').getContext('webgl');
    if (!gl) return null;
    const ext = gl.getExtension('WEBGL_debug_renderer_info');
    const renderer = String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
    gl.getExtension('WEBGL_lose_context')?.loseContext();
    return soft.test(renderer) ? `software renderer (${renderer})` : null;
  }
  if (backend === 'webgpu') {
    const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<GpuAdapterLike | null> } }).gpu;
    const adapter = await gpu?.requestAdapter();
    if (!adapter) return null;
    const info = adapter.info ?? {};
    const text = [info.vendor, info.architecture, info.description].filter(Boolean).join(' ');
    if (info.isFallbackAdapter || adapter.isFallbackAdapter || soft.test(text)) return `software adapter (${text || 'fallback'})`;
  }
  return null;
}

/**
 * Runs `start` for each candidate until one succeeds; the error lists why
 * each failed. With more than one candidate (automatic choice), GPU backends
 * on a software renderer are passed over.
 */
export async function firstWorking<T>(
  candidates: readonly BackendName[],
  start: (b: BackendName) => Promise<T>,
): Promise<{ backend: BackendName; value: T; skipped: string[] }> {
  const failures: string[] = [];
  for (const backend of candidates) {
    try {
      if (candidates.length > 1 && backend !== candidates[candidates.length - 1]) {
        const why = await softwareRenderer(backend);
        if (why) throw new Error(`${why}; skipped in automatic choice (force it with ?backend=${backend})`);
      }
      return { backend, value: await start(backend), skipped: failures };
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      failures.push(`${backend}: ${msg.split('\n')[0]}`);
      console.warn(`backend ${backend} not used: ${msg}`);
    }
  }
  throw new Error(`no backend could start (${failures.join('; ')})`);
}
