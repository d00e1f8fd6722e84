// parseJson (exact numbers) against JSON.parse, on the texts the archiver reads: a 37 KB HTML email, an SMS, a push.
import { pathToFileURL } from 'node:url';
import { parseJson, sampleHtmlEmail, sampleMessages, sampleSms } from '@sentcopy/core';

/** Best of `rounds` slices of about `sliceMs`, in calls per second. */
function rate(work, { rounds = 5, sliceMs = 60 } = {}) {
  let best = 0;
  for (let round = 0; round < rounds; round++) {
    let calls = 0;
    const started = performance.now();
    while (performance.now() - started < sliceMs) {
      for (let index = 0; index < 20; index++) work();
      calls += 20;
    }
    best = Math.max(best, (calls / (performance.now() - started)) * 1000);
  }
  return best;
}

/** Runs the benchmark; returns the rows it printed. */
export function runParseJsonBench({ print = console.log } = {}) {
  const push = sampleMessages({ projectId: 'bench', count: 8 }).find((message) => message.channel === 'push');
  const long = '12345678901234567891';
  const inputs = [
    ['HTML email', JSON.stringify(sampleHtmlEmail())],
    ['SMS', JSON.stringify(sampleSms())],
    ['push (hex token)', JSON.stringify(push)],
    ['push with a 20-digit number', JSON.stringify(push).replace('"payload":{', `"payload":{"order":${long},`)],
  ];
  print('\nparseJson vs JSON.parse (calls/s, best of 6 slices, alternating; ratio = parseJson / JSON.parse, 1.00 = no cost)');
  const rows = [];
  for (const [name, text] of inputs) {
    // Warm both up, then alternate, so neither side pays for the JIT or a noisy moment alone.
    rate(() => JSON.parse(text), { rounds: 2 });
    rate(() => parseJson(text), { rounds: 2 });
    let native = 0;
    let exact = 0;
    for (let turn = 0; turn < 3; turn++) {
      native = Math.max(
        native,
        rate(() => JSON.parse(text), { rounds: 2 }),
      );
      exact = Math.max(
        exact,
        rate(() => parseJson(text), { rounds: 2 }),
      );
    }
    const row = { name, bytes: text.length, jsonParse: Math.round(native), parseJson: Math.round(exact), ratio: exact / native };
    rows.push(row);
    print(`  ${name.padEnd(30)} ${String(row.bytes).padStart(6)} B  JSON.parse ${String(row.jsonParse).padStart(8)}/s  parseJson ${String(row.parseJson).padStart(8)}/s  ratio ${row.ratio.toFixed(2)}`);
  }
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) runParseJsonBench();
