/** A bad parameter: the message is one line naming the parameter and the valid range. */
export class PolarParameterError extends RangeError {
  readonly parameter: string;
  constructor(parameter: string, message: string) {
    super(`${parameter}: ${message}`);
    this.name = 'PolarParameterError';
    this.parameter = parameter;
  }
}

export function requireInteger(parameter: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new PolarParameterError(parameter, `got ${String(value)}, expected an integer in [${min}, ${max}]`);
  }
  return value;
}

export function requireFinite(parameter: string, value: unknown, min = -Infinity, max = Infinity): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new PolarParameterError(parameter, `got ${String(value)}, expected a finite number in [${min}, ${max}]`);
  }
  return value;
}
