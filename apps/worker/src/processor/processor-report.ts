import type { LogLevel } from '../logging/index.js';
import type { ClaimedMessage } from '../queue/index.js';
import type { OutcomeMessage, ProcessOutcome } from './process-outcome.js';
import type { ProcessorOptions } from './processor-options.js';

/** Where the processor says what happened: its log and its outcome observer, neither of which can break the loop. */
export interface ProcessorReport {
  log(level: LogLevel, event: string, message: string, fields?: Record<string, unknown>): void;
  emit(outcome: ProcessOutcome): void;
}

/** A claimed message as outcomes and log lines name it (never its payload). */
export function outcomeMessage(message: ClaimedMessage): OutcomeMessage {
  return { id: message.id, project: message.project, messageId: message.messageId, deliveries: message.deliveries };
}

/** Reports to `options.logger` and `options.onOutcome`; a throwing one is ignored. */
export function createProcessorReport(options: Pick<ProcessorOptions, 'logger' | 'onOutcome'>): ProcessorReport {
  return {
    log(level, event, message, fields = {}) {
      try {
        options.logger?.({ level, event, message, ...fields });
      } catch {
        // A failing logger must not stop archiving.
      }
    },
    emit(outcome) {
      try {
        options.onOutcome?.(outcome);
      } catch {
        // Same: observers cannot break the loop.
      }
    },
  };
}
