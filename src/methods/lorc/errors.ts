/** Errors raised by LoRC: bad schedules, targets out of reach, caches used inconsistently. */
export class LorcError extends Error {
  override name = 'LorcError';
}
