/**
 * The numbers the HUD shows: round-trip time, the server's tick rate as measured from the deltas,
 * and bytes received per second. Times come in as arguments so tests need no clock.
 */

/** Window over which rates are measured, ms. */
const WINDOW_MS = 2000;
/** Pongs the RTT is the median of. */
const RTT_SAMPLES = 5;

export class NetStats {
  /** Round-trip time, ms: the median of the last RTT_SAMPLES pongs, so one late pong does not
   * swing it (null until the first pong). */
  rttMs: number | null = null;
  /** Last round-trip time, ms. */
  lastRttMs: number | null = null;
  private readonly bytes: Array<[time: number, bytes: number]> = [];
  private readonly ticks: Array<[time: number, tick: number]> = [];
  private readonly rtts: number[] = [];
  private totalBytes = 0;
  /** When byte counting (re)started, ms. */
  private since: number | null = null;

  /** Counts a received frame. */
  addBytes(n: number, nowMs: number): void {
    this.since ??= nowMs;
    this.bytes.push([nowMs, n]);
    this.totalBytes += n;
    this.trim(this.bytes, nowMs);
  }

  /** Records a server tick reached (from a delta or snapshot). */
  addTick(tick: number, nowMs: number): void {
    this.ticks.push([nowMs, tick]);
    this.trim(this.ticks, nowMs);
  }

  /** Records one ping's round trip. */
  addRtt(ms: number): void {
    this.lastRttMs = ms;
    this.rtts.push(ms);
    if (this.rtts.length > RTT_SAMPLES) this.rtts.shift();
    const sorted = [...this.rtts].sort((a, b) => a - b);
    this.rttMs = sorted[Math.floor(sorted.length / 2)] ?? ms;
  }

  /** Bytes received since the start. */
  get receivedBytes(): number {
    return this.totalBytes;
  }

  /** Bytes received per second over the last window. */
  bytesPerSecond(nowMs: number): number {
    this.trim(this.bytes, nowMs);
    if (this.since === null) return 0;
    // The window, or the time since counting started; at least 1 s so the first frame does not
    // read as a huge rate.
    const span = Math.max(Math.min(WINDOW_MS, nowMs - this.since), 1000);
    return (this.bytes.reduce((sum, [, n]) => sum + n, 0) * 1000) / span;
  }

  /**
   * Server ticks per second over the last window (null until enough ticks were seen): the
   * least-squares slope of tick against arrival time, so a few late or bunched frames barely move it.
   */
  tickRate(nowMs: number): number | null {
    this.trim(this.ticks, nowMs);
    const n = this.ticks.length;
    const first = this.ticks[0];
    const last = this.ticks[n - 1];
    if (!first || !last || n < 3 || last[0] - first[0] < 200) return null;
    let mt = 0;
    let mk = 0;
    for (const [t, k] of this.ticks) {
      mt += t - first[0];
      mk += k - first[1];
    }
    mt /= n;
    mk /= n;
    let cov = 0;
    let vt = 0;
    for (const [t, k] of this.ticks) {
      const dt = t - first[0] - mt;
      cov += dt * (k - first[1] - mk);
      vt += dt * dt;
    }
    return vt > 0 ? (cov / vt) * 1000 : null;
  }

  /** Forgets the rate windows (after a reconnect). */
  resetRates(): void {
    this.bytes.length = 0;
    this.ticks.length = 0;
    this.since = null;
  }

  private trim(list: Array<[number, number]>, nowMs: number): void {
    while (list.length > 0 && (list[0]?.[0] ?? nowMs) <= nowMs - WINDOW_MS) list.shift();
  }
}
