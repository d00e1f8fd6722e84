import { createHash, randomBytes } from 'node:crypto';
import { requestId, sendCanned } from './canned-response.js';
import { listen, readBody } from './http-server.js';
import { authenticate, type TestCredentials } from './sigv4.js';
import { element, escapeXml } from './xml.js';

/** One AssumeRole call the fake STS answered. */
export interface AssumeRoleCall {
  readonly roleArn: string;
  readonly roleSessionName: string;
  readonly externalId?: string;
  readonly durationSeconds?: number;
  /** Access key id the call was signed with. */
  readonly callerAccessKeyId?: string;
  /** When the call arrived. */
  readonly at: Date;
  /** The credentials issued, unless the call was refused. */
  readonly issued?: TestCredentials;
}

/** Options for {@link startFakeSts}. */
export interface FakeStsOptions {
  /** Lifetime of issued credentials, in milliseconds, or a function of the call number (1, 2, …). @default 3600000 */
  readonly expiresInMs?: number | ((call: number) => number);
  /** Called with each issued credential set, e.g. `s3.allowCredentials`. */
  readonly onIssue?: (credentials: TestCredentials) => void;
  /** Caller credentials whose signatures are verified. @default any caller is accepted */
  readonly callerCredentials?: readonly TestCredentials[];
  /** Refuses matching calls with 403 AccessDenied, as STS does when the trust policy or external id does not match. */
  readonly refuse?: (call: AssumeRoleCall) => boolean;
}

/** A running fake STS. */
export interface FakeSts {
  /** `http://127.0.0.1:<port>`: the STS endpoint. */
  readonly url: string;
  /** Every AssumeRole call, in order. */
  readonly calls: AssumeRoleCall[];
  stop(): Promise<void>;
}

function stsError(code: string, message: string, status: number) {
  return {
    status,
    headers: { 'content-type': 'text/xml' },
    body: `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>${element('Code', code)}${element('Message', message)}</Error>` + `${element('RequestId', requestId())}</ErrorResponse>`,
  };
}

/**
 * Starts a fake AWS STS on 127.0.0.1 (random port) that answers AssumeRole (the query protocol
 * the SDKs use: a form-encoded POST, an XML answer) with fresh credentials and a short Expiration.
 */
export async function startFakeSts(options: FakeStsOptions = {}): Promise<FakeSts> {
  const calls: AssumeRoleCall[] = [];
  const callers = options.callerCredentials === undefined ? undefined : new Map(options.callerCredentials.map((entry) => [entry.accessKeyId, entry]));
  const server = await listen(async (request, response) => {
    const body = await readBody(request);
    const form = new URLSearchParams(body.toString('utf8'));
    let callerAccessKeyId: string | undefined;
    if (callers !== undefined) {
      const result = authenticate(request, (id) => callers.get(id), createHash('sha256').update(body).digest('hex'));
      if (result.failure !== undefined) return sendCanned(response, stsError(result.failure, 'The security token included in the request is invalid.', 403));
      callerAccessKeyId = result.accessKeyId;
    } else {
      callerAccessKeyId = /Credential=([^/]+)\//.exec(request.headers.authorization ?? '')?.[1];
    }
    if (form.get('Action') !== 'AssumeRole') return sendCanned(response, stsError('InvalidAction', `Could not find operation ${form.get('Action') ?? ''}`, 400));
    const roleArn = form.get('RoleArn');
    const roleSessionName = form.get('RoleSessionName');
    if (!roleArn || !roleSessionName) return sendCanned(response, stsError('ValidationError', 'RoleArn and RoleSessionName are required', 400));
    const durationText = form.get('DurationSeconds');
    const call: AssumeRoleCall = {
      roleArn,
      roleSessionName,
      externalId: form.get('ExternalId') ?? undefined,
      durationSeconds: durationText === null ? undefined : Number(durationText),
      callerAccessKeyId,
      at: new Date(),
    };
    if (options.refuse?.(call)) {
      calls.push(call);
      return sendCanned(response, stsError('AccessDenied', `User is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`, 403));
    }
    const number = calls.length + 1;
    const lifetime = typeof options.expiresInMs === 'function' ? options.expiresInMs(number) : (options.expiresInMs ?? 3_600_000);
    const issued: TestCredentials = {
      accessKeyId: `ASIAFAKE${String(number).padStart(4, '0')}${randomBytes(4).toString('hex').toUpperCase()}`,
      secretAccessKey: randomBytes(30).toString('base64'),
      sessionToken: randomBytes(96).toString('base64'),
      expiration: new Date(Date.now() + lifetime),
    };
    calls.push({ ...call, issued });
    options.onIssue?.(issued);
    const account = '111122223333';
    const roleName = roleArn.split('/').at(-1) ?? 'role';
    sendCanned(response, {
      status: 200,
      headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId() },
      body:
        '<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>' +
        `<AssumedRoleUser>${element('AssumedRoleId', `AROAFAKE:${roleSessionName}`)}${element('Arn', `arn:aws:sts::${account}:assumed-role/${roleName}/${roleSessionName}`)}</AssumedRoleUser>` +
        `<Credentials>${element('AccessKeyId', issued.accessKeyId)}${element('SecretAccessKey', issued.secretAccessKey)}` +
        `${element('SessionToken', issued.sessionToken ?? '')}<Expiration>${escapeXml((issued.expiration as Date).toISOString())}</Expiration></Credentials>` +
        `</AssumeRoleResult><ResponseMetadata>${element('RequestId', requestId())}</ResponseMetadata></AssumeRoleResponse>`,
    });
  });
  return { url: server.url, calls, stop: () => server.close() };
}
