import type { StorageConfig } from '../domain/entities.js';
import { ValidationError } from '../errors/errors.js';
import { own } from './own-property.js';

/**
 * Reads typed values from a {@link StorageConfig}'s `settings` and `credentials`, collecting every
 * bad field so a config is refused with one `ValidationError` before any connection is made.
 */
export class SettingsReader {
  private readonly issues: { field: string; message: string }[] = [];
  constructor(private readonly config: StorageConfig) {}

  private fail(field: string, message: string): undefined {
    this.issues.push({ field, message });
    return undefined;
  }

  /** A string setting; `required` adds an issue when missing. */
  string(name: string, required: true): string;
  string(name: string, required?: false): string | undefined;
  string(name: string, required = false): string | undefined {
    const value = own(this.config.settings, name);
    if (value === undefined || value === null || value === '') {
      return required ? (this.fail(`settings.${name}`, `is required for provider '${this.config.provider}'`) as never) : undefined;
    }
    if (typeof value !== 'string') return this.fail(`settings.${name}`, 'must be a string');
    return value;
  }

  /** A number setting within [min, max]. */
  number(name: string, min: number, max: number): number | undefined {
    const raw = own(this.config.settings, name);
    if (raw === undefined || raw === null || raw === '') return undefined;
    const value = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max)
      return this.fail(`settings.${name}`, `must be a number from ${min} to ${max}`);
    return value;
  }

  /** A boolean setting (`true`/`false` or the strings `"true"`/`"false"`). */
  boolean(name: string): boolean | undefined {
    const raw = own(this.config.settings, name);
    if (raw === undefined || raw === null || raw === '') return undefined;
    if (raw === true || raw === 'true') return true;
    if (raw === false || raw === 'false') return false;
    return this.fail(`settings.${name}`, 'must be true or false');
  }

  /** A secret from `credentials` (never echoed in an issue). */
  secret(name: string, required: true): string;
  secret(name: string, required?: false): string | undefined;
  secret(name: string, required = false): string | undefined {
    const value = own(this.config.credentials, name);
    if (value === undefined || value === null || value === '') {
      return required ? (this.fail(`credentials.${name}`, `is required for provider '${this.config.provider}'`) as never) : undefined;
    }
    if (typeof value !== 'string') return this.fail(`credentials.${name}`, 'must be a string');
    return value;
  }

  /** Records a custom issue. */
  problem(field: string, message: string): void {
    this.issues.push({ field, message });
  }

  /** Throws one `ValidationError` listing every issue found so far. */
  done(): void {
    if (this.issues.length > 0) throw new ValidationError(this.issues);
  }
}

/** Normalises a root folder setting to an absolute POSIX path without a trailing slash (`/` stays `/`). */
export function normaliseRoot(root: string): string {
  const parts = root.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new ValidationError([{ field: 'settings.root', message: 'must not contain ".." segments' }]);
  return '/' + parts.join('/');
}
