/** The arena's players by score, from the roster and the replica's `player` entities. */
import type { RoomFeed } from "@tickroom/client";
import { colorOf } from "../../ui/colors";
import { el } from "../../ui/dom";
import type { PlayerFields } from "./rules";

export class Scoreboard {
  readonly root: HTMLElement;
  private readonly list: HTMLOListElement;
  private last = "";

  constructor(private readonly room: RoomFeed) {
    this.list = el("ol", { class: "scores", id: "scoreboard", "data-testid": "scoreboard" });
    this.root = el("div", { class: "panel" }, el("h3", {}, "Scoreboard"), this.list);
  }

  update(): void {
    const scores = new Map(
      this.room.replica.entities<PlayerFields>("player").map((p) => [p.get("owner"), p.get("score")]),
    );
    const rows = this.room.roster
      .map((p) => ({ ...p, score: scores.get(p.player) ?? 0, self: p.player === this.room.player }))
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
          el("span", { class: "dot", style: `background:${colorOf(r.player)}` }),
          el("span", { class: "who" }, r.name + (r.self ? " (you)" : "") + (r.connected ? "" : " (reconnecting)")),
          el("span", { class: "score" }, String(r.score)),
        ),
      ),
    );
  }
}
