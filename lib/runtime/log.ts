// The logging interface every module receives. Only lib/runtime/logger.ts knows winston.

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

export interface Log {
  error(message: string, context?: Record<string, unknown>): void;
  warn(message: string, context?: Record<string, unknown>): void;
  info(message: string, context?: Record<string, unknown>): void;
  debug(message: string, context?: Record<string, unknown>): void;
}

/** A log that drops everything (for diagnostics commands that print instead). */
export const silentLog: Log = {
  error() {},
  warn() {},
  info() {},
  debug() {},
};
