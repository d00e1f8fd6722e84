import { keyLayoutPresets } from '../key-layout/index.js';
import { JsonNumber, MessageValidationError, type JsonObject, type Message } from '../payload/index.js';
import { isStoredObject, parseWithContext } from './parse-with-context.js';
import type { Profile, ProfileParseContext } from './profile.js';

// Braze names the message id `dispatch_id` and writes `sent_at` as a Unix timestamp in seconds.
// Milliseconds become a fractional number of seconds so that parse() restores them exactly.

function render(message: Message): JsonObject {
  if (Object.hasOwn(message, 'dispatch_id')) {
    throw new MessageValidationError([{ path: 'dispatch_id', problem: 'cannot be stored with the braze profile, which writes message_id under this name (rename the field or use another profile)' }]);
  }
  const { message_id: dispatchId, sent_at: sentAt, ...rest } = message;
  return { ...(rest as JsonObject), dispatch_id: dispatchId, sent_at: sentAt / 1000 };
}

const renamedInIssues: Readonly<Record<string, string>> = { message_id: 'dispatch_id' };

function parse(stored: unknown, context?: ProfileParseContext): Message {
  if (!isStoredObject(stored)) throw new MessageValidationError([{ path: '', problem: 'the stored message must be a JSON object' }]);
  if (Object.hasOwn(stored, 'message_id')) {
    throw new MessageValidationError([{ path: 'message_id', problem: 'is not a braze field (braze stores the message id as dispatch_id)' }]);
  }
  const { dispatch_id: dispatchId, sent_at: sentAt, ...rest } = stored;
  const input: Record<string, unknown> = { ...rest };
  if (dispatchId !== undefined) input['message_id'] = dispatchId;
  if (sentAt !== undefined) {
    // Braze writes fractional seconds; more digits than a double holds (a JsonNumber) only refine the milliseconds, which are rounded anyway.
    const seconds = JsonNumber.isInstance(sentAt) ? Number(sentAt.text) : sentAt;
    if (typeof seconds !== 'number' || !Number.isFinite(seconds)) {
      throw new MessageValidationError([{ path: 'sent_at', problem: 'must be a number of epoch seconds' }]);
    }
    input['sent_at'] = Math.round(seconds * 1000);
  }
  try {
    return parseWithContext(input, context);
  } catch (error) {
    if (!MessageValidationError.isInstance(error)) throw error;
    throw new MessageValidationError(
      error.issues.map((issue) => {
        const [head = '', ...tail] = issue.path.split(/(?=[.[])/);
        const renamed = renamedInIssues[head];
        return renamed === undefined ? issue : { ...issue, path: [renamed, ...tail].join('') };
      }),
    );
  }
}

/** Braze Message Archiving: `dispatch_id` for the message id, `sent_at` in seconds, Braze's key layout, gzip. */
export const brazeProfile = Object.freeze<Profile>({
  name: 'braze',
  description: "Braze's Message Archiving JSON (dispatch_id, sent_at in seconds) and key layout (sent_messages/channel/md5/campaign), gzip.",
  layout: keyLayoutPresets.braze,
  codec: 'gzip',
  render,
  parse,
});
