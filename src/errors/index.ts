export * from './backup-sdk-error.js';
export * from './errors.js';
export { ERROR_CODES, WARNING_CODES } from './error-codes.js';
export type { ErrorCode, WarningCode, ErrorCodeOf, ErrorCodeInfo, WarningCodeInfo } from './error-codes.js';
export * from './restore-error.js';
