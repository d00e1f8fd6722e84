import type { Message } from './message.js';
import { MessageValidationError } from './message-validation-error.js';
import { parseJson } from './parse-json.js';
import { validateMessage } from './validate-message.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Validates `input` and returns it as a {@link Message} (a deep copy of pure JSON data).
 * Throws a {@link MessageValidationError} listing every problem found.
 */
export function parseMessage(input: unknown): Message {
  const result = validateMessage(input);
  if (!result.ok) throw new MessageValidationError(result.issues);
  return result.message;
}

/**
 * Parses a message from its JSON text (UTF-8 bytes or a string) and validates it. Numbers a double
 * cannot hold exactly are kept as their text (see `parseJson` and `JsonNumber`). Text that is not
 * UTF-8 or not JSON is a {@link MessageValidationError} whose issue describes the problem without
 * quoting the text (it holds personal data).
 */
export function parseMessageJson(text: Uint8Array | string): Message {
  return parseMessage(readMessageJson(text));
}

/**
 * The JSON value of a message's text (UTF-8 bytes or a string), not yet validated: the first step
 * of {@link parseMessageJson}, with the same errors.
 */
export function readMessageJson(text: Uint8Array | string): unknown {
  let decoded: string;
  if (typeof text === 'string') decoded = text;
  else {
    try {
      decoded = utf8.decode(text);
    } catch {
      throw new MessageValidationError([{ path: '', problem: 'must be UTF-8 text (the payload holds bytes that are not valid UTF-8)' }]);
    }
  }
  try {
    return parseJson(decoded);
  } catch {
    throw new MessageValidationError([{ path: '', problem: 'must be a JSON document (the payload could not be parsed as JSON)' }]);
  }
}
