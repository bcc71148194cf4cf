/**
 * One room's page (`/admin#room=ID`): its figures from the live stream, its seats from
 * `/api/admin/rooms/{id}` (polled every second while shown), and the operator's actions: close
 * the room, kick a player, and Watch live: the game page watching the room as a spectator
 * (`/#watch=ID`, in a new tab), drawn by the game's own view.
 */
import { el } from "../ui/dom";
import type { AdminApi } from "./AdminApi";
import { ConfirmButton } from "./ConfirmButton";
import { formatAge, formatBytes, formatCount, formatMicros, formatMs, formatRate, UNKNOWN } from "./format";
import { roomState } from "./RoomsTable";
import type { Member, RoomDetail, RoomRow } from "./types";

/** Time between two looks at the room's seats, ms. */
export const DETAIL_POLL_MS = 1000;

/** A seat's queue in a few words: what waits, since when it is full. */
export function queueState(m: Member): string {
  const parts: string[] = [];
  if (m.stuckMs !== null) parts.push(`full for ${formatMs(m.stuckMs)}`);
  if (m.pending > 0) parts.push(`${m.pending} waiting`);
  if (m.chatBacklog > 0) parts.push(`${m.chatBacklog} chat`);
  if (m.snapshotDue) parts.push("snapshot due");
  if (m.unsentBytes !== null && m.unsentBytes > 0) parts.push(`${formatBytes(m.unsentBytes)} unsent`);
  return parts.length === 0 ? "ok" : parts.join(", ");
}

/** A seat's connection: connected, or held with the time left. */
export function connectionState(m: Member): string {
  if (m.connected) return "connected";
  return m.heldMs === null ? "held" : `held (${formatAge(m.heldMs / 1000)} left)`;
}

export class RoomView {
  readonly element: HTMLElement;
  private readonly title: HTMLElement;
  private readonly figures: HTMLElement;
  private readonly actions: HTMLElement;
  private readonly players: HTMLTableSectionElement;
  /** The detail's spectator count, under the players. */
  private readonly spectators: HTMLElement;
  private readonly status: HTMLElement;
  private room: number | null = null;
  private poll: ReturnType<typeof setInterval> | null = null;
  private closed = false;
  /** Each seat's kick button, kept across refreshes so a question being asked stays open. */
  private readonly kicks = new Map<number, ConfirmButton>();

  constructor(private readonly api: AdminApi) {
    this.title = el("h2", { "data-testid": "room-title" });
    this.figures = el("p", { class: "room-figures", "data-testid": "room-figures" });
    this.actions = el("div", { class: "actions" });
    this.status = el("p", { class: "status", "data-testid": "room-status" });
    this.players = el("tbody");
    this.spectators = el("p", { class: "muted", "data-testid": "room-spectators" });
    // Column headings, and whether the column holds numbers (right-aligned).
    const headings: [string, boolean][] = [
      ["player", true],
      ["name", false],
      ["connection", false],
      ["RTT", true],
      ["queue", false],
      ["skipped", true],
      ["resyncs", true],
      ["", false],
    ];
    this.element = el(
      "section",
      { class: "room-view", "data-testid": "room-view" },
      el("a", { href: "#", class: "back", "data-testid": "back" }, "← all rooms"),
      this.title,
      this.figures,
      this.actions,
      this.status,
      el("h3", {}, "Players"),
      el(
        "div",
        { class: "table-scroll" },
        el(
          "table",
          { "data-testid": "room-players" },
          el("thead", {}, el("tr", {}, ...headings.map(([h, num]) => el("th", num ? { class: "num" } : {}, h)))),
          this.players,
        ),
      ),
      this.spectators,
    );
  }

  /** Shows room `id` and starts looking at its seats. */
  show(id: number): void {
    this.hide();
    this.room = id;
    this.closed = false;
    this.title.textContent = `Room #${id}`;
    this.figures.textContent = "";
    this.status.textContent = "";
    this.players.replaceChildren();
    this.spectators.textContent = "";
    this.kicks.clear();
    const close = new ConfirmButton({
      label: "Close room",
      question: `Close room #${id} for everyone in it?`,
      confirm: "Close it",
      testId: "close-room",
      act: async () => {
        await this.api.closeRoom(id);
        this.gone(`Room #${id} was closed: its players got close 1000, "closed by the operator".`);
      },
    });
    // The game page of this server, whatever path the admin page is served at.
    const watch = el(
      "a",
      {
        class: "button",
        href: `/#watch=${id}`,
        target: "_blank",
        rel: "noopener",
        "data-testid": "watch-room",
        title: "Open the game page watching this room as a spectator, in a new tab",
      },
      "Watch live",
    );
    this.actions.replaceChildren(close.element, watch);
    void this.refresh();
    this.poll = setInterval(() => void this.refresh(), DETAIL_POLL_MS);
  }

