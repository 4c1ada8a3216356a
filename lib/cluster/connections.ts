/**
 * EtcdAdmin connections per cluster, kept between passes: a TLS handshake per member per pass would
 * cost more than the pass. A connection is replaced when the members' addresses or the client
 * certificate change, and closed when the cluster goes.
 */
import { createHash } from 'node:crypto';
import { createEtcdAdmin, type EtcdAdmin, type EtcdEndpoint, type EtcdTlsOptions } from '../etcd/index.js';
import type { EtcdConnector } from './observe.js';

export class EtcdConnections implements EtcdConnector {
  private readonly open = new Map<string, { fingerprint: string; admin: EtcdAdmin }>();

  constructor(private readonly timeoutMs = 3_000) {}

  admin(cluster: string, endpoints: EtcdEndpoint[], tls?: EtcdTlsOptions): EtcdAdmin {
    const fingerprint = createHash('sha256')
      .update(JSON.stringify([endpoints, tls?.caCert, tls?.cert]))
      .digest('hex');
    const existing = this.open.get(cluster);
    if (existing?.fingerprint === fingerprint) return existing.admin;
    existing?.admin.close();
    const admin = createEtcdAdmin({ endpoints, timeoutMs: this.timeoutMs, ...(tls ? { tls } : {}) });
    this.open.set(cluster, { fingerprint, admin });
    return admin;
  }

  /** Closes the connection of a cluster that is gone. */
  forget(cluster: string): void {
    this.open.get(cluster)?.admin.close();
    this.open.delete(cluster);
  }

  closeAll(): void {
    for (const cluster of [...this.open.keys()]) this.forget(cluster);
  }
}
