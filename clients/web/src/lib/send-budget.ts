/** The relay's frame budget per connection, as its `welcome` states it (docs/protocol.md). */
export interface FrameLimits {
  frameBurst: number;
  framesPerSecond: number;
}

/** For a relay whose `welcome` states no limits: the library defaults, below what the relay is configured with. */
export const defaultFrameLimits: FrameLimits = { frameBurst: 60, framesPerSecond: 20 };

/**
 * How many sends the outbox may write now: a token bucket at half the relay's budget, so acks, reads and subscribes
 * always have the other half. Without it, an outbox longer than the relay's burst, flushed after a reconnect faster
 * than the relay refills, would have the frames past the burst refused as rate-limited (with no id to tell which):
 * they would wait out the accept timeout and be stored behind later ones.
 * Time is passed in, so the pacing is testable without timers.
 */
export class SendBudget {
  private capacity = 1;
  private perMillisecond = 0;
  private tokens = 0;
  private updatedAt: number;

  constructor(limits: FrameLimits, now: number) {
    this.updatedAt = now;
    this.setLimits(limits, now);
  }

  /** New limits (a `welcome`): the bucket starts full, as the relay's own does for a new connection. */
  setLimits(limits: FrameLimits, now: number): void {
    this.capacity = Math.max(1, Math.floor(limits.frameBurst / 2));
    this.perMillisecond = Math.max(0.5, limits.framesPerSecond / 2) / 1_000;
    this.tokens = this.capacity;
    this.updatedAt = now;
  }

  /**
   * A new connection opened: nothing is sent until its `welcome` states the new connection's budget. Tokens left from
   * the old connection would otherwise be spent on top of the new, full one.
   */
  empty(now: number): void {
    this.tokens = 0;
    this.updatedAt = now;
  }

  /** Takes one send if the budget has it. */
  take(now: number): boolean {
    this.refill(now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** When the next send fits. */
  nextAt(now: number): number {
    this.refill(now);
    return this.tokens >= 1 ? now : now + Math.ceil((1 - this.tokens) / this.perMillisecond);
  }

  private refill(now: number): void {
    this.tokens = Math.min(this.capacity, this.tokens + Math.max(0, now - this.updatedAt) * this.perMillisecond);
    this.updatedAt = now;
  }
}

/** The limits of a relay `welcome`, or undefined when it carries none that make sense. */
export function readFrameLimits(value: unknown): FrameLimits | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { frameBurst, framesPerSecond } = value as Record<string, unknown>;
  return typeof frameBurst === 'number' && frameBurst >= 1 && typeof framesPerSecond === 'number' && framesPerSecond > 0
    ? { frameBurst, framesPerSecond }
    : undefined;
}
