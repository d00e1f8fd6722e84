import { unwatchFile, watchFile, type Stats } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { ConfigError } from '../config/config-error.js';
import type { HttpTlsConfig } from '../config/worker-config.js';
import type { IntakeTls } from './intake-options.js';

/** The TLS files of a configuration, resolved to absolute paths. */
export interface TlsFiles {
  /** Absolute path of the certificate (chain) PEM file. */
  readonly certFile: string;
  /** Absolute path of the private key PEM file. */
  readonly keyFile: string;
}

/** Resolves `http.tls` against the configuration file's folder. */
export function tlsFilesOf(tls: HttpTlsConfig, baseDir: string): TlsFiles {
  return { certFile: path.resolve(baseDir, tls.cert_file), keyFile: path.resolve(baseDir, tls.key_file) };
}

/** OpenSSL's reason without its numeric prefix, e.g. `key values mismatch`; never file content. */
function reasonOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const reason = /routines::(.+)$/.exec(message)?.[1] ?? message;
  return reason.replace(/\s+/g, ' ').slice(0, 200);
}

/**
 * Reads the certificate and key and checks that they load together (valid PEM, the key matches the
 * certificate). Throws a {@link ConfigError} naming `http.tls.cert_file` or `http.tls.key_file`.
 */
export async function loadTlsFiles(files: TlsFiles, source: string): Promise<IntakeTls> {
  const read = async (file: string, field: string): Promise<Buffer> => {
    try {
      return await readFile(file);
    } catch (error) {
      throw new ConfigError(source, [{ path: `http.tls.${field}`, problem: `cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'unknown error'})` }]);
    }
  };
  const cert = await read(files.certFile, 'cert_file');
  const key = await read(files.keyFile, 'key_file');
  if (!cert.includes('-----BEGIN CERTIFICATE-----')) throw new ConfigError(source, [{ path: 'http.tls.cert_file', problem: `${files.certFile} holds no PEM certificate (-----BEGIN CERTIFICATE-----)` }]);
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key.toString('latin1'))) throw new ConfigError(source, [{ path: 'http.tls.key_file', problem: `${files.keyFile} holds no PEM private key (-----BEGIN … PRIVATE KEY-----)` }]);
  try {
    createSecureContext({ cert, key });
  } catch (error) {
    const reason = reasonOf(error);
    const field = /key|decrypt|bad password/i.test(reason) && !/certificate/i.test(reason) ? 'key_file' : 'cert_file';
    throw new ConfigError(source, [{ path: `http.tls.${field}`, problem: `the certificate ${files.certFile} and key ${files.keyFile} do not load together: ${reason}` }]);
  }
  return { cert, key };
}

/** When the first certificate of a PEM chain expires, in epoch milliseconds. */
export function certificateNotAfter(cert: string | Buffer): number {
  return Date.parse(new X509Certificate(cert).validTo);
}

/** Options for {@link watchTlsFiles}. */
export interface WatchTlsFilesOptions {
  /** The files to watch. */
  readonly files: TlsFiles;
  /** Called after either file changed (debounced); it reloads the pair. */
  readonly onChange: () => void;
  /** How often the files' status is checked, in milliseconds. @default 1000 */
  readonly intervalMs?: number;
  /** Quiet time after a change before `onChange`, so a certificate and key replaced one after the other load as a pair, in milliseconds. @default 300 */
  readonly settleMs?: number;
}

/**
 * Watches the certificate and key by polling their status: unlike `fs.watch`, polling survives the
 * file being replaced by a rename (how certbot, cert-manager and Kubernetes secret mounts update
 * them). Returns a function that stops watching.
 */
export function watchTlsFiles(options: WatchTlsFilesOptions): () => void {
  const interval = options.intervalMs ?? 1_000;
  let timer: NodeJS.Timeout | undefined;
  const changed = (current: Stats, previous: Stats) => {
    if (current.mtimeMs === previous.mtimeMs && current.ino === previous.ino && current.size === previous.size) return;
    clearTimeout(timer);
    timer = setTimeout(options.onChange, options.settleMs ?? 300);
    timer.unref();
  };
  const files = [options.files.certFile, options.files.keyFile];
  for (const file of files) watchFile(file, { interval, persistent: false }, changed);
  return () => {
    clearTimeout(timer);
    for (const file of files) unwatchFile(file, changed);
  };
}
