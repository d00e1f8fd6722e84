import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';
import { AnonymousCredential, BlobServiceClient, StorageSharedKeyCredential, type ContainerClient, type StoragePipelineOptions } from '@azure/storage-blob';
import { DestinationError } from '@sentcopy/core';
import type { AzureDestinationSettings } from './azure-destination-settings.js';
import type { AzureLeanAuth } from './azure-lean-writer.js';

const invalid = (message: string): DestinationError => new DestinationError({ kind: 'invalid', provider: 'azure', message });

/** The SDK pipeline options the destination uses: few SDK retries (sentcopy retries by error kind), a recognizable user agent. */
export function pipelineOptions(settings: Pick<AzureDestinationSettings, 'sdkMaxTries'>): StoragePipelineOptions {
  return {
    retryOptions: { maxTries: settings.sdkMaxTries ?? 1, retryDelayInMs: 200, maxRetryDelayInMs: 2_000 },
    userAgentOptions: { userAgentPrefix: 'sentcopy' },
  };
}

/** The storage account name in a blob service URL: the first label of `<account>.blob.core.windows.net`, or the first path segment of a path-style URL (Azurite, IP addresses). */
export function accountNameOf(accountUrl: URL): string | undefined {
  const host = accountUrl.hostname;
  const pathStyle = host === 'localhost' || /^[\d.]+$/.test(host) || host.includes(':') || host.startsWith('[');
  const name = pathStyle ? accountUrl.pathname.split('/').find((segment) => segment !== '') : host.split('.')[0];
  return name === undefined || name === '' ? undefined : name;
}

/** `DefaultAzureCredential`, created on the first token request so `@azure/identity` is only loaded when it is used. */
class LazyDefaultAzureCredential implements TokenCredential {
  private credential: Promise<TokenCredential> | undefined;

  async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
    this.credential ??= loadDefaultAzureCredential();
    return (await this.credential).getToken(scopes, options);
  }
}

async function loadDefaultAzureCredential(): Promise<TokenCredential> {
  let identity: { DefaultAzureCredential: new () => TokenCredential };
  try {
    // A variable specifier keeps bundlers and TypeScript from requiring the optional peer dependency.
    const specifier = '@azure/identity';
    identity = (await import(specifier)) as typeof identity;
  } catch {
    throw invalid('credential.defaultAzureCredential needs the optional peer dependency @azure/identity: install it next to @sentcopy/destination-azure (npm install @azure/identity).');
  }
  return new identity.DefaultAzureCredential();
}

function parseAccountUrl(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid('accountUrl is not a URL; expected e.g. https://myaccount.blob.core.windows.net.');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw invalid(`accountUrl must be an http(s) URL; it uses ${url.protocol}`);
  // A query string would carry a SAS token; it belongs in credential.sasToken, where it is kept out of ids and messages.
  if (url.search !== '' || url.username !== '' || url.password !== '') throw invalid('accountUrl must not carry a query string or user info; give a SAS token as credential.sasToken.');
  return url;
}

/**
 * Builds the container client the destination uses when none is injected, from a connection
 * string or an account URL with a credential (account key, SAS token, token credential, or
 * `DefaultAzureCredential` loaded lazily). Returns the client, a credential-free URL for ids, and
 * the same credential for the lean write path.
 */
