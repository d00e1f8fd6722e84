import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { ProjectDirectory, ProjectRoute } from '../projects/index.js';
import { HttpProblemError } from './intake-answer.js';

/** The SHA-256 of a token, the form tokens are compared in. */
export const tokenDigest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/** Whether a request carries `Authorization: Bearer <token>`, compared in constant time. */
export function hasBearerToken(request: IncomingMessage, token: Buffer): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
  return match?.[1] !== undefined && timingSafeEqual(tokenDigest(match[1]), token);
}

/** The project whose API key the request carries; a 401 otherwise. */
export function authenticate(directory: ProjectDirectory, request: IncomingMessage): ProjectRoute {
  const header = request.headers.authorization;
  const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
  const route = match?.[1] === undefined ? undefined : directory.authenticate(match[1]);
  if (route === undefined) {
    // One answer for a missing and an unknown key, and never the key itself.
    throw new HttpProblemError(401, 'unauthorized', 'Send a valid API key as "Authorization: Bearer <key>".', {}, { 'www-authenticate': 'Bearer realm="sentcopy"' });
  }
  return route;
}
