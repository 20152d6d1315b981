/**
 * The kernel's one-line backend note names the backend that runs and why a faster one does not: GL
 * (no hardware GPU or unavailable) and, below the native OpenBLAS path, why native is not running.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeBackend } from '../../kernel/src/backend-note';
import type { BackendName } from '../../src/ops';

function fakeOps(selected: BackendName, reasons: Partial<Record<BackendName, string>>) {
  return {
    getBackend: () => selected,
    backendUnavailableReason: (b: BackendName) => reasons[b],
    BACKEND_ENV: 'EFFLAB_BACKEND' as const,
  };
}

test('backend note: native running, wasm fallback with the native reason, and an explicit wasm choice', () => {
  const saved = process.env.EFFLAB_BACKEND;
  delete process.env.EFFLAB_BACKEND;
  try {
    const native = describeBackend(fakeOps('native', { gl: 'no X server' }));
    assert.match(native, /^efflab compute backend: native \(gl unavailable: no X server\);/);
    assert.doesNotMatch(native, /native unavailable/);

    const fallback = describeBackend(
      fakeOps('wasm', { native: 'libscipy_openblas.so not found under .venv' }),
    );
    assert.match(fallback, /^efflab compute backend: wasm \(/);
    assert.match(fallback, /gl available but not chosen by auto/);
    assert.match(fallback, /native unavailable: libscipy_openblas\.so not found under \.venv/);

    process.env.EFFLAB_BACKEND = 'wasm';
    const chosen = describeBackend(fakeOps('wasm', {}));
    assert.match(chosen, /EFFLAB_BACKEND=wasm/);
    assert.match(chosen, /native available but not selected/);
  } finally {
    if (saved === undefined) delete process.env.EFFLAB_BACKEND;
    else process.env.EFFLAB_BACKEND = saved;
  }
});
