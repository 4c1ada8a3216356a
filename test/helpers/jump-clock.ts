/**
 * A clock that runs in real time and can jump forward: the operator keeps working at its normal pace
 * while a test skips the hours between schedule times. A jump fires every timer it passes.
 */
import type { Clock } from '../../lib/kube/index.js';

interface Timer {
  at: number;
  fn: () => void;
  real: NodeJS.Timeout;
}

export class JumpClock implements Clock {
  private offset = 0;
  private nextId = 1;
  private readonly timers = new Map<number, Timer>();

  constructor(start?: number) {
    if (start !== undefined) this.offset = start - Date.now();
  }

  now(): number {
    return Date.now() + this.offset;
  }

  setTimeout(fn: () => void, ms: number): number {
    const id = this.nextId++;
    const at = this.now() + Math.max(0, ms);
    this.timers.set(id, { at, fn, real: this.arm(id, at) });
    return id;
  }

  clearTimeout(handle: unknown): void {
    const timer = this.timers.get(handle as number);
    if (timer) clearTimeout(timer.real);
    this.timers.delete(handle as number);
  }

  /** Moves time forward by `ms`; timers that come due run now, the others are re-armed. */
  jump(ms: number): void {
    this.offset += ms;
    for (const [id, timer] of this.timers) {
      clearTimeout(timer.real);
      timer.real = this.arm(id, timer.at);
    }
  }

  /** Jumps to `time` (milliseconds since the epoch) if it is ahead. */
  jumpTo(time: number): void {
    if (time > this.now()) this.jump(time - this.now());
  }

  private arm(id: number, at: number): NodeJS.Timeout {
    return setTimeout(
      () => {
        const timer = this.timers.get(id);
        this.timers.delete(id);
        timer?.fn();
      },
      Math.max(0, at - this.now()),
    );
  }
}
