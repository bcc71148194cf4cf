/** Every room of the server, a row each, linking to the room's page. */
import { el } from "../ui/dom";
import { formatAge, formatCount, formatMicros, formatRate, UNKNOWN } from "./format";
import { roomHash } from "./route";
import type { RoomRow } from "./types";

/** Column headings, and whether the column holds numbers (right-aligned). */
const HEADINGS: readonly (readonly [string, boolean])[] = [
  ["room", false],
  ["game", false],
  ["players", true],
  ["spectators", true],
  ["tick rate", true],
  ["p99 lateness (1 s)", true],
  ["in", true],
  ["out", true],
  ["age", true],
  ["skipped", true],
  ["resyncs", true],
  ["state", false],
];

/** A room's state in a few words: locked, its metadata. */
export function roomState(row: RoomRow): string {
  const parts = row.locked ? ["locked"] : [];
  for (const [k, v] of Object.entries(row.metadata)) parts.push(`${k}=${v}`);
  return parts.join(", ");
}

export class RoomsTable {
  readonly element: HTMLElement;
  private readonly body: HTMLTableSectionElement;
  private readonly empty: HTMLElement;

  constructor() {
    this.body = el("tbody");
    this.empty = el("p", { class: "muted", "data-testid": "no-rooms" }, "No room is open.");
    this.element = el(
      "section",
      { class: "rooms" },
      el("h2", {}, "Rooms"),
      el(
        "div",
        { class: "table-scroll" },
        el(
          "table",
          { "data-testid": "rooms-table" },
          el("thead", {}, el("tr", {}, ...HEADINGS.map(([h, num]) => el("th", num ? { class: "num" } : {}, h)))),
          this.body,
        ),
      ),
      this.empty,
    );
  }

  update(rooms: readonly RoomRow[]): void {
    this.empty.hidden = rooms.length > 0;
    this.body.replaceChildren(
      ...rooms.map((r) =>
        el(
          "tr",
          { "data-testid": `room-row-${r.id}` },
          el("td", {}, el("a", { href: roomHash(r.id), "data-testid": `room-link-${r.id}` }, `#${r.id}`)),
          el("td", {}, r.game),
          el("td", { class: "num", "data-testid": `room-players-${r.id}` }, `${r.players} / ${r.capacity}`),
          el(
            "td",
            { class: "num", "data-testid": `room-spectators-${r.id}` },
            r.spectators === null ? UNKNOWN : String(r.spectators),
          ),
          el("td", { class: "num" }, r.onChange ? `${r.tickRate} Hz (on change)` : `${r.tickRate} Hz`),
          el("td", { class: "num" }, formatMicros(r.latenessP99Us)),
          el("td", { class: "num" }, formatRate(r.bytesInPerS)),
          el("td", { class: "num" }, formatRate(r.bytesOutPerS)),
          el("td", { class: "num" }, formatAge(r.ageS)),
          el("td", { class: "num" }, formatCount(r.skippedSends)),
          el("td", { class: "num" }, formatCount(r.resyncs)),
          el("td", {}, roomState(r)),
        ),
      ),
    );
  }
}
