/** The `kernel_info_reply` content: who we are, which language, where to find help. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PROTOCOL_VERSION, type JsonObject } from './wire';
import { LIBRARY_ROOT } from './resolution';
import { TSLAB_VERSION, typescriptVersion } from './tslab-adapter';

function versionOf(packageJson: string): string {
  try {
    return String(
      (JSON.parse(readFileSync(packageJson, 'utf8')) as { version?: unknown }).version ?? 'unknown',
    );
  } catch {
    return 'unknown';
  }
}

/** efflab's version (from the repository's package.json). */
export const EFFLAB_VERSION = versionOf(path.join(LIBRARY_ROOT, 'package.json'));

/** Builds the reply content; computed once per kernel. */
export function kernelInfo(): JsonObject {
  return {
    status: 'ok',
    protocol_version: PROTOCOL_VERSION,
    implementation: 'efflab',
    implementation_version: EFFLAB_VERSION,
    language_info: {
      name: 'typescript',
      version: typescriptVersion,
      mimetype: 'text/typescript',
      file_extension: '.ts',
      codemirror_mode: 'typescript',
      pygments_lexer: 'typescript',
    },
    banner:
      `efflab ${EFFLAB_VERSION}: TypeScript ${typescriptVersion} on Node.js ${process.version} (cell compiler from tslab ${TSLAB_VERSION}).\n` +
      `import { display, html, plotly, progress } from 'efflab' to get started.`,
    help_links: [
      { text: 'TypeScript handbook', url: 'https://www.typescriptlang.org/docs/handbook/intro.html' },
      { text: `Node.js ${process.version} API`, url: `https://nodejs.org/docs/${process.version}/api/` },
      {
        text: 'Jupyter messaging protocol',
        url: 'https://jupyter-client.readthedocs.io/en/stable/messaging.html',
      },
    ],
    debugger: false,
  };
}
