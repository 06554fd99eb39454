/** Reconnect delays: capped exponential backoff with full jitter (protocol §7.5). */

export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
  minMs: number;
}

export const RECONNECT: BackoffPolicy = { baseMs: 500, capMs: 30_000, minMs: 250 };

/** Delay before attempt number `attempt` (0-based); `random` returns a number in [0, 1). */
export function backoffDelay(attempt: number, random: () => number, policy: BackoffPolicy = RECONNECT): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(Math.max(attempt, 0), 30));
  return Math.max(policy.minMs, Math.floor(random() * ceiling));
}

/** Counts failed attempts; a connection that stayed healthy long enough resets it. */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly random: () => number,
    private readonly policy: BackoffPolicy = RECONNECT,
  ) {}

  /** The delay for the next attempt, advancing the counter. */
  next(): number {
    return backoffDelay(this.attempt++, this.random, this.policy);
  }

  /** Forget past failures. */
  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}
