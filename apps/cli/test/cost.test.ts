import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './run-cli.js';

const work = mkdtempSync(path.join(tmpdir(), 'sentcopy-cli-cost-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const sentcopy = (...args: string[]) => runCli(args, { cwd: work });
const json = (run: { stdout: string }) => JSON.parse(run.stdout) as any;
const byClass = (result: any) => Object.fromEntries(result.classes.map((entry: any) => [entry.storageClass, entry]));

describe('sentcopy cost', { timeout: 30_000 }, () => {
  it('prices writes and storage on S3 from the dated list, and shows what Standard-IA and Glacier really cost for small messages', async () => {
    const run = await sentcopy('cost', '--messages-per-day', '1000000', '--avg-kb', '2', '--retention-days', '365', '--cloud', 's3', '--json');
    expect(run.code).toBe(0);
    const result = json(run);
    expect(result.prices).toEqual({ date: '2026-12-05', currency: 'USD', provider: 'Amazon S3', region: 'us-east-1 (US East, N. Virginia)', pricingPage: 'https://aws.amazon.com/s3/pricing/' });
    const classes = byClass(result);
    // Figures worked out by hand: 1e6 × 30.4375 days × $0.005 / 1,000 PUTs; 365e6 objects × 2 KiB × $0.023 / GiB.
    expect(classes.STANDARD).toMatchObject({ writesPerMonth: 152.1875, storagePerMonth: 16.0122, totalPerMonth: 168.1997, billedKib: 2, billedDays: 365, timesDefault: 1 });
    // Standard-IA bills 128 KB per object and twice the PUT price: about five times Standard, not a saving.
    expect(classes.STANDARD_IA).toMatchObject({ writesPerMonth: 304.375, storagePerMonth: 556.9458, billedKib: 128 });
    expect(classes.STANDARD_IA.timesDefault).toBeGreaterThan(5);
    expect(classes.STANDARD_IA.notes[0]).toBe('bills every object as 128 KB: 64× the size of a 2 KB message');
    // Glacier Flexible: 32 KiB of overhead at its rate and 8 KiB at Standard's on every object.
    expect(classes.GLACIER).toMatchObject({ storagePerMonth: 106.6551, billedKib: 42 });
    expect(classes.GLACIER.notes).toContain("adds 40 KB of metadata to every object (32 KB at this class's rate, 8 KB at STANDARD's)");
    expect(result.selected.storageClass).toBe('STANDARD');
  });

  it('bills minimum storage durations longer than the retention, and names the trap', async () => {
    const run = await sentcopy('cost', '--messages-per-day', '100000', '--avg-kb', '1', '--retention-days', '10', '--cloud', 's3', '--storage-class', 'glacier_ir', '--json');
    expect(run.code).toBe(0);
    const { selected } = json(run);
    expect(selected).toMatchObject({ storageClass: 'GLACIER_IR', billedDays: 90, storagePerMonth: 4.3945, writesPerMonth: 60.875 });
    expect(selected.notes).toContain('bills at least 90 days per object (deleting sooner is charged the rest), more than the 10-day retention');

    const azure = json(await sentcopy('cost', '--messages-per-day', '20000', '--avg-kb', '8', '--retention-days', '7', '--cloud', 'azure', '--storage-class', 'Cool', '--json'));
    expect(azure.selected).toMatchObject({ storageClass: 'Cool', billedDays: 30, storagePerMonth: 0.0458 });
    expect(azure.selected.notes.join(' ')).toContain('writes cost 2× Hot');
    const gcs = byClass(json(await sentcopy('cost', '--messages-per-day', '1000', '--avg-kb', '4', '--retention-days', '30', '--cloud', 'gcs', '--json')));
    expect(Object.keys(gcs)).toEqual(['STANDARD', 'NEARLINE', 'COLDLINE', 'ARCHIVE']);
    expect(gcs.ARCHIVE.billedDays).toBe(365);
  });

  it('prints a table for people with the chosen class marked and the figures it could not confirm', async () => {
    const run = await sentcopy('cost', '--messages-per-day', '1_000_000', '--avg-kb', '2', '--retention-days', '365', '--cloud', 's3', '--storage-class', 'STANDARD_IA');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^\* STANDARD_IA\s+\$304\s+\$557\s+\$861\s+\$28\.30\s+5\.12×$/m);
    expect(run.stdout).toContain('Cheapest here: STANDARD ($168 a month).');
    expect(run.stdout).toContain('storage and PUT prices not confirmed');
    expect(run.stdout).toContain('List prices of 2026-12-05: https://aws.amazon.com/s3/pricing/');
  });

  it('refuses bad input naming the option', async () => {
    const badClass = await sentcopy('cost', '--messages-per-day', '10', '--avg-kb', '2', '--retention-days', '30', '--cloud', 's3', '--storage-class', 'ONEZONE');
    expect(badClass.code).toBe(2);
    expect(badClass.stderr).toContain('--storage-class "ONEZONE" is not a class sentcopy cost knows for s3.');
    expect(badClass.stderr).toContain('STANDARD, STANDARD_IA, GLACIER_IR, GLACIER, DEEP_ARCHIVE');
    const badSize = await sentcopy('cost', '--messages-per-day', '10', '--avg-kb', '0', '--retention-days', '30', '--cloud', 's3');
    expect(badSize.code).toBe(2);
    expect(badSize.stderr).toContain("option '--avg-kb <kb>' argument '0' is invalid");
    const badCloud = await sentcopy('cost', '--messages-per-day', '10', '--avg-kb', '2', '--retention-days', '30', '--cloud', 'aws', '--json');
    expect(badCloud.code).toBe(2);
    expect(json(badCloud).error.message).toContain('--cloud');
    const missing = await sentcopy('cost', '--avg-kb', '2', '--retention-days', '30', '--cloud', 's3');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--messages-per-day');
  });

  it('keeps a dated price list naming its sources and what it could not confirm', () => {
    const list = JSON.parse(readFileSync(fileURLToPath(new URL('../src/cost/prices.json', import.meta.url)), 'utf8'));
    expect(list.date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    for (const cloud of ['s3', 'azure', 'gcs']) {
      expect(list.clouds[cloud].pricingPage).toMatch(/^https:\/\//);
      expect(list.clouds[cloud].region).not.toBe('');
      for (const entry of Object.values(list.clouds[cloud].classes) as any[]) expect(entry.confirmed).not.toBe('');
    }
  });
});
