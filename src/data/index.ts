/** Data basics: dataset paths, CSV / JSONL(.gz) readers into danfojs DataFrames, the real datasets. */
export * from './paths';
export * from './readers';
export * from './datasets';
export * from './agnews';
export * from './hh-rlhf';
