/** The HUD: connection state, RTT, measured server tick rate, bytes/s received. */
import type { Room } from "../Room";
import { el } from "./dom";

const stateWords = {
  joining: "joining",
  connected: "connected",
  reconnecting: "reconnecting",
  closed: "closed",
} as const;

export function formatBytes(perSecond: number): string {
  return perSecond >= 1024 ? `${(perSecond / 1024).toFixed(1)} KiB/s` : `${Math.round(perSecond)} B/s`;
}

export class Hud {
  readonly root: HTMLElement;
  private readonly cells: Record<"state" | "rtt" | "tick" | "bytes" | "inputs", HTMLElement>;

  constructor(private readonly room: Room) {
    const cell = (id: string): HTMLElement => el("dd", { id: `hud-${id}` }, "–");
    this.cells = {
      state: cell("state"),
      rtt: cell("rtt"),
      tick: cell("tick"),
      bytes: cell("bytes"),
      inputs: cell("inputs"),
    };
    this.root = el(
      "dl",
      { class: "hud", id: "hud" },
      el("dt", {}, "State"),
      this.cells.state,
      el("dt", {}, "RTT"),
      this.cells.rtt,
      el("dt", {}, "Tick rate"),
      this.cells.tick,
      el("dt", {}, "Received"),
      this.cells.bytes,
      el("dt", {}, "Unacked"),
      this.cells.inputs,
    );
  }

  update(nowMs: number, unacked: number): void {
    const { room, cells } = this;
    cells.state.textContent = stateWords[room.status.state] + (room.congested ? " (congested)" : "");
    cells.state.className = `state-${room.status.state}`;
    const rtt = room.status.state === "connected" ? room.stats.rttMs : null;
    cells.rtt.textContent = rtt === null ? "–" : `${rtt.toFixed(rtt < 10 ? 1 : 0)} ms`;
    const rate = room.stats.tickRate(nowMs);
    const nominal = room.seat?.tickRate;
    cells.tick.textContent = rate === null ? "–" : `${rate.toFixed(1)} Hz${nominal ? ` (of ${nominal})` : ""}`;
    cells.bytes.textContent = formatBytes(room.stats.bytesPerSecond(nowMs));
    cells.inputs.textContent = `${unacked} input${unacked === 1 ? "" : "s"}`;
  }
}