export function createContainerClient(settings: AzureDestinationSettings): { client: ContainerClient; accountUrl: string; auth: AzureLeanAuth | undefined } {
  const options = pipelineOptions(settings);
  if (settings.connectionString !== undefined) {
    if (settings.accountUrl !== undefined || settings.credential !== undefined) throw invalid('Give either connectionString, or accountUrl with credential; not both.');
    if (typeof settings.connectionString !== 'string' || settings.connectionString.trim() === '') throw invalid('connectionString is empty.');
    let service: BlobServiceClient;
    try {
      service = BlobServiceClient.fromConnectionString(settings.connectionString, options);
    } catch {
      // The SDK's message may quote the string; ours names the parts instead.
      throw invalid('connectionString could not be parsed: it needs AccountName and AccountKey (or SharedAccessSignature) and BlobEndpoint or DefaultEndpointsProtocol, separated by ";".');
    }
    const client = service.getContainerClient(settings.container);
    const credential = service.credential;
    const auth = credential instanceof StorageSharedKeyCredential ? sharedKeyAuth(credential) : credential instanceof AnonymousCredential ? ({ kind: 'sas' } as const) : undefined;
    return { client, accountUrl: stripQuery(service.url), auth };
  }
  if (settings.accountUrl === undefined) throw invalid('The Azure destination needs connectionString, or accountUrl with credential.');
  const url = parseAccountUrl(settings.accountUrl);
  const base = url.href.replace(/\/+$/, '');
  const credential = settings.credential;
  if (credential === undefined || typeof credential !== 'object') throw invalid('accountUrl needs a credential: { accountKey }, { sasToken }, { tokenCredential } or { defaultAzureCredential: true }.');
  const kinds = ['accountKey', 'sasToken', 'tokenCredential', 'defaultAzureCredential'].filter((name) => (credential as unknown as Record<string, unknown>)[name] !== undefined);
  if (kinds.length !== 1) throw invalid(`credential must hold exactly one of accountKey, sasToken, tokenCredential, defaultAzureCredential; it holds ${kinds.length === 0 ? 'none' : kinds.join(' and ')}.`);

  let service: BlobServiceClient;
  let auth: AzureLeanAuth | undefined;
  if ('accountKey' in credential) {
    if (typeof credential.accountKey !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(credential.accountKey)) throw invalid('credential.accountKey must be the base64 account key.');
    const accountName = credential.accountName ?? accountNameOf(url);
    if (accountName === undefined) throw invalid('credential.accountName is needed: the account name cannot be read from accountUrl.');
    const sharedKey = new StorageSharedKeyCredential(accountName, credential.accountKey);
    service = new BlobServiceClient(base, sharedKey, options);
    auth = sharedKeyAuth(sharedKey);
  } else if ('sasToken' in credential) {
    if (typeof credential.sasToken !== 'string' || !/\bsig=/.test(credential.sasToken)) throw invalid('credential.sasToken must be a SAS token (a query string with sv=…&sig=…).');
    const sas = credential.sasToken.replace(/^\?/, '');
    service = new BlobServiceClient(`${base}?${sas}`, new AnonymousCredential(), options);
    auth = { kind: 'sas' };
  } else if (url.protocol !== 'https:') {
    // The SDK refuses bearer tokens over plain HTTP at the first request; say so now, naming the setting.
    throw invalid('Token credentials need an https accountUrl: the SDK never sends a bearer token over plain HTTP.');
  } else if ('tokenCredential' in credential) {
    if (typeof credential.tokenCredential?.getToken !== 'function') throw invalid('credential.tokenCredential must implement getToken() (a TokenCredential from @azure/identity).');
    service = new BlobServiceClient(base, credential.tokenCredential, options);
    auth = { kind: 'token', credential: credential.tokenCredential };
  } else {
    if (credential.defaultAzureCredential !== true) throw invalid('credential.defaultAzureCredential must be true.');
    const lazy = new LazyDefaultAzureCredential();
    service = new BlobServiceClient(base, lazy, options);
    auth = { kind: 'token', credential: lazy };
  }
  return { client: service.getContainerClient(settings.container), accountUrl: base, auth };
}

/**
 * The account name and decoded key a `StorageSharedKeyCredential` holds, for the SDK's
 * `storageSharedKeyCredentialPolicy`: the SDK's own pipeline builder (`getCoreClientOptions`) reads
 * the same (TypeScript-private) fields to install that policy. `undefined` if a later SDK changes
 * them: writes then go through the SDK client.
 */
function sharedKeyAuth(credential: StorageSharedKeyCredential): AzureLeanAuth | undefined {
  const accountKey = (credential as unknown as { accountKey?: unknown }).accountKey;
  return Buffer.isBuffer(accountKey) ? { kind: 'shared-key', accountName: credential.accountName, accountKey } : undefined;
}

function stripQuery(value: string): string {
  const url = new URL(value);
  url.search = '';
  return url.href.replace(/\/+$/, '');
}
