/** Where and why a text is not JSON, described without quoting any of it. */
export interface JsonSyntaxError {
  /** Offset of the problem in the UTF-8 bytes of the text, from 0. */
  readonly byte: number;
  /** Line of the problem, from 1. */
  readonly line: number;
  /** Column of the problem in its line, in characters, from 1. */
  readonly column: number;
  /** What is wrong there, e.g. `a ':' was expected after the property name`. */
  readonly problem: string;
}

const numberPattern = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const hexDigits = /^[0-9a-fA-F]{4}$/;

/**
 * Finds the first syntax error in `text` (RFC 8259 grammar), or `undefined` when it is valid JSON.
 * `JSON.parse` messages can quote the input and change between engine versions, so the position
 * and the problem are found here instead. Iterative (no recursion), linear in the text's length;
 * meant to run only after `JSON.parse` failed.
 */
export function findJsonSyntaxError(text: string): JsonSyntaxError | undefined {
  const length = text.length;
  const stack: ('{' | '[')[] = [];
  let index = 0;
  let state: 'value' | 'first-value' | 'key' | 'first-key' | 'after' = 'value';

  const at = (problem: string): JsonSyntaxError => {
    const before = text.slice(0, index);
    const lineStart = before.lastIndexOf('\n') + 1;
    return { byte: Buffer.byteLength(before), line: before.split('\n').length, column: index - lineStart + 1, problem };
  };
  const skipWhiteSpace = () => {
    while (index < length) {
      const code = text.charCodeAt(index);
      if (code !== 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0d) return;
      index++;
    }
  };
  const readString = (): JsonSyntaxError | undefined => {
    const start = index;
    index++;
    while (index < length) {
      const code = text.charCodeAt(index);
      if (code === 0x22) {
        index++;
        return undefined;
      }
      if (code < 0x20) return at('a control character inside a string must be escaped');
      if (code === 0x5c) {
        const escaped = text[index + 1];
        if (escaped === 'u') {
          if (!hexDigits.test(text.slice(index + 2, index + 6))) return at('a \\u escape needs four hexadecimal digits');
          index += 6;
        } else if (escaped !== undefined && '"\\/bfnrt'.includes(escaped)) index += 2;
        else return at('an invalid escape sequence in a string');
        continue;
      }
      index++;
    }
    index = start;
    return at('a string is not closed');
  };
  const readValue = (): JsonSyntaxError | undefined => {
    const character = text[index] as string;
    if (character === '"') return readString();
    if (character === '-' || (character >= '0' && character <= '9')) {
      numberPattern.lastIndex = index;
      const match = numberPattern.exec(text);
      if (match === null) return at('an invalid number');
      index += match[0].length;
      return undefined;
    }
    for (const literal of ['true', 'false', 'null']) {
      if (text.startsWith(literal, index)) {
        index += literal.length;
        return undefined;
      }
    }
    return at('an unexpected character where a value was expected');
  };

  for (;;) {
    skipWhiteSpace();
    if (state === 'after' && stack.length === 0) return index < length ? at('unexpected characters after the JSON value') : undefined;
    if (index >= length) return at('the text ends before the JSON is complete');
    const character = text[index];
    switch (state) {
      case 'first-value':
      case 'value': {
        if (state === 'first-value' && character === ']') {
          stack.pop();
          index++;
          state = 'after';
        } else if (character === '{' || character === '[') {
          stack.push(character);
          index++;
          state = character === '{' ? 'first-key' : 'first-value';
        } else {
          const error = readValue();
          if (error !== undefined) return error;
          state = 'after';
        }
        break;
      }
      case 'first-key':
      case 'key': {
        if (state === 'first-key' && character === '}') {
          stack.pop();
          index++;
          state = 'after';
          break;
        }
        if (character !== '"') return at('a property name in double quotes was expected');
        const error = readString();
        if (error !== undefined) return error;
        skipWhiteSpace();
        if (text[index] !== ':') return index >= length ? at('the text ends before the JSON is complete') : at("a ':' was expected after the property name");
        index++;
        state = 'value';
        break;
      }
      case 'after': {
        const container = stack[stack.length - 1];
        const closing = container === '{' ? '}' : ']';
        if (character === ',') {
          index++;
          state = container === '{' ? 'key' : 'value';
        } else if (character === closing) {
          stack.pop();
          index++;
        } else return at(`a ',' or '${closing}' was expected`);
        break;
      }
    }
  }
}
