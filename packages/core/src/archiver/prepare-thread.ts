// Entry point of a prepare pool's worker thread (built to dist/prepare-thread.js).
import workerThreads, { parentPort } from 'node:worker_threads';
import { getCodec } from '../codecs/index.js';
import { compileKeyLayout } from '../key-layout/index.js';
import { ledgerMessageFacts } from '../ledger/index.js';
import { MessageValidationError } from '../payload/index.js';
import { getProfile } from '../profiles/index.js';
import { derivedFields, prepareHere, type PreparedObject } from './prepare-object.js';
import type { FailedReply, PrepareBatch, PreparedReply, PrepareReply, PrepareWireSettings } from './prepare-pool.js';

const preparers = new Map<string, (input: unknown) => Promise<PreparedObject>>();

function preparerFor(request: PrepareWireSettings): (input: unknown) => Promise<PreparedObject> {
  const cacheKey = `${request.profile}\n${request.codec}\n${request.recipientKey ?? ''}\n${request.layout}`;
  let found = preparers.get(cacheKey);
  if (found === undefined) {
    const layout = compileKeyLayout(request.layout, request.recipientKey === undefined ? {} : { recipientKey: Buffer.from(request.recipientKey, 'hex') });
    found = prepareHere(getProfile(request.profile), layout, getCodec(request.codec));
    preparers.set(cacheKey, found);
  }
  return found;
}

// Node 21+ names the buffers it refuses to transfer (its pools, natively allocated memory such as lz4-napi's output); Node 20 lacks the check.
const isUntransferable = (workerThreads as { isMarkedAsUntransferable?: (value: object) => boolean }).isMarkedAsUntransferable;

// A body that shares its memory (Node's pooled buffers) or cannot be transferred is copied, so that transferring it detaches
// nothing else; with the Uint8Array constructor, since a Buffer's own slice() shares the memory it was cut from.
function ownBody(body: Uint8Array): Uint8Array {
  const standalone = body.byteOffset === 0 && body.byteLength === body.buffer.byteLength && isUntransferable?.(body.buffer) !== true;
  return standalone ? body : new Uint8Array(body);
}

async function answer(id: number, settings: PrepareWireSettings, input: unknown): Promise<PrepareReply> {
  try {
    // The message itself stays here: sending it back would cost the caller's thread a copy it rarely reads.
    const { message, key, sha256, contentSha256, messageId, projectId, channel, body } = await preparerFor(settings)(input);
    const { recipients, sentAt, fields } = ledgerMessageFacts(message);
    const reply: PreparedReply = [id, key, sha256, contentSha256, messageId, projectId, channel, ownBody(body), derivedFields(message) ?? null, recipients, sentAt, fields];
    return reply;
  } catch (error) {
    if (MessageValidationError.isInstance(error)) return { id, name: error.name, message: error.message, issues: error.issues } satisfies FailedReply;
    const failure = error instanceof Error ? error : new Error(String(error));
    return { id, name: failure.name, message: failure.message } satisfies FailedReply;
  }
}

parentPort?.on('message', async (batch: PrepareBatch) => {
  const replies = await Promise.all(batch.ids.map((id, index) => answer(id, batch.settings[batch.settingIndexes[index] as number] as PrepareWireSettings, batch.inputs[index])));
  const transfer = replies.flatMap((reply) => (Array.isArray(reply) ? [(reply as PreparedReply)[7].buffer as ArrayBuffer] : []));
  parentPort?.postMessage(replies, transfer);
});
