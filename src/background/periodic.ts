/**
 * A pass run every so often in the background, one at a time: the worker role's lost-job sweeper
 * and its poll scheduler. A pass still running when the next is due is not doubled; an error is
 * handed to `onError` and the next pass runs as usual. `stop()` waits for the pass in flight, but
 * only so long: a pass stuck on a connection that never answers again must not keep the process
 * from stopping (what it was doing is redone by the next process's passes).
 */
import { within } from './within.ts';

export class Periodic {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly pass: () => Promise<unknown>,
    private readonly onError: (err: unknown) => void,
  ) {}

  start(intervalMs: number): void {
    this.timer = setInterval(() => void this.tick(), intervalMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    if (this.running) return;
    this.running = this.pass().then(() => undefined, this.onError);
    await this.running;
    this.running = undefined;
  }

  /** Stops the interval and waits for a pass in flight, at most `waitMs`. */
  async stop(waitMs = 5000): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.running) await within(this.running, waitMs, 'background pass').catch(() => undefined);
  }
}
