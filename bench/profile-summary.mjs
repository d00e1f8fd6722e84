// Summarizes V8 CPU profiles (`node --cpu-prof --cpu-prof-dir=DIR …`): for each profile (one per
// thread), where the time went by area (undici, signing, the AWS SDK, the worker, core, Node's HTTP
// and streams, GC, idle…) and the functions with the most self time.
// Usage: node bench/profile-summary.mjs DIR [top]
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const areas = [
  ['idle', (frame) => frame.functionName === '(idle)'],
  ['garbage collector', (frame) => frame.functionName === '(garbage collector)'],
  ['(program): V8/native outside JS', (frame) => frame.functionName === '(program)'],
  ['undici (write pool)', (frame) => frame.url.includes('/undici/')],
  ['@smithy/signature-v4 (signing)', (frame) => frame.url.includes('signature-v4')],
  ['AWS SDK (other @smithy, @aws-sdk)', (frame) => frame.url.includes('@smithy') || frame.url.includes('@aws-sdk') || frame.url.includes('@aws-crypto')],
  ['better-sqlite3 (queue)', (frame) => frame.url.includes('better-sqlite3')],
  ['worker: queue', (frame) => /apps\/worker\/(dist|src)/.test(frame.url) && /queue|store|sqlite/i.test(frame.functionName + frame.url)],
  ['worker (@sentcopy/worker)', (frame) => /apps\/worker\/(dist|src)/.test(frame.url)],
  ['core (@sentcopy/core)', (frame) => /packages\/core\/(dist|src)/.test(frame.url)],
  ['destination-s3', (frame) => /packages\/destination-s3\/(dist|src)/.test(frame.url)],
  ['node: http server/client', (frame) => /^node:(_http|http|internal\/http)/.test(frame.url)],
  ['node: net, streams, timers, events', (frame) => /^node:(net|stream|internal\/streams|timers|internal\/timers|events|internal\/stream_base|internal\/process\/task_queues|internal\/async_hooks)/.test(frame.url)],
  ['node: zlib, crypto, buffer', (frame) => /^node:(zlib|crypto|internal\/crypto|buffer|internal\/buffer)/.test(frame.url)],
  ['node: worker threads / messaging', (frame) => /^node:(internal\/worker|worker_threads|internal\/per_context\/messageport)/.test(frame.url)],
  ['node: other', (frame) => frame.url.startsWith('node:')],
  ['built-ins (JSON, RegExp, …)', (frame) => frame.url === ''],
  ['other JavaScript', () => true],
];

function summarize(file, top) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map();
  profile.samples.forEach((id, index) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0)));
  const total = [...self.values()].reduce((sum, value) => sum + value, 0);
  const byArea = new Map();
  const byFunction = new Map();
  for (const [id, micros] of self) {
    const frame = byId.get(id).callFrame;
    const area = areas.find(([, test]) => test(frame))[0];
    byArea.set(area, (byArea.get(area) ?? 0) + micros);
    const name = `${frame.functionName || '(anonymous)'} ${frame.url ? `${frame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(apps|packages|bench)\//, '$1/')}:${frame.lineNumber + 1}` : ''}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + micros);
  }
  const share = (micros) => `${((micros / total) * 100).toFixed(1)}%`;
  console.log(`\n### ${path.basename(file)}: ${(total / 1e6).toFixed(1)} s sampled`);
  console.log('| area | share of the thread |\n|---|---:|');
  for (const [area, micros] of [...byArea].sort((a, b) => b[1] - a[1])) console.log(`| ${area} | ${share(micros)} |`);
  console.log(`\nTop ${top} functions by self time:`);
  for (const [name, micros] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`- ${share(micros)} ${name}`);
}

const [folder, top = '15'] = process.argv.slice(2);
for (const file of readdirSync(folder)
  .filter((name) => name.endsWith('.cpuprofile'))
  .sort())
  summarize(path.join(folder, file), Number(top));
