// How much of a cloud SDK's upload is the SDK: its upload loop against the same request sent with
// node:http (keep-alive agent, same concurrency, same bytes and headers, no auth header: the stubs
// check none, and signing is a few microseconds of HMAC or a bearer header), both aimed at the same
// stub in a worker thread. A ratio far above 1 means a lean path, like destination-s3's, would pay.
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { createArchiver, sampleMessages } from '@sentcopy/core';
import { median, runPool } from './stub-thread.mjs';

/** Sends one request with node:http and reads the answer; rejects on a status of 300 or more. */
export function bareRequest(agent, url, method, headers, body) {
  return new Promise((resolve, reject) => {
    const call = request(url, { method, agent, headers: { ...headers, 'content-length': body.byteLength } }, (response) => {
      response.resume();
      response.on('end', () => (response.statusCode < 300 ? resolve() : reject(new Error(`${method} ${url} answered ${response.statusCode}`))));
    });
    call.on('error', reject);
    call.end(body);
  });
}

/**
 * Prints and returns the SDK loop's and the bare loop's rates over `count` sample messages prepared
 * by `destination`'s archiver. `sdkPut(object)` and `barePut(object, agent)` write one prepared object.
 */
export async function measureSdkOverhead({ print, title, sdkName, destination, sdkPut, barePut, count = 1000, concurrency = 16, rounds = 7 }) {
  const archiver = createArchiver({ destination, recipientKey: randomBytes(32), retry: false });
  const objects = await Promise.all(sampleMessages({ projectId: 'bench', count }).map((message) => archiver.prepare(message)));
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const timed = async (work) => {
    const started = performance.now();
    await runPool(objects, concurrency, work);
    return performance.now() - started;
  };
  const sdk = () => timed(sdkPut);
  const bare = () => timed((object) => barePut(object, agent));
  try {
    for (let pass = 0; pass < 2; pass++) {
      await sdk();
      await bare();
    }
    const sdkRates = [];
    const bareRates = [];
    const ratios = [];
    for (let round = 0; round < rounds; round++) {
      const [sdkMs, bareMs] = round % 2 === 0 ? [await sdk(), await bare()] : [await bare(), await sdk()].reverse();
      sdkRates.push((count / sdkMs) * 1000);
      bareRates.push((count / bareMs) * 1000);
      ratios.push(sdkMs / bareMs);
    }
    print(`\n${title}; ${count} prepared sample messages, concurrency ${concurrency}, median of ${rounds} alternating rounds`);
    print('| side | requests/s | ratio vs the SDK |');
    print('|---|---:|---:|');
    print(`| ${sdkName} | ${median(sdkRates).toFixed(0)} | 1.00 |`);
    print(`| the same request with node:http (no SDK) | ${median(bareRates).toFixed(0)} | **${median(ratios).toFixed(2)}** |`);
    return { sdkRate: median(sdkRates), bareRate: median(bareRates), ratio: median(ratios) };
  } finally {
    agent.destroy();
  }
}
