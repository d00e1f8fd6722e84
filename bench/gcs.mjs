// archive() through @sentcopy/destination-gcs (and write() of prepared objects, the adapter alone)
// against a raw @google-cloud/storage `file.save(body, { resumable: false, ... })` loop with the same
// bodies and metadata, both aimed at one GCS stub that answers at once (running in a worker thread,
// so it does not share the client's event loop).
import { pathToFileURL } from 'node:url';
import { Storage } from '@google-cloud/storage';
import { createGcsDestination, sha256MetadataName } from '@sentcopy/destination-gcs';
import { compareWithRaw } from './compare-with-raw.mjs';
import { startStubThread } from './stub-thread.mjs';

/** Runs the benchmark; returns the figures it printed. */
export async function runGcsBench({ print = console.log, count = 1000, concurrency = 16, rounds = 11 } = {}) {
  const stub = await startStubThread('startGcsStub');
  const bucketName = 'bench';
  // The raw client is configured as the destination configures its own: SDK retries off, same endpoint.
  const raw = new Storage({ apiEndpoint: stub.endpoint, projectId: 'bench', retryOptions: { autoRetry: false } });
  const rawBucket = raw.bucket(bucketName);
  const destination = createGcsDestination({ bucket: bucketName, apiEndpoint: stub.endpoint, projectId: 'bench' });

  const rawSave = (object) =>
    rawBucket.file(object.key).save(Buffer.from(object.body.buffer, object.body.byteOffset, object.body.byteLength), {
      resumable: false,
      validation: 'crc32c',
      preconditionOpts: { ifGenerationMatch: 0 },
      metadata: {
        contentType: object.contentType,
        ...(object.contentEncoding === undefined ? {} : { contentEncoding: object.contentEncoding }),
        metadata: { ...object.metadata, [sha256MetadataName]: object.sha256 },
      },
    });

  try {
    return await compareWithRaw({
      print,
      title: 'GCS destination vs raw file.save (same bodies and metadata: ifGenerationMatch=0, resumable: false, CRC32C validation, SHA-256 metadata)',
      rawName: 'raw @google-cloud/storage file.save',
      unit: 'uploads/s',
      destination,
      rawPut: rawSave,
      count,
      concurrency,
      rounds,
    });
  } finally {
    await destination.close();
    await stub.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await runGcsBench();
