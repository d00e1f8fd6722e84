import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Help, Option, type Command } from 'commander';
import type { DestinationV1 } from '@sentcopy/core';
import type { LedgerIndex } from '@sentcopy/ledger-index';
import { addClusterOptions, canPrompt, CliError, clusterOf, defaultConfigFile, describeSaveReport, emit, exitCodes, readConfig, saveConfig, saveReportExitCode, textTable, wholeNumber, type LoadedConfig } from '../cli-kit/index.js';
import { closeAll, defaultIndexFile, openIndexIfPresent, openLedgerDestinations, updateIndexed, type LedgerDestination } from '../archive/ledger-search.js';
import { destinationFailure } from '../archive/archive-source.js';
import { messageTextExtractor } from '../archive/message-text.js';
import { accessLogFile, openAccessLog } from '../viewer/access-log/access-log.js';
import { hashPassword } from '../viewer/server/password-hash.js';
import type { ViewerBindError } from '../viewer/server/start-viewer.js';
import type { ViewerModule } from '../viewer/server/viewer-app.js';
import type { ViewerAccount } from '../viewer/server/viewer-auth.js';
import type { ViewerContext } from '../viewer/viewer-context.js';

/**
 * The viewer's server and its route modules beyond search and the access log (message pages,
 * export, registered in this order). Loaded when the viewer starts, so that no other command (the
 * worker above all) carries hono, sanitize-html, nodemailer and the ZIP libraries in its memory.
 */
async function loadViewer() {
  const [server, app, message, exported] = await Promise.all([import('../viewer/server/start-viewer.js'), import('../viewer/server/viewer-app.js'), import('../viewer/message/index.js'), import('../viewer/export/index.js')]);
  const modules: readonly ViewerModule[] = [
    { register: message.registerMessageRoutes, assets: message.messageAssets },
    { register: exported.registerExportRoutes, assets: exported.exportAssets },
  ];
  return { ...server, createViewerApp: app.createViewerApp, modules };
}

interface ClusterOptions {
  config: string;
  nats?: string;
  natsName?: string;
  json?: boolean;
}

interface ViewOptions extends ClusterOptions {
  host: string;
  port: number;
  tlsCert?: string;
  tlsKey?: string;
  insecureBind?: boolean;
  allowHost: string[];
  index?: string;
  indexUpdate: boolean;
  refresh: number;
  token?: boolean;
}

const accountNamePattern = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
const minimumPasswordLength = 12;

/** `sentcopy view`: the local archive viewer, and its `accounts` and `log` subcommands. */
export function registerViewCommand(program: Command): void {
  const view = program.command('view').description('Serve the archive viewer on this machine: search by recipient, campaign, channel, date or text; every search and view is logged.');
  addClusterOptions(view)
    .option('-c, --config <file>', 'configuration file', defaultConfigFile)
    .option('--host <address>', 'address to listen on; anything but a loopback address needs --tls-cert/--tls-key or --insecure-bind', '127.0.0.1')
    .option('--port <number>', 'TCP port (0: any free port)', wholeNumber(0, 65_535), 7420)
    .option('--tls-cert <file>', 'serve HTTPS with this PEM certificate (chain)')
    .option('--tls-key <file>', 'the PEM private key of --tls-cert')
    .option('--insecure-bind', 'allow plain HTTP on an address other machines can reach (the token and pages cross the network unencrypted)')
    .option('--allow-host <name>', 'also answer requests for this host name (behind a proxy or a DNS name); repeatable', (value: string, previous: string[]) => [...previous, value], [] as string[])
    .option('--index <file>', 'the local ledger index (default: .sentcopy/ledger-index.sqlite beside the configuration)')
    .option('--no-index-update', 'do not build or update the index at start: use it as it is, or without one read the ledger segments for each search')
    .option('--refresh <seconds>', 'bring the index up to date again every this many seconds while running (0: never), so new messages are found', wholeNumber(0, 86_400), 60)
    .option('--token', 'print a start-up token even when the configuration has viewer accounts')
    .option('--json', 'print one JSON line {"url","token"} once the viewer listens')
    .addHelpText(
      'after',
      `
The viewer is a local web page for support agents and auditors. It listens on 127.0.0.1:7420 and
prints its URL; it opens no browser by itself. Sign in with the access token it prints at start
(a new one each start, shown once and never logged), or with a viewer account from the
configuration (\`sentcopy view accounts add NAME\`); with accounts, no token is printed unless
--token is given. Scripts may send \`Authorization: Bearer TOKEN\` to /api/search.

At start the local index (\`sentcopy index\`) is built or brought up to date from the ledger of every
destination, with progress on stderr; searches then answer from it, and it is brought up to date
again every --refresh seconds (60) so new messages are found. --no-index-update skips both.
Every sign-in (and refused one), search, view, download and export is appended to
.sentcopy/viewer-access.log beside the configuration (mode 0600, on disk before the page is
sent), shown on the Access log page and by \`sentcopy view log\`. Recipients are typed on the page,
hashed there as \`sentcopy ls --recipient\` does, and never appear in a URL or a log line.
Ctrl-C (SIGINT) or SIGTERM stops it. See docs/viewer.md for the security model and proxies.

Examples:
  $ sentcopy view                                  then open the printed URL and paste the token
  $ sentcopy view --port 0 --json                  {"url":"http://127.0.0.1:41234/","token":"…"}
  $ sentcopy view --host 0.0.0.0 --tls-cert cert.pem --tls-key key.pem
  $ sentcopy view accounts add ana                 asks for a password (or --password-stdin)
  $ sentcopy view log --who ana --action search
  $ curl -H "Authorization: Bearer $TOKEN" 'http://127.0.0.1:7420/api/search?campaign=spring'`,
    )
    .action(async (options: ViewOptions) => runView(options));
  registerAccountCommands(view);
  registerLogCommand(view);
}

