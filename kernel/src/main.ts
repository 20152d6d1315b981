/**
 * Entry point: `node dist/kernel/src/main.js --connection-file <file>` (what the kernelspec runs).
 */
import { readConnectionFile } from './connection';
import { Kernel } from './kernel';
import { installRuntimePaths, installTypeOverlay } from './resolution';
import { warn } from './log';

function argument(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  if (at >= 0) return process.argv[at + 1];
  const inline = process.argv.find((a) => a.startsWith(`${name}=`));
  return inline?.slice(name.length + 1);
}

/** Exits when the Jupyter server that started us is gone (it passes its pid in JPY_PARENT_PID). */
function watchParent(): void {
  const parent = Number(process.env.JPY_PARENT_PID);
  if (!Number.isInteger(parent) || parent <= 1) return;
  setInterval(() => {
    try {
      process.kill(parent, 0);
    } catch {
      warn(`parent process ${parent} is gone; exiting`);
      process.exit(0);
    }
  }, 3000).unref();
}

async function main(): Promise<void> {
  const file = argument('--connection-file') ?? argument('-f');
  if (!file) {
    process.stderr.write('usage: efflab-kernel --connection-file <connection.json>\n');
    process.exit(2);
  }
  const cwd = process.cwd();
  installRuntimePaths();
  installTypeOverlay(cwd);
  const kernel = new Kernel({
    connection: readConnectionFile(file),
    cwd,
    restartNote: `${file}.efflab-restart.json`,
  });
  process.on('SIGTERM', () => void kernel.shutdown());
  watchParent();
  await kernel.start();
}

main().catch((error: unknown) => {
  warn(`failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exit(1);
});
