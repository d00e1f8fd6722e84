import type { Command } from 'commander';
import { addClusterOptions, clusterOf, defaultConfigFile, emit, type ExitCode, exitCodes, readConfig, textTable } from '../../cli-kit/index.js';
import { findDestination } from './destination-options.js';
import { exitCodeForProbe, probeDestination, type ProbeReport } from './probe-destination.js';

interface ProbeOptions {
  readonly config: string;
  readonly nats?: string;
  readonly natsName?: string;
  readonly json?: boolean;
}

/** `sentcopy destinations probe [NAME]`: checks one or every destination the way the worker does before using it. */
export function registerProbeCommand(destinations: Command): void {
  const command = destinations
    .command('probe')
    .description('Check one destination, or all: reachable, writable, write-once, readable, and not public. Writes and removes a small probe object.')
    .argument('[name]', 'the destination to probe (default: every one)')
    .option('-c, --config <file>', 'configuration file', defaultConfigFile)
    .option('--json', 'print every check of every destination as JSON');
  addClusterOptions(command);
  command
    .addHelpText(
      'after',
      `
Secrets are read from this shell's environment, as the worker reads them from its own.

Exit codes: 0 all passed; 1 one refused (credentials, permissions, missing bucket, public, no
write-once) or cannot be created here (e.g. an unset environment variable); 5 none refused but
one could not be reached (network, DNS, outage: try again later); 3 no such destination.

Examples:
  $ sentcopy destinations probe
  $ sentcopy destinations probe prod --json | jq '.results[0].checks'`,
    )
    .action(async (name: string | undefined, options: ProbeOptions) => probe(name, options));
}

/** Refusals need a person, so they win over outages, which may pass on their own. */
function worstExitCode(reports: readonly ProbeReport[]): ExitCode {
  const codes = reports.map((report) => (report.status === 'misconfigured' ? exitCodes.failure : exitCodeForProbe(report.status)));
  if (codes.includes(exitCodes.failure)) return exitCodes.failure;
  if (codes.includes(exitCodes.unavailable)) return exitCodes.unavailable;
  return exitCodes.ok;
}

const labels: Record<ProbeReport['status'], string> = { ok: 'ok', public: 'PUBLIC', refused: 'REFUSED', unreachable: 'UNREACHABLE', misconfigured: 'MISCONFIGURED' };

async function probe(name: string | undefined, options: ProbeOptions): Promise<void> {
  const loaded = await readConfig(options.config, clusterOf(options));
  const { config } = loaded;
  if (name !== undefined) findDestination(config, loaded.file, name);
  const names = name === undefined ? Object.keys(config.destinations) : [name];
  const results = await Promise.all(names.map((destination) => probeDestination(destination, config.destinations[destination]!, loaded.baseDir)));
  const exitCode = worstExitCode(results);

  emit(options, { file: loaded.file, ok: exitCode === exitCodes.ok, results }, () => {
    if (results.length === 0) return `No destinations in ${loaded.file}. Add one with \`sentcopy destinations connect\`.`;
    const table = textTable(
      ['DESTINATION', 'TYPE', 'RESULT', 'DETAIL'],
      results.map((result) => [result.destination, result.type, labels[result.status], result.status === 'ok' ? `${result.id ?? ''} (${result.checks.map((check) => check.name).join(', ')})` : (result.reason ?? '')]),
    );
    const failed = results.filter((result) => result.status !== 'ok').length;
    return `${table}\n\n${failed === 0 ? `All ${results.length} destination(s) passed.` : `${failed} of ${results.length} destination(s) failed; the worker keeps their messages queued until they pass.`}`;
  });
  process.exitCode = exitCode;
}
