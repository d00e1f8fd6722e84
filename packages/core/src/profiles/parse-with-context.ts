import { MessageValidationError, parseMessage, type Message } from '../payload/index.js';
import type { ProfileParseContext } from './profile.js';

/** True for a JSON object (not null, not an array). */
export function isStoredObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Fills `channel`/`project_id` from `context` where the document lacks them, then validates. */
export function parseWithContext(stored: unknown, context: ProfileParseContext = {}): Message {
  if (!isStoredObject(stored)) throw new MessageValidationError([{ path: '', problem: 'the stored message must be a JSON object' }]);
  const input: Record<string, unknown> = { ...stored };
  for (const field of ['channel', 'project_id'] as const) {
    if (input[field] === undefined && context[field] !== undefined) input[field] = context[field];
  }
  return parseMessage(input);
}
