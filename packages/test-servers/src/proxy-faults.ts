import type { CannedResponse } from './canned-response.js';
import { faults, type FaultProxy, type ProxiedRequest } from './fault-proxy.js';

/** The faults the conformance suite's `errorKinds` group asks for (mirrors `ConformanceFault` of `@sentcopy/destination-test-suite`). */
export type ProxyFaultName = 'rate_limited' | 'unauthorized' | 'unreachable' | 'invalid' | 'unknown' | 'stall';

/** What {@link proxyConformanceFaults} needs. */
export interface ProxyConformanceFaultsOptions<D> {
  /** The proxy in front of the store. */
  readonly proxy: FaultProxy;
  /** Creates a destination whose requests go through `proxy`. */
  createDestination(): D | Promise<D>;
  /** The store's answer for each kind it can cause; `unreachable` resets the connection when not given. */
  readonly responses: Partial<Record<Exclude<ProxyFaultName, 'stall' | 'unreachable'>, CannedResponse>> & { readonly unreachable?: CannedResponse };
  /** Which requests are uploads (for `stall`). @default PUT and POST */
  readonly isUpload?: (request: ProxiedRequest) => boolean;
}

const defaultIsUpload = (request: ProxiedRequest) => request.method === 'PUT' || request.method === 'POST';

/**
 * Fault hooks for the conformance suite (`faults` option) built on a fault proxy: each kind is a
 * canned answer (or a reset), and `stall` holds uploads for a minute without reading their body,
 * so an abort lands while the body is still being sent.
 */
export function proxyConformanceFaults<D>(options: ProxyConformanceFaultsOptions<D>) {
  const { proxy } = options;
  const isUpload = options.isUpload ?? defaultIsUpload;
  return {
    createDestination: options.createDestination,
    inject(kind: ProxyFaultName) {
      if (kind === 'stall') {
        const before = proxy.count(isUpload);
        const rule = proxy.inject(faults.delay(60_000), { match: isUpload, times: 1 });
        return {
          restore: () => rule.remove(),
          async requestArrived() {
            while (proxy.count(isUpload) <= before) await new Promise((resolve) => setTimeout(resolve, 5));
          },
        };
      }
      const response = options.responses[kind];
      if (response === undefined && kind !== 'unreachable') return undefined;
      const rule = proxy.inject(response === undefined ? faults.reset() : faults.respond(response));
      return { restore: () => rule.remove() };
    },
  };
}
