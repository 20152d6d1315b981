/** Errors raised by the PTLoss module; each message names the argument and the offending value. */
export class PtlossError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PtlossError';
  }
}
