import { validateConfig, type AnyDestinationDescriptor, type DestinationConfig, type WorkerConfig } from '@sentcopy/worker';
import { CliError, exitCodes, type LoadedConfig, saveConfig, type SaveReport } from '../../cli-kit/index.js';
import { optionForField } from './destination-options.js';
import { exitCodeForProbe, probeDestination, type ProbeReport } from './probe-destination.js';

/**
 * Validates the whole configuration with the new entry (as a cluster's shared configuration when
 * `shared`); every problem is named by its path and, for the destination's own fields, by the
 * option that sets it.
 */
export async function checkConfig(loaded: Pick<LoadedConfig, 'baseDir' | 'cluster'>, config: WorkerConfig, name: string, descriptor: AnyDestinationDescriptor): Promise<void> {
  const result = await validateConfig(config, { shared: loaded.cluster !== undefined, baseDir: loaded.baseDir });
  if (result.ok) return;
  const prefixes = [`destinations.${name}.`, `destinations[${JSON.stringify(name)}].`];
  const lines = result.issues.map((issue) => {
    const prefix = prefixes.find((candidate) => issue.path.startsWith(candidate));
    const option = prefix === undefined ? undefined : optionForField(descriptor, issue.path.slice(prefix.length));
    return `  ${option === undefined ? issue.path : `${option} (${issue.path})`}: ${issue.problem}`;
  });
  throw new CliError(`The destination "${name}" is not valid:\n${lines.join('\n')}`, { exitCode: exitCodes.usage, code: 'invalid_destination', hint: 'Correct the options named above and run the command again.' });
}

/** What happened to the probe before saving. */
export type ProbeOutcome = { readonly skipped: true } | (ProbeReport & { readonly skipped?: false });

/**
 * Probes the destination (unless `skipProbe`) and saves the configuration where it came from: the
 * file, written atomically, or the cluster's bucket; the workers watching either apply it without a
 * restart. A destination that fails its probe is not
 * written: the error carries the probe's reason and the matching exit code.
 */
export async function probeAndSave(loaded: LoadedConfig, config: WorkerConfig, name: string, entry: DestinationConfig, descriptor: AnyDestinationDescriptor, skipProbe: boolean): Promise<{ probe: ProbeOutcome; saved: SaveReport }> {
  await checkConfig(loaded, config, name, descriptor);
  let outcome: ProbeOutcome = { skipped: true };
  if (!skipProbe) {
    const report = await probeDestination(name, entry, loaded.baseDir);
    if (report.status !== 'ok') throw refusal(report);
    outcome = report;
  }
  return { probe: outcome, saved: await saveConfig(loaded, config) };
}

function refusal(report: ProbeReport): CliError {
  const name = report.destination;
  const nothing = `Destination "${name}" was not saved`;
  switch (report.status) {
    case 'public':
      return new CliError(`${nothing}: it is publicly readable, and archived messages hold personal data. ${report.reason ?? ''}`.trim(), {
        exitCode: exitCodeForProbe(report.status),
        code: 'destination_public',
        hint: 'Block public access on the bucket or container (S3: Block Public Access; Azure: disallow anonymous access; GCS: public access prevention), then run the command again.',
      });
    case 'unreachable':
      return new CliError(`${nothing}: it could not be reached (${report.reason ?? 'no answer'}).`, {
        exitCode: exitCodeForProbe(report.status),
        code: 'destination_unreachable',
        hint: 'Check the endpoint, region and network, then run the command again (or pass --skip-probe to save it unchecked).',
      });
    case 'misconfigured':
      return new CliError(`${nothing}: it cannot be created here (${report.reason ?? 'unknown problem'}).`, {
        exitCode: exitCodeForProbe(report.status),
        code: 'destination_misconfigured',
        hint: 'Export the environment variables it names in this shell (the worker needs them too), or pass --skip-probe to save it unchecked.',
      });
    default:
      return new CliError(`${nothing}: it refused the probe (${report.reason ?? 'the probe failed'}).`, {
        exitCode: exitCodeForProbe(report.status),
        code: 'destination_refused',
        hint: 'Fix the credentials, permissions or bucket named above and run the command again (or pass --skip-probe to save it unchecked).',
      });
  }
}
