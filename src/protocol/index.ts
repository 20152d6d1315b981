/**
 * The one wire contract between efflab's kernel-side widgets and its JupyterLab extension: MIME types and
 * comm targets, message types, validators of untrusted input and the annotation state machine. DOM-free
 * and node-free; the library (src/widgets, src/display) and the extension both import this folder, and
 * nothing here imports either of them.
 */
export * from './json';
export * from './mime';
export * from './plot';
export * from './annotation';
export * from './annotation-state';
export * from './annotate';
export * from './sensitivity';
export { describe } from './check';
