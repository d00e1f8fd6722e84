import type { ServerResponse } from 'node:http';
import type { ValidationIssue } from '@sentcopy/core';
import type { LogLevel } from '../logging/index.js';
import type { IntakeEvent, IntakeRejection, IntakeServerOptions } from './intake-options.js';

/** One field problem in an answer. */
export interface FieldError {
  readonly field: string;
  readonly problem: string;
}

/** One message's line in a batch's answer. */
export type MessageResult =
  | { readonly index: number; readonly message_id: string; readonly status: 'accepted' | 'duplicate'; readonly version?: true }
  | { readonly index: number; readonly message_id?: string; readonly status: 'rejected'; readonly reason: IntakeRejection; readonly errors: readonly FieldError[] };

/** A request refused with an HTTP status: thrown by a route, answered as `{"error":{code, message, …extra}}`. */
export class HttpProblemError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpProblemError';
  }
}

export const fieldErrors = (issues: readonly ValidationIssue[]): FieldError[] => issues.map((issue) => ({ field: issue.path, problem: issue.problem }));

/** Writes the JSON answers of the intake; while closing, every answer ends its connection, so keep-alive clients move to another worker and close() need not wait them out. */
export class IntakeReplies {
  /** Set by close(): the worker is shutting down. */
  closing = false;

  reply(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = `${JSON.stringify(body)}\n`;
    const sent = this.closing ? { ...headers, connection: 'close' } : headers;
    response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...sent });
    response.end(text);
  }
}

/** Where the intake says what happened: its log, and its event hook (metrics). */
export interface IntakeReport {
  log(level: LogLevel, event: string, message: string, fields?: Record<string, unknown>): void;
  emit(event: IntakeEvent): void;
}

/** Reports to `options.logger` and `options.onEvent`. */
export function createIntakeReport(options: Pick<IntakeServerOptions, 'logger' | 'onEvent'>): IntakeReport {
  const log: IntakeReport['log'] = (level, event, message, fields = {}) => options.logger?.({ level, event, message, ...fields });
  return {
    log,
    // A failing metrics hook must cost a metric, not the answer to a request (or, outside one, the process).
    emit(event) {
      try {
        options.onEvent?.(event);
      } catch (error) {
        log('error', 'intake.event_failed', 'The intake event hook failed; the event was not counted.', { type: event.type, error: error instanceof Error ? error.name : typeof error });
      }
    },
  };
}
