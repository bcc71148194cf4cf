/**
 * What the app shows for a game it has no view for: the replica in a table (entities per kind,
 * their fields), which the SDK can decode for any game from the welcome's kinds alone.
 */
import type { RoomFeed } from "@tickroom/client";
import type { GameView } from "../games/GameModule";
import { el } from "./dom";

/** Refresh period, ms. */
const REFRESH_MS = 500;
/** Entities listed per kind at most. */
const MAX_ROWS = 20;

export class UnknownGameView implements GameView {
  readonly root: HTMLElement;
  readonly panel = null;
  private readonly timer: ReturnType<typeof setInterval>;

  constructor(private readonly room: RoomFeed) {
    this.root = el("div", { class: "unknown-game", "data-testid": "unknown-game" });
    this.timer = setInterval(() => this.render(), REFRESH_MS);
    this.render();
  }

  dispose(): void {
    clearInterval(this.timer);
  }

  private render(): void {
    const { replica, info: seat } = this.room;
    this.root.replaceChildren(
      el("h2", {}, `${seat?.game ?? "?"}: this page has no view for this game`),
      el("p", { class: "muted" }, `Tick ${replica.tick ?? "–"}, ${replica.size} entities.`),
      ...replica.kinds.map((kind) => {
        const entities = replica.entities(kind.name);
        return el(
          "section",
          {},
          el("h3", {}, `${kind.name} (${entities.length})`),
          el(
            "table",
            {},
            el("tr", {}, el("th", {}, "id"), ...kind.fields.map((f) => el("th", {}, f.name))),
            ...entities
              .slice(0, MAX_ROWS)
              .map((e) =>
                el(
                  "tr",
                  {},
                  el("td", {}, String(e.id)),
                  ...Object.values(e.toObject()).map((v) => el("td", {}, String(v))),
                ),
              ),
          ),
        );
      }),
    );
  }
}
