/** The HUD: connection state, RTT, measured server tick rate, bytes/s received. */
import type { RoomFeed } from "@tickroom/client";
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
  private readonly cells: Record<"state" | "rtt" | "tick" | "bytes", HTMLElement>;

  constructor(private readonly room: RoomFeed) {
    const cell = (id: string, testId = `hud-${id}`): HTMLElement =>
      el("dd", { id: `hud-${id}`, "data-testid": testId }, "–");
    this.cells = {
      state: cell("state", "connection-status"),
      rtt: cell("rtt"),
      tick: cell("tick"),
      bytes: cell("bytes"),
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
    );
  }

  update(nowMs: number): void {
    const { room, cells } = this;
    cells.state.textContent = stateWords[room.status.state] + (room.congested ? " (congested)" : "");
    cells.state.className = `state-${room.status.state}`;
    cells.state.dataset["state"] = room.status.state;
    const rtt = room.status.state === "connected" ? room.stats.rttMs : null;
    cells.rtt.textContent = rtt === null ? "–" : `${rtt.toFixed(rtt < 10 ? 1 : 0)} ms`;
    const rate = room.stats.tickRate(nowMs);
    const seat = room.info;
    // An "on change" room sends only when something changed: its measured rate says little.
    if (seat?.onChange) cells.tick.textContent = `${seat.tickRate} Hz, on change`;
    else cells.tick.textContent = rate === null ? "–" : `${rate.toFixed(1)} Hz${seat ? ` (of ${seat.tickRate})` : ""}`;
    cells.bytes.textContent = formatBytes(room.stats.bytesPerSecond(nowMs));
  }
}
