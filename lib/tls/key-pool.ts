/**
 * RSA keys made ahead of need. A new cluster needs four keys (its CA, peer, server and client) and
 * an RSA-2048 key takes ~0.1–0.3 s of CPU to find its primes; kept ready, they cost a new cluster
 * nothing, and the pool refills in the background (libuv's thread pool) once some are taken.
 */
import type { KeyObject } from 'node:crypto';
import { generatePrivateKeys } from './pki.js';

export class KeyPool {
  private ready: KeyObject[] = [];
  private filling: Promise<void> | undefined;

  /** `size`: the keys kept ready; `generate`: how they are made (at once, off the event loop). */
  constructor(
    private readonly size: number,
    private readonly generate: (count: number) => Promise<KeyObject[]> = generatePrivateKeys,
  ) {}

  /** Makes keys until `size` are ready, unless that is under way. Failures only leave it short. */
  fill(): void {
    const missing = this.size - this.ready.length;
    if (this.filling || missing <= 0) return;
    this.filling = this.generate(missing)
      .then((keys) => void this.ready.push(...keys))
      .catch(() => undefined)
      .finally(() => (this.filling = undefined));
  }

  /** `count` keys never handed out before: ready ones first, the rest made now; then refills. */
  async take(count: number): Promise<KeyObject[]> {
    // Keys being made now are nearer than new ones, which would compete with them for the cores.
    if (this.ready.length < count && this.filling) await this.filling;
    const taken = this.ready.splice(0, count);
    const fresh = taken.length < count ? await this.generate(count - taken.length) : [];
    this.fill();
    return [...taken, ...fresh];
  }
}
