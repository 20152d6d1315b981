/**
 * Makes `efflab`, its dependencies and Node's type definitions visible from any notebook folder.
 *
 * Type checking: tslab's converter reads files through the TypeScript `sys` object of the
 * compiler it ships. We wrap that object's file-system calls so that `<notebook>/node_modules`
 * behaves as if it also held `efflab` (this repository) and every package of this repository's
 * `node_modules`, with `@types/node` listed among the automatic type packages. Real files in the
 * notebook's own `node_modules` always win; nothing is written to the notebook folder.
 *
 * Running: Node's `require` from the notebook folder falls back to the global search paths,
 * so we add a folder holding an `efflab` link and this repository's `node_modules` to them.
 */
import { mkdirSync, readFileSync, readlinkSync, symlinkSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import Module from 'node:module';
import { compilerSys } from './tslab-adapter';

/** Finds the nearest folder at or above `from` whose package.json is named `efflab`. */
export function findLibraryRoot(from: string = __dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: unknown };
      if (pkg.name === 'efflab') return dir;
    } catch {
      // no package.json here: keep climbing
    }
    if (path.dirname(dir) === dir) throw new Error(`no efflab package.json above ${from}`);
  }
}

/** Where the library lives: the repository root. */
export const LIBRARY_ROOT = findLibraryRoot();

/** Maps a path under `<cwd>/node_modules` to the repository, or returns it unchanged. */
export function createPathMapper(cwd: string, libraryRoot: string, exists: (p: string) => boolean) {
  const virtualRoot = path.join(cwd, 'node_modules');
  const libraryModules = path.join(libraryRoot, 'node_modules');
  return (p: string): string => {
    if (p !== virtualRoot && !p.startsWith(virtualRoot + '/')) return p;
    if (exists(p)) return p;
    const rest = p.slice(virtualRoot.length + 1);
    if (rest === '') return libraryModules;
    if (rest === 'efflab' || rest.startsWith('efflab/'))
      return path.join(libraryRoot, rest.slice('efflab'.length));
    return path.join(libraryModules, rest);
  };
}

let installed = false;

/** Installs the type-checking overlay for notebooks run in `cwd`. Call before creating a converter. */
export function installTypeOverlay(cwd: string, libraryRoot: string = LIBRARY_ROOT): void {
  if (installed) return;
  installed = true;
  const sys = compilerSys();
  const fileExists = sys.fileExists.bind(sys);
  const directoryExists = sys.directoryExists.bind(sys);
  const readFile = sys.readFile.bind(sys);
  const readDirectory = sys.readDirectory.bind(sys);
  const getDirectories = sys.getDirectories.bind(sys);
  const realpath = sys.realpath?.bind(sys);
  const map = createPathMapper(cwd, libraryRoot, (p) => fileExists(p) || directoryExists(p));
  const typesDir = path.join(cwd, 'node_modules', '@types');
  sys.fileExists = (p) => fileExists(map(p));
  sys.directoryExists = (p) => directoryExists(map(p));
  sys.readFile = (p, encoding) => readFile(map(p), encoding);
  sys.readDirectory = (p, ...rest) => readDirectory(map(p), ...rest);
  sys.getDirectories = (p) => {
    if (p !== typesDir) return getDirectories(map(p));
    // Automatic type packages of the notebook: its own, plus Node's.
    const own = directoryExists(p) ? getDirectories(p) : [];
    return own.includes('node') ? own : [...own, 'node'];
  };
  if (realpath) sys.realpath = (p) => realpath(map(p));
}

/** Adds the library and its dependencies to Node's global module search paths. */
export function installRuntimePaths(libraryRoot: string = LIBRARY_ROOT, linkDir?: string): void {
  const dir = linkDir ?? path.join(libraryRoot, 'dist', 'kernel', 'node_path');
  const link = path.join(dir, 'efflab');
  mkdirSync(dir, { recursive: true });
  let current: string | undefined;
  try {
    current = readlinkSync(link);
  } catch {
    current = undefined;
  }
  if (current !== libraryRoot) {
    try {
      if (current !== undefined) unlinkSync(link);
      symlinkSync(libraryRoot, link, 'dir');
    } catch {
      // another kernel starting at the same moment made the same link
    }
  }
  const extra = [dir, path.join(libraryRoot, 'node_modules')];
  const existing = (process.env.NODE_PATH ?? '').split(path.delimiter).filter((p) => p !== '');
  process.env.NODE_PATH = [...existing, ...extra.filter((p) => !existing.includes(p))].join(path.delimiter);
  // Node reads NODE_PATH once at start-up; `_initPaths` re-reads it (a long-standing, documented-in-code hook).
  (Module as unknown as { _initPaths(): void })._initPaths();
}
