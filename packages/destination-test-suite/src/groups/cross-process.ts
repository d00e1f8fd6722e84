import type { ConformanceCheck } from '../conformance-check.js';
import { runWriterProcesses, type WriterPut } from '../cross-process-writers.js';
import { sha256Hex } from '../fixtures.js';

function payload(fill: number, size: number): Uint8Array {
  const body = new Uint8Array(size);
  for (let index = 0; index < size; index++) body[index] = (fill * 131 + index * 11) & 0xff;
  body[0] = fill;
  return body;
}

const putsPerProcess = 6;

/** Checks of the `crossProcess` group. */
export const crossProcessChecks: readonly ConformanceCheck[] = [
  {
    name: 'writers in separate processes racing for one key leave exactly one whole object; every loser gets conflict',
    async run({ backdoor, expect, prefix, destination, options }) {
      const writers = options?.crossProcess;
      expect(
        writers !== undefined,
        'the crossProcess group needs the crossProcess option (a factory module the writer processes import); switch the group off with groups: { crossProcess: false } where a store cannot be shared between processes',
      ).toBe(true);
      if (writers === undefined) return;
      const processes = writers.processes ?? 4;
      expect(Number.isInteger(processes) && processes >= 2, 'crossProcess.processes is a whole number, 2 or more').toBe(true);
      const key = `${prefix}contended`;
      const shared = payload(0, 64 * 1024);
      // Every process writes the shared bytes once and its own different bytes the rest of the time.
      const plan: WriterPut[][] = Array.from({ length: processes }, (_, process) =>
        Array.from({ length: putsPerProcess }, (_, index) => {
          const body = index % 2 === 0 ? shared : payload(1 + process * putsPerProcess + index, 64 * 1024);
          return { key, body, sha256: sha256Hex(body) };
        }),
      );
      const outcomes = await runWriterProcesses(writers, plan);

      expect(await backdoor.listKeys(prefix), 'exactly one object and no temporary or partial files').toEqual([key]);
      const landed = await backdoor.readObject(key);
      const storedSha = landed ? sha256Hex(landed.body) : 'nothing stored';
      const candidates = plan.flat().map((put) => put.sha256);
      expect(candidates.includes(storedSha), 'the stored bytes are exactly one of the candidates').toBe(true);
      expect(landed?.sha256, 'the recorded SHA-256 matches the stored bytes').toBe(storedSha);
      const expected = plan.map((puts) => puts.map((put) => (put.sha256 === storedSha ? 'fulfilled' : 'conflict')));
      expect(
        outcomes.map((list) => list.map((outcome) => outcome.kind)),
        'puts of the stored bytes succeed in every process, all others fail with conflict',
      ).toEqual(expected);
      const created = outcomes.flat().filter((outcome) => outcome.created === true).length;
      expect(created, 'exactly one put across all processes reports created: true').toBe(1);
      expect((await destination.get(key))?.sha256, 'this process reads what the writers stored').toBe(storedSha);
    },
  },
];
