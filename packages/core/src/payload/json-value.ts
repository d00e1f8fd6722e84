/** Any value JSON can represent: `null`, a boolean, a finite number, a string, an array or an object of these. */
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;

/** A JSON object: string keys mapped to JSON values. */
export interface JsonObject {
  [key: string]: JsonValue;
}
