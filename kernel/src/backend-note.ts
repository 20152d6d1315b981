/**
 * The line that tells a session which compute backend efflab's ops run on. efflab loads its ops
 * area on first use (src/index.ts), so the kernel looks after each cell whether that happened and,
 * the first time, says which backend `getBackend()` selected and, when it is not GL, why (headless
 * `jupyter execute` without a GPU runs the CPU path, not headless-gl; and when the CPU path is wasm or js,
 * why native OpenBLAS is not running: users should not have to discover either from timings).
 */
import path from 'node:path';
import type * as Ops from '../../src/ops';

/** Where the library's ops area is once loaded (the module cells reach through `efflab`). */
export function opsModulePath(libraryRoot: string): string {
  return path.join(libraryRoot, 'dist', 'src', 'ops', 'index.js');
}

/** The note for an ops area `ops` (e.g. "efflab compute backend: wasm (gl unavailable: …)"). */
export function describeBackend(
  ops: Pick<typeof Ops, 'getBackend' | 'backendUnavailableReason' | 'BACKEND_ENV'>,
): string {
  const selected = ops.getBackend();
  const env = process.env[ops.BACKEND_ENV];
  const why: string[] = [];
  if (env) why.push(`${ops.BACKEND_ENV}=${env}`);
  if (selected !== 'gl') {
    const glReason = ops.backendUnavailableReason('gl');
    why.push(
      glReason ? `gl unavailable: ${glReason}` : 'gl available but not chosen by auto (no hardware GPU)',
    );
  }
  // Below native (OpenBLAS GEMMs) the CPU path is several times slower: say why it is not running.
  if (selected === 'wasm' || selected === 'js') {
    const nativeReason = ops.backendUnavailableReason('native');
    why.push(nativeReason ? `native unavailable: ${nativeReason}` : 'native available but not selected');
  }
  return `efflab compute backend: ${selected}${why.length ? ` (${why.join('; ')})` : ''}; change it with setBackend() or ${ops.BACKEND_ENV}\n`;
}

/** Tells, once per session, which backend runs, as soon as the ops area has been loaded. */
export class BackendAnnouncer {
  private said = false;

  constructor(private readonly modulePath: string) {}

  /** The note if the ops area was loaded since the last call and nothing was said yet. */
  take(): string | undefined {
    if (this.said) return undefined;
    const loaded = require.cache[this.modulePath]?.exports as typeof Ops | undefined;
    if (!loaded || typeof loaded.getBackend !== 'function') return undefined;
    this.said = true;
    try {
      return describeBackend(loaded);
    } catch (error) {
      return `efflab compute backend: could not be determined (${error instanceof Error ? error.message : String(error)})\n`;
    }
  }
}
