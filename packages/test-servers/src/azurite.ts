import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Azurite's well-known development account (public, documented by Microsoft; never a real secret). */
const devAccountName = 'devstoreaccount1';
const devAccountKey = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

/** Options for {@link startAzurite}. */
export interface AzuriteOptions {
  /** Serve HTTPS with this PEM certificate and key (both file paths); needed for `oauth`. @default plain HTTP */
  readonly https?: { readonly certPath: string; readonly keyPath: string };
  /** Accept OAuth bearer tokens (Azurite checks issuer, audience and lifetime, not the signature). Needs `https`. */
  readonly oauth?: 'basic';
  /** Longest wait for Azurite to listen, in milliseconds. @default 30000 */
  readonly startTimeoutMs?: number;
}

/** A running Azurite blob service. */
export interface AzuriteServer {
  /** Connection string for the development account (`DefaultEndpointsProtocol=…;BlobEndpoint=…`). */
  readonly connectionString: string;
  /** `http://127.0.0.1:<port>/devstoreaccount1` (path-style account URL). */
  readonly blobEndpoint: string;
  /** `devstoreaccount1`. */
  readonly accountName: string;
  /** The development account's key (base64). */
  readonly accountKey: string;
  /** The port Azurite listens on. */
  readonly port: number;
  /** Stops Azurite and removes its workspace. */
  stop(): Promise<void>;
}

// AZURITE_DB would switch Azurite to a SQL database; the tests want its in-memory store.
function withoutSqlDatabase(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const copy = { ...env };
  delete copy.AZURITE_DB;
  return copy;
}

function azuriteBlobEntry(): string {
  const require = createRequire(import.meta.url);
  return join(require.resolve('azurite/package.json'), '..', 'dist', 'src', 'blob', 'main.js');
}

/**
 * Starts Azurite's blob service (npm `azurite`, run with this Node) on 127.0.0.1 with a random
 * port, in-memory persistence and its working directory in a fresh temp folder. API version
 * checks are off, since Azurite lags the SDK's API version.
 */
export async function startAzurite(options: AzuriteOptions = {}): Promise<AzuriteServer> {
  const workspace = await mkdtemp(join(tmpdir(), 'sentcopy-azurite-'));
  const args = [
    azuriteBlobEntry(),
    '--blobHost',
    '127.0.0.1',
    '--blobPort',
    '0',
    '--inMemoryPersistence',
    '--extentMemoryLimit',
    '512',
    '--silent',
    '--disableTelemetry',
    '--skipApiVersionCheck',
  ];
  if (options.https) args.push('--cert', options.https.certPath, '--key', options.https.keyPath);
  if (options.oauth) args.push('--oauth', options.oauth);
  const child: ChildProcess = spawn(process.execPath, args, { cwd: workspace, stdio: ['ignore', 'pipe', 'pipe'], env: withoutSqlDatabase(process.env) });
  let output = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`Azurite did not start within ${options.startTimeoutMs ?? 30_000} ms. Output: ${output}`)), options.startTimeoutMs ?? 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = /successfully listens on https?:\/\/[^:]+:(\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(error);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('error', fail);
    child.once('exit', (code) => fail(new Error(`Azurite exited with code ${code} before listening. Output: ${output}`)));
  });
  // Keep draining its output so a full pipe never blocks it.
  child.stdout?.resume();
  child.stderr?.resume();
  const scheme = options.https ? 'https' : 'http';
  const blobEndpoint = `${scheme}://127.0.0.1:${port}/${devAccountName}`;
  let stopping: Promise<void> | undefined;
  return {
    connectionString: `DefaultEndpointsProtocol=${scheme};AccountName=${devAccountName};AccountKey=${devAccountKey};BlobEndpoint=${blobEndpoint};`,
    blobEndpoint,
    accountName: devAccountName,
    accountKey: devAccountKey,
    port,
    stop() {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
          await exited;
          clearTimeout(timer);
        }
        await rm(workspace, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}
