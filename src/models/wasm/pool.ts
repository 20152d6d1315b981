/** Thread settings of the wasm kernels, re-exported where the models have always exported them. */
export { THREADS_ENV, threadCount } from '../../ops';
