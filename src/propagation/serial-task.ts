/**
 * Runs `work` one at a time. A trigger that arrives while it runs schedules
 * exactly one more run after it, so a burst of notifications coalesces into
 * few runs and none is missed.
 */
export class SerialTask {
  private running: Promise<void> | null = null;
  private again = false;
  stopped = false;

  private readonly work: () => Promise<void>;
  private readonly onError: (error: unknown) => void;

  constructor(work: () => Promise<void>, onError: (error: unknown) => void) {
    this.work = work;
    this.onError = onError;
  }

  trigger(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.work()
      .catch(this.onError)
      .finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          this.trigger();
        }
      });
  }

  /** Stops triggering and waits for a run in progress to end. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running?.catch(() => {});
  }
}
