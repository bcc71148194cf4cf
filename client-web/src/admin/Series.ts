/**
 * The charts' data over the last minutes: one column per series, aligned on the samples' times,
 * as uPlot draws them (x in Unix seconds; null leaves a gap). Pure: fed with samples, read as
 * columns, so the tests need no canvas.
 */
import type { Sample } from "./types";

/** x values, then one column per series. */
export type Columns = [number[], ...(number | null)[][]];

/** The three charts' columns. */
export interface ChartColumns {
  /** Tick lateness, ms: max, p99. */
  readonly lateness: Columns;
  /** Sessions, players. */
  readonly players: Columns;
  /** Bytes per second: in, out. */
  readonly bandwidth: Columns;
}

/** Samples kept: five minutes at one a second, as the server keeps. */
export const DEFAULT_CAPACITY = 300;

export class Series {
  private samples: Sample[] = [];

  constructor(readonly capacity = DEFAULT_CAPACITY) {}

  /** Starts again from the server's history (a new stream). */
  reset(samples: readonly Sample[]): void {
    this.samples = [];
    for (const s of samples) this.push(s);
  }

  /** Adds the newest sample; an old or repeated one (a stream resent it) is ignored. */
  push(sample: Sample): void {
    const last = this.samples[this.samples.length - 1];
    if (last !== undefined && sample.t <= last.t) return;
    this.samples.push(sample);
    if (this.samples.length > this.capacity) this.samples.splice(0, this.samples.length - this.capacity);
  }

  get length(): number {
    return this.samples.length;
  }

  /** The newest sample. */
  get latest(): Sample | undefined {
    return this.samples[this.samples.length - 1];
  }

  columns(): ChartColumns {
    const x = this.samples.map((s) => s.t / 1000);
    const ms = (us: number | null): number | null => (us === null ? null : us / 1000);
    const col = (f: (s: Sample) => number | null): (number | null)[] => this.samples.map(f);
    return {
      lateness: [x, col((s) => ms(s.latenessMaxUs)), col((s) => ms(s.latenessP99Us))],
      players: [x, col((s) => s.sessions), col((s) => s.players)],
      bandwidth: [x, col((s) => s.bytesInPerS), col((s) => s.bytesOutPerS)],
    };
  }
}
