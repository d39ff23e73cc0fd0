// The one error type of shitate: a stable code, what was expected vs found, and what to do about it.

export class ShitateError extends Error {
  readonly code: string;
  readonly hint: string;

  constructor(code: string, message: string, hint = '') {
    super(message);
    this.name = 'ShitateError';
    this.code = code;
    this.hint = hint;
  }

  /** One block for terminals: "error[CODE]: message" then "  hint: ..." when there is one. */
  format(): string {
    return this.hint ? `error[${this.code}]: ${this.message}\n  hint: ${this.hint}` : `error[${this.code}]: ${this.message}`;
  }
}

/** Invariant check inside the library: a failure here is a bug in shitate, not bad input. */
export function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new ShitateError('E_INTERNAL', message, 'this is a bug in shitate; please report it with the command you ran');
}