  /** Stops looking at the room. */
  hide(): void {
    if (this.poll !== null) clearInterval(this.poll);
    this.poll = null;
    this.room = null;
  }

  /** The room's row of the last update (undefined: not in it, e.g. closed). */
  update(row: RoomRow | undefined): void {
    if (this.room === null || this.closed || row === undefined) return;
    this.title.textContent = `Room #${row.id} · ${row.game}`;
    const state = roomState(row);
    this.figures.textContent = [
      `${row.players} / ${row.capacity} players`,
      row.spectators === null
        ? `${UNKNOWN} spectators`
        : `${row.spectators} spectator${row.spectators === 1 ? "" : "s"}`,
      `${row.tickRate} Hz${row.onChange ? " (on change)" : ""}`,
      `p99 lateness ${formatMicros(row.latenessP99Us)} (max ${formatMicros(row.latenessMaxUs)})`,
      `in ${formatRate(row.bytesInPerS)}`,
      `out ${formatRate(row.bytesOutPerS)}`,
      `open ${formatAge(row.ageS)}`,
      `${formatCount(row.ticks)} ticks (${formatCount(row.lateTicks)} late)`,
      `${formatCount(row.slowKicks)} slow kicks`,
      state,
    ]
      .filter((s) => s !== "")
      .join(" · ");
  }

  private gone(message: string): void {
    this.closed = true;
    this.hide();
    this.actions.replaceChildren();
    this.players.replaceChildren();
    this.spectators.textContent = "";
    this.status.textContent = message;
    this.status.dataset["state"] = "closed";
  }

  private async refresh(): Promise<void> {
    const id = this.room;
    if (id === null) return;
    try {
      const detail = await this.api.room(id);
      if (this.room !== id) return; // another room was opened meanwhile
      if (detail === null) return this.gone(`Room #${id} is not open on this server.`);
      this.status.textContent = "";
      this.render(detail);
    } catch (e) {
      if (this.room === id) this.status.textContent = e instanceof Error ? e.message : String(e);
    }
  }

  private kickButton(room: number, m: Member): ConfirmButton {
    const known = this.kicks.get(m.player);
    if (known) return known;
    const kick = new ConfirmButton({
      label: "Kick",
      question: `Kick ${m.name}?`,
      confirm: "Kick",
      testId: `kick-${m.player}`,
      act: async () => {
        await this.api.kick(room, m.player);
        await this.refresh();
      },
    });
    this.kicks.set(m.player, kick);
    return kick;
  }

  private render(detail: RoomDetail): void {
    const seated = new Set(detail.players.map((m) => m.player));
    for (const player of [...this.kicks.keys()]) if (!seated.has(player)) this.kicks.delete(player);
    this.players.replaceChildren(
      ...detail.players.map((m) => {
        const kick = this.kickButton(detail.id, m);
        return el(
          "tr",
          { "data-testid": `player-row-${m.player}` },
          el("td", { class: "num" }, String(m.player)),
          el("td", {}, m.name),
          el("td", {}, connectionState(m)),
          el("td", { class: "num", "data-testid": `player-rtt-${m.player}` }, formatMs(m.rttMs)),
          el("td", {}, queueState(m)),
          el("td", { class: "num" }, formatCount(m.skipped)),
          el("td", { class: "num" }, formatCount(m.resyncs)),
          el("td", {}, kick.element),
        );
      }),
    );
    const n = detail.spectators;
    const most = detail.maxSpectators === null ? "" : ` of at most ${detail.maxSpectators}`;
    this.spectators.textContent =
      n === null ? "" : `${n} spectator${n === 1 ? "" : "s"}${most} watching (they take no seat).`;
    this.spectators.dataset["count"] = n === null ? "" : String(n);
    if (detail.players.length === 0) {
      this.players.append(el("tr", {}, el("td", { colspan: 8, class: "muted" }, "No player is seated.")));
    }
  }
}
