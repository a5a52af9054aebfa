// A Log that records entries so tests can assert on what was logged.
import type { Log, LogLevel } from '../../lib/runtime/log';

export interface LogEntry {
  level: LogLevel;
  message: string;
  context?: Record<string, unknown>;
}

export interface RecordingLog extends Log {
  entries: LogEntry[];
  messages(level?: LogLevel): string[];
}

export function recordingLog(): RecordingLog {
  const entries: LogEntry[] = [];
  const at = (level: LogLevel) => (message: string, context?: Record<string, unknown>) => {
    entries.push(context === undefined ? { level, message } : { level, message, context });
  };
  return {
    entries,
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
    messages: (level) => entries.filter((e) => !level || e.level === level).map((e) => e.message),
  };
}
