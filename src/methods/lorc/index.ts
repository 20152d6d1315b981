/** LoRC (thesis chapter 5): progressive low-rank compression of the KV cache. */
export * from './errors';
export * from './decompose';
export * from './sensitivity';
export * from './schedule';
export * from './kernels';
export * from './cache';
export * from './model';
export * from './memory';
export * from './view';
export * from './folded';
export * from './evaluate';
export * from './persist';
export * from './pipeline';
export * from './windows';
export * from './whiten';
export * from './front';
