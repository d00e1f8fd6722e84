import type { ConnectionOptions } from '@nats-io/transport-node';

/**
 * Connection options for NATS URLs that may carry credentials (`nats://user:password@host:4222`
 * or `nats://token@host:4222`). The client library ignores credentials in a URL, so they are taken
 * out here and passed as `user`/`pass` or `token`; the URLs handed on carry none.
 */
export function natsConnectOptions(servers: string | readonly string[]): Pick<ConnectionOptions, 'servers' | 'user' | 'pass' | 'token'> {
  const list = typeof servers === 'string' ? servers.split(',') : [...servers];
  let credentials: Pick<ConnectionOptions, 'user' | 'pass' | 'token'> = {};
  const plain = list.map((server) => {
    const text = server.trim();
    const withScheme = /^[a-z]+:\/\//i.test(text) ? text : `nats://${text}`;
    let url: URL;
    try {
      url = new URL(withScheme);
    } catch {
      return text;
    }
    if (url.username !== '' && Object.keys(credentials).length === 0) {
      const user = decodeURIComponent(url.username);
      credentials = url.password === '' ? { token: user } : { user, pass: decodeURIComponent(url.password) };
    }
    return `${url.protocol}//${url.host}`;
  });
  return { servers: plain, ...credentials };
}
