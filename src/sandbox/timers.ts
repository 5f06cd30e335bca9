/**
 * Every timer the sandbox starts goes through here, so `close()` can stop them all: tests fail
 * on leaked handles, and a deadline firing after close would touch a dead server.
 */
export class Timers {
  private readonly pending = new Set<NodeJS.Timeout>();
  private readonly sleepers = new Set<() => void>();
  private closed = false;

  /** Provider-defined durations are multiplied by this (e.g. 0.001 turns 900 s into 0.9 s). */
  constructor(readonly timeScale: number) {}

  /** Milliseconds for a provider duration given in seconds, after scaling (at least 1 ms). */
  scaled(seconds: number): number {
    return Math.max(1, Math.round(seconds * 1000 * this.timeScale));
  }

  after(ms: number, fn: () => void): NodeJS.Timeout | undefined {
    if (this.closed) return undefined;
    const t = setTimeout(
      () => {
        this.pending.delete(t);
        fn();
      },
      Math.max(0, ms),
    );
    this.pending.add(t);
    return t;
  }

  cancel(t: NodeJS.Timeout | undefined): void {
    if (!t) return;
    clearTimeout(t);
    this.pending.delete(t);
  }

  /** Resolves after `ms`, or at once when the sandbox closes (callers then check `isClosed`). */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed) return resolve();
      const done = (): void => {
        this.sleepers.delete(done);
        resolve();
      };
      this.sleepers.add(done);
      this.after(ms, done);
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    this.closed = true;
    for (const t of this.pending) clearTimeout(t);
    this.pending.clear();
    for (const wake of [...this.sleepers]) wake();
  }
}
