/** How the admin page writes figures: sizes, rates, durations, shares. Pure, for the tests. */

/** The sign for "not known". */
export const UNKNOWN = "—";

/** Bytes in binary units: "512 B", "1.5 KiB", "12 MiB". */
export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return UNKNOWN;
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = Math.max(0, n);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = unit === 0 || value >= 10 ? 0 : 1;
  return `${value.toFixed(digits)} ${units[unit] ?? "B"}`;
}

/** Bytes per second: "1.5 KiB/s". */
export function formatRate(n: number | null | undefined): string {
  const bytes = formatBytes(n);
  return bytes === UNKNOWN ? UNKNOWN : `${bytes}/s`;
}

/** Milliseconds, with a decimal below 10: "0.4 ms", "12 ms", "1.5 s". */
export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return UNKNOWN;
  if (ms >= 1000) return `${(ms / 1000).toFixed(ms >= 10_000 ? 0 : 1)} s`;
  return `${ms.toFixed(ms < 10 ? 1 : 0)} ms`;
}

/** Microseconds written as milliseconds (tick lateness). */
export function formatMicros(us: number | null | undefined): string {
  return us === null || us === undefined ? UNKNOWN : formatMs(us / 1000);
}

/** A duration in whole seconds: "45 s", "12 min", "3 h 05 min", "2 d 3 h". */
export function formatAge(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s} s`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 24) return `${h} h ${String(min % 60).padStart(2, "0")} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** CPU use, where 1.0 is one core busy: "12.5 %" of a core ("150 %" is one and a half). */
export function formatCpu(cores: number | null | undefined): string {
  if (cores === null || cores === undefined || !Number.isFinite(cores)) return UNKNOWN;
  const percent = cores * 100;
  return `${percent.toFixed(percent < 10 ? 1 : 0)} %`;
}

/** A count with thousands separators: "12,345". */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}
