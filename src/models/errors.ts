/** Errors raised while reading model files or running models; each message names the file and tensor. */

/** A weight file is malformed, truncated, or uses something this reader does not support. */
export class ModelFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelFormatError';
  }
}

/** A model id, tensor, or configuration value that cannot be resolved or does not fit the model. */
export class ModelConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelConfigError';
  }
}

/** Bad input to a model call (empty prompt, too many tokens, unknown token id). */
export class ModelInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelInputError';
  }
}
