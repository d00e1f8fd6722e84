import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { parseJson, stringifyJson } from '@sentcopy/core';
import { checkLine, type CheckedLine, type RejectRecord } from './check-line.js';
import type { FileFormat } from './collect-inputs.js';
import { checkEmail, splitMbox } from './read-emails.js';

/** One message read from an input, checked: what to submit, or the record of why not. */
export interface ReadMessage {
  readonly checked: CheckedLine | RejectRecord;
  /** The message as read (a line's text; an email's bytes in base64), for `--rejects-include-message`. */
  readonly text: string;
}

/** The whole input as one email's bytes. */
async function* readWhole(input: NodeJS.ReadableStream): AsyncGenerator<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of input) chunks.push(Buffer.from(chunk as Buffer));
  yield Buffer.concat(chunks);
}

async function* emails(input: NodeJS.ReadableStream, format: 'eml' | 'mbox', project: string, onBytes: (bytes: number) => void): AsyncGenerator<ReadMessage> {
  let number = 0;
  for await (const bytes of format === 'eml' ? readWhole(input) : splitMbox(input)) {
    number++;
    onBytes(bytes.length);
    yield { checked: await checkEmail(bytes, number, project), text: Buffer.from(bytes).toString('base64') };
  }
}

async function* jsonLines(input: NodeJS.ReadableStream | string[], onBytes: (bytes: number) => void): AsyncGenerator<ReadMessage> {
  const reader = Array.isArray(input) ? input : createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  let lineNumber = 0;
  try {
    for await (const raw of reader) {
      lineNumber++;
      onBytes(Buffer.byteLength(raw) + 1);
      const text = lineNumber === 1 && raw.startsWith('\uFEFF') ? raw.slice(1) : raw;
      if (text.trim() === '') continue;
      yield { checked: checkLine(text, lineNumber), text };
    }
  } finally {
    if (!Array.isArray(reader)) reader.close();
  }
}

/**
 * A `.json` file: one message, or an array of messages (numbered from 1 as "lines"), in one JSON
 * document; a file that is not one document is read as JSON Lines (many tools write those as
 * `.json`). A single message is sent as its own text; array elements as their exact JSON (numbers
 * keep their digits).
 */
async function* jsonDocument(file: string, onBytes: (bytes: number) => void): AsyncGenerator<ReadMessage> {
  const raw = await readFile(file, 'utf8');
  const text = raw.startsWith('\uFEFF') ? raw.slice(1) : raw;
  let value: unknown;
  try {
    value = parseJson(text);
  } catch {
    yield* jsonLines(text.split(/\r?\n/), onBytes);
    return;
  }
  onBytes(Buffer.byteLength(raw));
  if (!Array.isArray(value)) {
    yield { checked: checkLine(text.trim(), 1), text };
    return;
  }
  let number = 0;
  for (const element of value) {
    number++;
    const elementText = stringifyJson(element);
    yield { checked: checkLine(elementText, number), text: elementText };
  }
}

/**
 * The messages of one input in the order they are read, checked locally (JSON, fields; an email's
 * headers). Streams JSON Lines and mbox (one message held at a time); an .eml or .json file is
 * read whole. Rejects when the input cannot be read as its format (an mbox that does not start
 * with "From ", an I/O error); messages before that were already yielded.
 */
export function readMessages(input: { file: string; open: () => NodeJS.ReadableStream }, format: FileFormat, project: string | undefined, onBytes: (bytes: number) => void): AsyncGenerator<ReadMessage> {
  switch (format) {
    case 'eml':
    case 'mbox':
      return emails(input.open(), format, project as string, onBytes);
    case 'json':
      return jsonDocument(input.file, onBytes);
    case 'jsonl':
      return jsonLines(input.open(), onBytes);
  }
}
