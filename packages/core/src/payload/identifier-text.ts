import { JsonNumber } from './json-value.js';

/**
 * The text an id keys by: a string as it is, a number as it is stored (its shortest form, as
 * `serializeJson` writes it) and a {@link JsonNumber} as its exact text. So `123` and `"123"`
 * are the same `message_id`.
 */
export function identifierText(value: string | number | JsonNumber): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return value.text;
}