function tlsOf(options: ViewOptions) {
  if ((options.tlsCert === undefined) !== (options.tlsKey === undefined)) {
    throw new CliError(`--${options.tlsCert === undefined ? 'tls-cert' : 'tls-key'} is missing: TLS needs both the certificate and its key.`, {
      exitCode: exitCodes.usage,
      code: 'tls_incomplete',
      hint: 'Give both --tls-cert FILE and --tls-key FILE.',
    });
  }
  return options.tlsCert === undefined ? undefined : { certFile: path.resolve(options.tlsCert), keyFile: path.resolve(options.tlsKey!) };
}

/** Brings the index up to date (ledger, then text when it is on), with progress on stderr unless `quiet`; answers the problems found. */
async function updateIndex(index: LedgerIndex, ledgers: readonly LedgerDestination[], quiet: boolean, retryUnreachable: boolean): Promise<string[]> {
  const problems: string[] = [];
  const say = (line: string) => {
    if (!quiet) process.stderr.write(`${line}\n`);
  };
  // Every destination that could be opened, with or without a ledger at start: one that gets its first segment later is picked up.
  // One that did not answer at start is left out of the start (its retries would hold it up) and tried on each refresh.
  for (const ledger of ledgers) {
    if (ledger.destination === undefined || (ledger.error !== undefined && !retryUnreachable)) continue;
    let last = 0;
    try {
      const result = await updateIndexed(index, ledger, {
        onProgress: (progress) => {
          const now = performance.now();
          if (now - last < 500 && progress.segments !== 1) return;
          last = now;
          say(`index: ${ledger.name}: ${progress.segments} segment(s), ${progress.lines} entries`);
        },
      });
      if (result.segments > 0) say(`index: ${ledger.name}: ${result.segments} new segment(s), ${result.added} object(s) added.`);
      for (const problem of result.problems) problems.push(`The index of "${ledger.name}" stops at ${problem.key}: ${problem.reason} (run \`sentcopy verify --complete\`).`);
      if (index.textEnabled()) {
        const text = await index.updateText(ledger.name, ledger.destination, { extract: messageTextExtractor(ledger.destination) }).catch((error: unknown) => {
          throw destinationFailure(error, { destinationName: ledger.name }, 'read messages for the text index');
        });
        if (text.indexed > 0) say(`index: ${ledger.name}: text of ${text.indexed} object(s) indexed.`);
        if (text.problems.length > 0) problems.push(`${text.problems.length} message(s) of "${ledger.name}" have no text indexed (run \`sentcopy index\` for the list).`);
      }
    } catch (error) {
      // One destination that cannot be read must not keep the viewer from starting, nor the others from being indexed.
      problems.push(`The index of "${ledger.name}" could not be brought up to date, so its newest messages may be missing: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return problems;
}

const noLedgerNotice =
  'No destination holds a ledger yet, so there is nothing to search: the viewer searches the ledger the worker writes beside the archive (on by default; see docs/ledger.md). Archive messages with the worker; the viewer finds them within --refresh seconds (or start it again).';

async function runView(options: ViewOptions): Promise<void> {
  const { isLoopback, startViewer, ViewerBindError, createViewerApp, modules } = await loadViewer();
  const tls = tlsOf(options);
  if (tls === undefined && options.insecureBind !== true) {
    // Checked before anything is opened, so the refusal is the first and only thing said.
    if (!isLoopback(options.host)) throw bindRefusal(new ViewerBindError(options.host));
  }
  const loaded = await readConfig(options.config, clusterOf(options));
  const quiet = options.json === true;
  const ledgers = await openLedgerDestinations(loaded, undefined);
  const notices: string[] = [];
  for (const ledger of ledgers) {
    if (ledger.error !== undefined) notices.push(`Destination "${ledger.name}" could not be opened or read, so it is not searched: ${ledger.error}`);
  }
  if (!ledgers.some((ledger) => ledger.hasLedger)) {
    notices.push(noLedgerNotice);
  }
  const indexFile = options.index === undefined ? defaultIndexFile(loaded) : path.resolve(options.index);
  let index: LedgerIndex | undefined;
  const accessLog = openAccessLog(accessLogFile(loaded.baseDir));
  try {
    index = openIndexIfPresent(indexFile, options.indexUpdate);
    if (index !== undefined && options.indexUpdate) notices.push(...(await updateIndex(index, ledgers, quiet, false)));
    for (const notice of notices) process.stderr.write(`warning: ${notice}\n`);
    const destinations = new Map<string, DestinationV1>();
    for (const ledger of ledgers) if (ledger.destination !== undefined) destinations.set(ledger.name, ledger.destination);
    const context: ViewerContext = { loaded, destinations, index, audit: (event) => accessLog.append(event) };
    const accounts = loaded.config.viewer?.accounts ?? [];
    const token = accounts.length === 0 || options.token === true ? randomBytes(24).toString('base64url') : undefined;
    const app = createViewerApp(context, {
      accessLog,
      ...(token === undefined ? {} : { token }),
      secure: tls !== undefined,
      allowedHosts: ['127.0.0.1', 'localhost', '[::1]', options.host.toLowerCase(), ...options.allowHost.map((host) => host.toLowerCase())],
      modules,
      notices,
    });
    const running = await startViewer(app, { host: options.host, port: options.port, ...(tls === undefined ? {} : { tls }), insecureBind: options.insecureBind === true }).catch((error: unknown) => {
      if (error instanceof ViewerBindError) throw bindRefusal(error);
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE') throw new CliError(`Port ${options.port} on ${options.host} is in use.`, { exitCode: exitCodes.usage, code: 'port_in_use', hint: 'Choose another with --port (0 picks a free one).' });
      if (code === 'ENOENT' || code === 'EACCES') throw new CliError(`The TLS certificate or key cannot be read: ${(error as Error).message}`, { exitCode: exitCodes.usage, code: 'tls_unreadable', cause: error });
      throw error;
    });
    if (options.json === true) process.stdout.write(`${JSON.stringify({ url: running.url, token: token ?? null })}\n`);
    else {
      process.stdout.write(`sentcopy view: the archive viewer is at ${running.url}\n`);
      process.stdout.write(token === undefined ? `Sign in with a viewer account (${accounts.length} configured).\n` : `Access token (shown once, not logged): ${token}\n`);
      process.stdout.write(`Answering from the ${index === undefined ? 'ledger segments (no index)' : `index ${indexFile}`}; access log: ${accessLog.file}. Ctrl-C stops it.\n`);
    }
    const stopRefresh = index !== undefined && options.indexUpdate ? refreshIndex(index, ledgers, options.refresh, notices) : async () => undefined;
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await running.close();
    await stopRefresh();
    if (options.json !== true) process.stderr.write('sentcopy view: stopped.\n');
  } finally {
    index?.close();
    await accessLog.close();
    await closeAll(ledgers);
  }
}

/** Updates the index every `seconds` in the background (one run at a time); a problem is said once on stderr. Resolves the stop function. */
function refreshIndex(index: LedgerIndex, ledgers: readonly LedgerDestination[], seconds: number, notices: string[]): () => Promise<void> {
  if (seconds === 0) return async () => undefined;
  const said = new Set<string>();
  const say = (line: string) => {
    if (said.has(line)) return;
    said.add(line);
    process.stderr.write(`warning: ${line}\n`);
  };
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    running ??= updateIndex(index, ledgers, true, true)
      .then((problems) => {
        problems.forEach(say);
        const stale = notices.indexOf(noLedgerNotice);
        if (stale >= 0 && index.status().some((entry) => entry.objects > 0)) notices.splice(stale, 1);
      })
      .catch((error: unknown) => say(`the index could not be brought up to date (searches answer from what it holds): ${error instanceof Error ? error.message : String(error)}`))
      .finally(() => {
        running = undefined;
      });
  }, seconds * 1000);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}

function bindRefusal(error: ViewerBindError): CliError {
  return new CliError(error.message, { exitCode: exitCodes.usage, code: 'insecure_bind', hint: 'See "Security model" in docs/viewer.md.' });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function accountsOf(loaded: LoadedConfig): readonly ViewerAccount[] {
  return loaded.config.viewer?.accounts ?? [];
}

function withAccounts(loaded: LoadedConfig, accounts: readonly ViewerAccount[]) {
  const { viewer, ...rest } = loaded.config;
  return accounts.length === 0 && Object.keys(viewer ?? {}).filter((key) => key !== 'accounts').length === 0 ? rest : { ...rest, viewer: { ...viewer, accounts } };
}

/** The options of `view` that its `accounts` and `log` commands read too; the others (--host, --port, --tls-cert…) serve the viewer. */
const sharedViewOptions = new Set(['--config', '--nats', '--nats-name', '--json']);

/**
 * Shows, in `command`'s help, the options of `view` that apply to it: commander hands `--config`,
 * `--nats` and `--json` to the parent (`sentcopy view accounts ls --json`), but would list every one
 * of the server's options as well.
 */
function withViewConfigHelp(command: Command): Command {
  return command.configureHelp({
    showGlobalOptions: true,
    visibleGlobalOptions(this: Help, cmd: Command) {
      return Help.prototype.visibleGlobalOptions.call(this, cmd).filter((option) => sharedViewOptions.has(option.long ?? ''));
    },
    // `view`'s own wording is about the server's start-up line.
    optionDescription(this: Help, option: Option) {
      return option.long === '--json' ? 'print JSON, for scripts' : Help.prototype.optionDescription.call(this, option);
    },
  });
}

function registerAccountCommands(view: Command): void {
  const accounts = view.command('accounts').description("Manage who may sign in to the viewer (stored hashed with scrypt in the configuration's viewer section).");

  withViewConfigHelp(accounts.command('add').argument('<name>', 'account name shown in the access log (letters, digits, . _ @ -)').description('Add a viewer account; asks for its password (or reads it from stdin).'))
    .option('--password-stdin', 'read the password from standard input (the first line) instead of asking')
    .addHelpText(
      'after',
      `
The password (at least ${minimumPasswordLength} characters) is stored only as an scrypt hash with its salt and
parameters. Once an account exists, \`sentcopy view\` prints no start-up token (unless --token).

Examples:
  $ sentcopy view accounts add ana
  $ printf '%s\\n' "$PASSWORD" | sentcopy view accounts add auditor --password-stdin`,
    )
    .action(async (name: string, _options: unknown, command: Command) => {
      const options = command.optsWithGlobals<ClusterOptions & { passwordStdin?: boolean }>();
      if (!accountNamePattern.test(name)) throw new CliError('The account name may hold letters, digits, ".", "_", "@" and "-" (at most 64, starting with a letter or digit).', { exitCode: exitCodes.usage, code: 'invalid_account_name' });
      const loaded = await readConfig(options.config, clusterOf(options));
      if (accountsOf(loaded).some((account) => account.name === name)) {
        throw new CliError(`A viewer account named "${name}" exists already.`, { exitCode: exitCodes.usage, code: 'account_exists', hint: `Remove it first with \`sentcopy view accounts rm ${name}\` to set a new password.` });
      }
      let password: string;
      if (options.passwordStdin === true) password = (await readStdin()).split(/\r?\n/)[0] ?? '';
      else if (canPrompt()) {
        const { password: askPassword } = await import('@inquirer/prompts');
        password = await askPassword({ message: `Password for ${name}:`, mask: '*' }, { output: process.stderr });
      } else throw new CliError('No terminal to ask for the password on.', { exitCode: exitCodes.usage, code: 'password_required', hint: 'Pipe it in with --password-stdin.' });
      if (password.length < minimumPasswordLength) throw new CliError(`The password is too short: use at least ${minimumPasswordLength} characters.`, { exitCode: exitCodes.usage, code: 'weak_password' });
      const account: ViewerAccount = { name, password_hash: await hashPassword(password), created_at: new Date().toISOString() };
      const report = await saveConfig(loaded, withAccounts(loaded, [...accountsOf(loaded), account]) as typeof loaded.config);
      emit(options, { added: name, accounts: accountsOf(loaded).length + 1, file: loaded.file }, () => [`Viewer account "${name}" added to ${loaded.file}.`, ...describeSaveReport(report)].join('\n'));
      process.exitCode = saveReportExitCode(report);
    });

  withViewConfigHelp(accounts.command('ls').description('List the viewer accounts (names and when they were added; never the hashes).')).action(async (_options: unknown, command: Command) => {
    const options = command.optsWithGlobals<ClusterOptions>();
    const loaded = await readConfig(options.config, clusterOf(options));
    const list = accountsOf(loaded).map((account) => ({ name: account.name, createdAt: account.created_at }));
    emit(options, { accounts: list }, () =>
      list.length === 0
        ? 'No viewer accounts: `sentcopy view` prints a start-up token. Add one with `sentcopy view accounts add NAME`.'
        : textTable(
            ['NAME', 'ADDED'],
            list.map((account) => [account.name, account.createdAt]),
          ),
    );
  });

  withViewConfigHelp(accounts.command('rm').argument('<name>', 'the account to remove').description('Remove a viewer account (a running viewer keeps it until restarted).')).action(
    async (name: string, _options: unknown, command: Command) => {
      const options = command.optsWithGlobals<ClusterOptions>();
      const loaded = await readConfig(options.config, clusterOf(options));
      const remaining = accountsOf(loaded).filter((account) => account.name !== name);
      if (remaining.length === accountsOf(loaded).length) throw new CliError(`No viewer account named "${name}".`, { exitCode: exitCodes.notFound, code: 'account_not_found', hint: 'List them with `sentcopy view accounts ls`.' });
      const report = await saveConfig(loaded, withAccounts(loaded, remaining) as typeof loaded.config);
      emit(options, { removed: name, accounts: remaining.length, file: loaded.file }, () => [`Viewer account "${name}" removed from ${loaded.file}; restart a running viewer to sign it out.`, ...describeSaveReport(report)].join('\n'));
      process.exitCode = saveReportExitCode(report);
    },
  );
}

function registerLogCommand(view: Command): void {
  withViewConfigHelp(view.command('log'))
    .description("Print the viewer's access log (.sentcopy/viewer-access.log beside the configuration), newest first: who signed in, searched, viewed, downloaded or exported what, and when.")
    .option('--who <name>', 'only this account (token: the start-up token; unknown: refused sign-ins with an unknown name)')
    .addOption(new Option('--action <action>', 'only this action').choices(['sign-in', 'sign-in-refused', 'search', 'view', 'view-images', 'download', 'export', 'access-log']))
    .option('-n, --limit <number>', 'lines to print', wholeNumber(1, 1_000_000), 50)
    .addHelpText(
      'after',
      `
Examples:
  $ sentcopy view log
  $ sentcopy view log --action sign-in-refused
  $ sentcopy view log --who ana --json | jq '.lines[].what'`,
    )
    .action(async (_options: unknown, command: Command) => {
      const options = command.optsWithGlobals<ClusterOptions & { who?: string; action?: string; limit: number }>();
      const loaded = await readConfig(options.config, clusterOf(options));
      const log = openAccessLog(accessLogFile(loaded.baseDir));
      const page = await log.read({ ...(options.who === undefined ? {} : { who: options.who }), ...(options.action === undefined ? {} : { action: options.action }), limit: options.limit });
      await log.close();
      emit(options, { file: log.file, total: page.total, unreadable: page.unreadable, lines: page.lines }, () => {
        if (page.lines.length === 0) return `No access recorded${options.who === undefined && options.action === undefined ? '' : ' that matches'} (${log.file}).`;
        const table = textTable(
          ['WHEN (UTC)', 'WHO', 'ACTION', 'WHAT'],
          page.lines.map((line) => [
            line.at,
            line.who,
            line.action,
            Object.entries(line.what)
              .map(([name, value]) => `${name}=${String(value)}`)
              .join(' '),
          ]),
        );
        return `${table}\n\n${page.lines.length} of ${page.total} line(s)${page.unreadable > 0 ? `; ${page.unreadable} unreadable line(s) skipped` : ''}.`;
      });
    });
}
