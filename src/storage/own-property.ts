/**
 * `record[name]` when `record` holds `name` as its own property, else undefined: a user string
 * looked up on a plain object must never reach an inherited `constructor`, `toString` or
 * `__proto__` (nor anything a polluted `Object.prototype` would add). Internal.
 */
export function own(record: object | null | undefined, name: string): unknown {
  return record && Object.hasOwn(record, name) ? (record as Record<string, unknown>)[name] : undefined;
}
