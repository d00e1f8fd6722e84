import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stopChild, waitForOutput } from './child-server.js';

/** Options for {@link startNatsServer}. */
export interface NatsServerOptions {
  /** Run JetStream; `false` starts a server without it (to test the error). @default true */
  readonly jetstream?: boolean;
  /** Largest message the server accepts, in bytes. @default 8388608 (8 MiB) */
  readonly maxPayloadBytes?: number;
  /** The `nats-server` executable. @default `nats-server` on the PATH (Debian package `nats-server`) */
  readonly command?: string;
  /** Longest wait for the server to listen, in milliseconds. @default 15000 */
  readonly startTimeoutMs?: number;
  /**
   * Users the server requires (with their permissions); without any, it lets anyone in with every
   * right. Connect with {@link NatsTestServer.urlFor}. @default none
   */
  readonly users?: readonly NatsTestUser[];
}

/** A user of the test server, with what it may publish and subscribe to. */
export interface NatsTestUser {
  /** User name. */
  readonly user: string;
  /** Password. */
  readonly password: string;
  /** Subjects it may publish to; every subject when omitted. */
  readonly publish?: readonly string[];
  /** Subjects it may subscribe to; every subject when omitted. */
  readonly subscribe?: readonly string[];
}

/** A running `nats-server -js`. */
export interface NatsTestServer {
  /** `nats://127.0.0.1:<port>`. */
  readonly url: string;
  /** The port it listens on. */
  readonly port: number;
  /** `nats://user:password@127.0.0.1:<port>` for one of the configured users. */
  urlFor(user: string): string;
  /** Kills the server with SIGKILL, keeping its store (a crash). */
  kill(): Promise<void>;
  /** Starts it again on the same port and store, after `kill()`. */
  restart(): Promise<void>;
  /** Stops the server and removes its JetStream store. */
  stop(): Promise<void>;
}

function userBlock(user: NatsTestUser): object {
  const permissions: Record<string, unknown> = {};
  if (user.publish !== undefined) permissions.publish = { allow: user.publish };
  if (user.subscribe !== undefined) permissions.subscribe = { allow: user.subscribe };
  // Replies to requests (the JetStream API answers) are allowed without listing inboxes.
  if (Object.keys(permissions).length > 0) permissions.allow_responses = true;
  return { user: user.user, password: user.password, ...(Object.keys(permissions).length === 0 ? {} : { permissions }) };
}

/**
 * Starts a real `nats-server` with JetStream on 127.0.0.1 (random port), its store in a fresh temp
 * folder. `.ci/run` installs the Debian package when it is missing.
 */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsTestServer> {
  const workspace = await mkdtemp(join(tmpdir(), 'sentcopy-nats-'));
  const config = join(workspace, 'nats.conf');
  const timeoutMs = options.startTimeoutMs ?? 15_000;
  const launch = async (listen: string): Promise<{ child: ChildProcess; port: number }> => {
    await writeFile(
      config,
      [
        `listen: ${listen}`,
        `max_payload: ${options.maxPayloadBytes ?? 8 * 1024 * 1024}`,
        options.jetstream === false ? '' : `jetstream { store_dir: ${JSON.stringify(join(workspace, 'store'))} }`,
        options.users === undefined || options.users.length === 0 ? '' : `authorization { users: ${JSON.stringify(options.users.map(userBlock))} }`,
        '',
      ].join('\n'),
    );
    const child: ChildProcess = spawn(options.command ?? 'nats-server', ['-c', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    // JetStream is ready once the server says it is ready for connections.
    const match = await waitForOutput(child, /Listening for client connections on [^\s]+:(\d+)[\s\S]*Server is ready/, {
      name: 'nats-server',
      timeoutMs,
      notInstalled: 'nats-server is not installed: `apt-get install nats-server` (the test setup does this in CI).',
    });
    return { child, port: Number(match[1]) };
  };
  const first = await launch('127.0.0.1:-1');
  const port = first.port;
  let child = first.child;
  let stopping: Promise<void> | undefined;
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    urlFor(name) {
      const user = options.users?.find((candidate) => candidate.user === name);
      if (user === undefined) throw new Error(`No user ${name} on this test server.`);
      return `nats://${encodeURIComponent(user.user)}:${encodeURIComponent(user.password)}@127.0.0.1:${port}`;
    },
    kill: () => stopChild(child, 'SIGKILL'),
    async restart() {
      await stopChild(child, 'SIGKILL');
      ({ child } = await launch(`127.0.0.1:${port}`));
    },
    stop() {
      stopping ??= (async () => {
        await stopChild(child);
        await rm(workspace, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}
