// archive() through @sentcopy/destination-azure (and write() of prepared objects, the adapter alone)
// against a raw @azure/storage-blob upload loop with the same bodies and headers, both aimed at one
// Azure Blob stub that answers 201 at once (running in a worker thread, so it does not share the
// client's event loop).
import { createHash } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { createAzureDestination, encodeMetadataName, sha256MetadataName } from '@sentcopy/destination-azure';
import { compareWithRaw } from './compare-with-raw.mjs';
import { busyShare, cpuTimes } from './s3.mjs';
import { bareRequest, measureSdkOverhead } from './sdk-overhead.mjs';
import { startStubThread } from './stub-thread.mjs';

/** Runs the benchmark; returns the figures it printed. */
export async function runAzureBench({ print = console.log, count = 1000, concurrency = 16, rounds = 11 } = {}) {
  const stub = await startStubThread('startAzureStub');
  const container = 'bench';
  const accountName = 'devstoreaccount1';
  // Azurite's published development key: the stub checks no signature, but the SDK signs every request as it would for Azure.
  const accountKey = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
  // The raw client is configured as the destination configures its own: one try, the same user agent, shared-key signing.
  const raw = new BlobServiceClient(stub.blobEndpoint, new StorageSharedKeyCredential(accountName, accountKey), {
    retryOptions: { maxTries: 1 },
    userAgentOptions: { userAgentPrefix: 'sentcopy' },
  }).getContainerClient(container);
  const destination = createAzureDestination({ container, accountUrl: stub.blobEndpoint, credential: { accountKey } });

  const metadataOf = (object) => ({
    ...Object.fromEntries(Object.entries(object.metadata ?? {}).map(([name, value]) => [encodeMetadataName(name), value])),
    [sha256MetadataName]: object.sha256,
  });
  const rawPut = (object) =>
    raw.getBlockBlobClient(object.key).upload(object.body, object.body.byteLength, {
      conditions: { ifNoneMatch: '*' },
      blobHTTPHeaders: { blobContentType: object.contentType, ...(object.contentEncoding === undefined ? {} : { blobContentEncoding: object.contentEncoding }) },
      metadata: metadataOf(object),
      // Content-MD5, as the destination sends it (computed per request there too).
      transactionalContentMD5: createHash('md5').update(object.body).digest(),
    });

  const barePut = (object, agent) =>
    bareRequest(
      agent,
      `${stub.blobEndpoint}/${container}/${object.key.split('/').map(encodeURIComponent).join('/')}`,
      'PUT',
      {
        'x-ms-version': '2025-01-05',
        'x-ms-date': new Date().toUTCString(),
        'x-ms-blob-type': 'BlockBlob',
        'if-none-match': '*',
        'x-ms-blob-content-type': object.contentType,
        ...(object.contentEncoding === undefined ? {} : { 'x-ms-blob-content-encoding': object.contentEncoding }),
        'content-md5': createHash('md5').update(object.body).digest('base64'),
        ...Object.fromEntries(Object.entries(metadataOf(object)).map(([name, value]) => [`x-ms-meta-${name}`, value])),
      },
      object.body,
    );
  const cpu = cpuTimes();
  try {
    const result = await compareWithRaw({
      print,
      title: 'Azure destination vs raw BlockBlobClient.upload (same bodies and headers: If-None-Match, Content-MD5, content type/encoding and metadata)',
      rawName: 'raw @azure/storage-blob BlockBlobClient.upload',
      destination,
      rawPut,
      count,
      concurrency,
      rounds,
    });
    const overhead = await measureSdkOverhead({
      print,
      title: 'Azure: the SDK upload vs the same Put Blob over node:http (no SharedKey signature)',
      sdkName: 'raw @azure/storage-blob BlockBlobClient.upload',
      destination,
      sdkPut: rawPut,
      barePut,
      count,
      concurrency,
    });
    const share = busyShare(cpu);
    print(
      `target (issue #17): write(prepared) well above the raw loop (the lean Put Blob: the SDK's own signing policy in a minimal core-rest-pipeline over an undici pool). Machine CPU busy while measuring: ${(share * 100).toFixed(0)}% of all cores`,
    );
    return { ...result, sdkOverhead: overhead, cpuBusyShare: share };
  } finally {
    await destination.close();
    await stub.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await runAzureBench();
