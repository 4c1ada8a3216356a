import { ValidationError, formatFieldError, type FieldError, type FieldErrorReason } from '../errors.js';

/** Collects the field errors and warnings of one validation pass. */
export class Problems {
  readonly errors: FieldError[] = [];
  readonly warnings: string[] = [];

  add(field: string, reason: FieldErrorReason, message: string): void {
    this.errors.push({ field, reason, message });
  }
  invalid(field: string, message: string): void {
    this.add(field, 'FieldValueInvalid', message);
  }
  forbidden(field: string, message: string): void {
    this.add(field, 'FieldValueForbidden', message);
  }
  required(field: string): void {
    this.add(field, 'FieldValueRequired', 'Required value');
  }
  warn(field: string, message: string): void {
    this.warnings.push(formatFieldError({ field, reason: 'FieldValueInvalid', message }));
  }

  /** Throws a ValidationError for `kind` when any error was found. */
  throwIfAny(kind: string): void {
    if (this.errors.length > 0) throw new ValidationError(kind, this.errors);
  }
}
