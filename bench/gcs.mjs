// archive() through @sentcopy/destination-gcs (and write() of prepared objects, the adapter alone)
// against a raw @google-cloud/storage `file.save(body, { resumable: false, ... })` loop with the same
// bodies and metadata, both aimed at one GCS stub that answers at once (running in a worker thread,
// so it does not share the client's event loop).
import { pathToFileURL } from 'node:url';
import { Storage } from '@google-cloud/storage';
import { createGcsDestination, sha256MetadataName } from '@sentcopy/destination-gcs';
import { compareWithRaw } from './compare-with-raw.mjs';
import { busyShare, cpuTimes } from './s3.mjs';
import { bareRequest, measureSdkOverhead } from './sdk-overhead.mjs';
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

  const boundary = 'sentcopy-bench-boundary';
  const barePut = (object, agent) => {
    const metadata = {
      name: object.key,
      contentType: object.contentType,
      ...(object.contentEncoding === undefined ? {} : { contentEncoding: object.contentEncoding }),
      metadata: { ...object.metadata, [sha256MetadataName]: object.sha256 },
    };
    const body = Buffer.concat([
      Buffer.from(`--${boundary}\r\ncontent-type: application/json; charset=UTF-8\r\n\r\n${JSON.stringify(metadata)}\r\n--${boundary}\r\ncontent-type: ${object.contentType}\r\n\r\n`),
      object.body,
      Buffer.from(`\r\n--${boundary}--`),
    ]);
    return bareRequest(
      agent,
      `${stub.endpoint}/upload/storage/v1/b/${bucketName}/o?uploadType=multipart&name=${encodeURIComponent(object.key)}&ifGenerationMatch=0`,
      'POST',
      { 'content-type': `multipart/related; boundary=${boundary}` },
      body,
    );
  };
  const cpu = cpuTimes();
  try {
    const result = await compareWithRaw({
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
    const overhead = await measureSdkOverhead({
      print,
      title: 'GCS: the SDK upload vs the same multipart upload over node:http (no bearer token, no CRC32C check of the answer)',
      sdkName: 'raw @google-cloud/storage file.save',
      destination,
      sdkPut: rawSave,
      barePut,
      count,
      concurrency,
    });
    const share = busyShare(cpu);
    print(
      `target (issue #17): write(prepared) well above the raw loop (the lean multipart upload: the SDK's auth client and CRC32C, an undici pool instead of the SDK's write stream). Machine CPU busy while measuring: ${(share * 100).toFixed(0)}% of all cores`,
    );
    return { ...result, sdkOverhead: overhead, cpuBusyShare: share };
  } finally {
    await destination.close();
    await stub.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await runGcsBench();
