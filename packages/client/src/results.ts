/**
 * A message as the worker takes it (payload format v1). Only what every message needs is typed;
 * channel fields (`subject`, `html_body`, `body`, `payload`, …) and anything else are sent exactly
 * as given. The worker validates and names each bad field.
 */
export interface ClientMessage {
  /** The payload format version. */
  readonly version: 1;
  /** `email`, `sms`, `push`, `whatsapp`, or another channel the project declares. */
  readonly channel: string;
  /** Unique per message; the idempotency key (sending it twice stores it once). Numbers are for workers that take numeric ids. */
  readonly message_id: string | number;
  /** The project of the API key used. */
  readonly project_id: string;
  /** When the message was sent, in epoch milliseconds (UTC); strings are for workers that read other forms. */
  readonly sent_at: number | string;
  /** The recipient. */
  readonly to: unknown;
  readonly [field: string]: unknown;
}

/**
 * What `send()` and `archive()` take: a message object, or its JSON text. Text is sent exactly as
 * given, so numbers beyond what a JavaScript number holds (ids over 2^53, say) keep their digits.
 */
export type MessageInput = ClientMessage | string;

/** One field problem, as the worker names it. */
export interface FieldError {
  /** The field's path, e.g. `to` or `attachments[0].bytes`; `''` for the message as a whole. */
  readonly field: string;
  /** What is wrong with it. */
  readonly problem: string;
}

/**
 * What the worker answered for one message that it took: `accepted` (durable in its queue; it
 * will be archived) or `duplicate` (a message with this id was already taken). A status this
 * version of the client does not know is passed through as it came; only `rejected` is turned
 * into a {@link MessageRejectedError}.
 */
export interface SendResult {
  /** `accepted`, `duplicate`, or a status a newer worker answers. */
  readonly status: 'accepted' | 'duplicate' | (string & {});
  /** The message's id, as the worker read it. */
  readonly messageId: string | undefined;
  /**
   * `true` when the worker took this message as a second version of a message id it already had
   * with other content (both were sent, so both are kept, the second next to the first).
   */
  readonly version: boolean;
  /** The worker's result for this message, as it came (with any fields a newer worker adds). */
  readonly raw: Readonly<Record<string, unknown>>;
}

/** What `archive()` resolves with: the copy is stored. */
export interface ArchiveResult {
  /** The object's key in the destination. */
  readonly key: string;
  /** SHA-256 of the stored bytes, in hex. */
  readonly sha256: string;
  /** Size of the stored object, in bytes. */
  readonly size: number;
  /** `false` when the identical copy was already stored (archiving twice stores once). */
  readonly created: boolean;
  /** `true` when the message reused a message id already stored with other content: it is stored as a version next to the first copy. */
  readonly version: boolean;
  /** The key of the first copy under this message id, when this is a version. */
  readonly originalKey: string | undefined;
}
