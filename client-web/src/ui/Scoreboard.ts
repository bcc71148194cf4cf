/** Players in the room by score, from the roster and the replica. */
import { Field } from "../game/arena";
import type { Room } from "../Room";
import { colorOf } from "../render/Renderer";
import { el } from "./dom";

export class Scoreboard {
  readonly root: HTMLElement;
  private readonly list: HTMLOListElement;
  private last = "";

  constructor(private readonly room: Room) {
    this.list = el("ol", { class: "scores", id: "scoreboard" });
    this.root = el("div", { class: "panel" }, el("h3", {}, "Scoreboard"), this.list);
  }

  update(): void {
    const rows = this.room.roster
      .map((p) => ({
        ...p,
        score: this.room.replica.get(p.entity)?.[Field.score] ?? 0,
        self: p.player === this.room.seat?.player,
      }))
      .sort((a, b) => b.score - a.score || a.player - b.player);
    // Rebuild only when something visible changed.
    const key = JSON.stringify(rows);
    if (key === this.last) return;
    this.last = key;
    this.list.replaceChildren(
      ...rows.map((r) =>
        el(
          "li",
          { class: `${r.self ? "self" : ""} ${r.connected ? "" : "away"}` },
          el("span", { class: "dot", style: `background:${colorOf(r.entity)}` }),
          el("span", { class: "who" }, r.name + (r.self ? " (you)" : "") + (r.connected ? "" : " (reconnecting)")),
          el("span", { class: "score" }, String(r.score)),
        ),
      ),
    );
  }
}
