import type { Message } from './message.js';
import { MessageValidationError } from './message-validation-error.js';
import { validateMessage } from './validate-message.js';

/**
 * Validates `input` and returns it as a {@link Message} (a deep copy of pure JSON data).
 * Throws a {@link MessageValidationError} listing every problem found.
 */
export function parseMessage(input: unknown): Message {
  const result = validateMessage(input);
  if (!result.ok) throw new MessageValidationError(result.issues);
  return result.message;
}
