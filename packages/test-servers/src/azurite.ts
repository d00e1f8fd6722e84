import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stopChild, waitForOutput } from './child-server.js';

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
  const args = [azuriteBlobEntry(), '--blobHost', '127.0.0.1', '--blobPort', '0', '--inMemoryPersistence', '--extentMemoryLimit', '512', '--silent', '--disableTelemetry', '--skipApiVersionCheck'];
  if (options.https) args.push('--cert', options.https.certPath, '--key', options.https.keyPath);
  if (options.oauth) args.push('--oauth', options.oauth);
  const child: ChildProcess = spawn(process.execPath, args, { cwd: workspace, stdio: ['ignore', 'pipe', 'pipe'], env: withoutSqlDatabase(process.env) });
  const match = await waitForOutput(child, /successfully listens on https?:\/\/[^:]+:(\d+)/, { name: 'Azurite', timeoutMs: options.startTimeoutMs ?? 30_000 });
  const port = Number(match[1]);
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
        await stopChild(child);
        await rm(workspace, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}
