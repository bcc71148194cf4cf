/**
 * The shooter's screen: the canvas (camera on the own ship), keyboard and pointer controls, the
 * own ship's status (hp, kills, deaths, hits) and the scoreboard from the `score` entities.
 * A spectator gets the canvas and the scoreboard only: no controls and no ship status.
 */
import { Room, type Spectator } from "@tickroom/client";
import { Keyboard } from "../../input/Keyboard";
import { colorOf } from "../../ui/colors";
import { el } from "../../ui/dom";
import { onPageHidden, startFrameLoop } from "../canvas";
import type { GameContext, GameView } from "../GameModule";
import { PointerControls } from "./PointerControls";
import type { ScoreFields, ShooterInput } from "./rules";
import { ShooterGame } from "./ShooterGame";
import { ShooterRenderer } from "./ShooterRenderer";

/** Scores the server shows everyone (the best ones); each player also sees its own. */
const SCOREBOARD_SIZE = 16;

/** Status and scoreboard refresh period, ms. */
const PANEL_REFRESH_MS = 200;

export class ShooterView implements GameView {
  readonly root: HTMLElement;
  readonly panel: HTMLElement;
  readonly game: ShooterGame;
  private readonly renderer: ShooterRenderer;
  /** The controls; null for a spectator. */
  private readonly keyboard: Keyboard | null;
  private readonly pointer: PointerControls | null;
  private readonly status: Record<"hp" | "kills" | "deaths" | "dealt" | "taken", HTMLElement>;
  private readonly scores = el("ol", { class: "scores", "data-testid": "scoreboard" });
  private readonly offs: Array<() => void> = [];
  private lastPanel = 0;
  private lastScores = "";

  constructor(private readonly ctx: GameContext) {
    const room = ctx.room as Room<ShooterInput, never> | Spectator;
    const playing = room instanceof Room;
    const canvas = el("canvas", { class: "game-canvas", "aria-label": "shooter", "data-testid": "shooter-canvas" });
    const stat = (id: string): HTMLElement => el("dd", { "data-testid": id }, "–");
    this.status = {
      hp: stat("ship-hp"),
      kills: stat("kill-count"),
      deaths: stat("death-count"),
      dealt: stat("hits-dealt"),
      taken: stat("hits-taken"),
    };
    this.root = el(
      "div",
      { class: "stage-fill" },
      canvas,
      el(
        "dl",
        { class: "ship-status", "data-testid": "ship-status", hidden: !playing },
        el("dt", {}, "HP"),
        this.status.hp,
        el("dt", {}, "Kills"),
        this.status.kills,
        el("dt", {}, "Deaths"),
        this.status.deaths,
        el("dt", {}, "Hits"),
        this.status.dealt,
        el("dt", {}, "Hit by"),
        this.status.taken,
      ),
    );
    this.panel = el("div", { class: "panel" }, el("h3", {}, "Scoreboard"), this.scores);
    this.renderer = new ShooterRenderer(canvas);
    this.keyboard = playing ? new Keyboard(["Space"]) : null;
    this.pointer = playing ? new PointerControls(canvas) : null;
    this.game = new ShooterGame(room, { interpolationDelayMs: ctx.interpolationDelayMs });
    this.offs.push(
      ctx.room.on("event", (e) => {
        if (e.name !== "kill" || typeof e.payload !== "object" || e.payload === null) return;
        const p = e.payload as Record<string, unknown>;
        const name = (id: unknown): string =>
          id === room.player ? "you" : (room.roster.find((r) => r.player === id)?.name ?? `#${String(id)}`);
        ctx.notice(`${name(p["killer"])} shot down ${name(p["victim"])}.`);
      }),
    );
    this.offs.push(
      onPageHidden(() => {
        this.pointer?.release();
        this.game.release();
      }),
      startFrameLoop((t) => this.frame(t)),
    );
  }

  toScreen(x: number, y: number): { x: number; y: number } {
    return this.renderer.toScreen(x, y);
  }

  dispose(): void {
    for (const off of this.offs) off();
    this.game.dispose();
    this.keyboard?.dispose();
    this.pointer?.dispose();
  }

  private frame(nowMs: number): void {
    const { keyboard, pointer } = this;
    const k = keyboard?.direction() ?? [0, 0];
    const [dx, dy] = k[0] !== 0 || k[1] !== 0 || !pointer ? k : pointer.direction();
    const fire = (pointer?.firing ?? false) || (keyboard?.isHeld("Space") ?? false);
    this.renderer.draw(this.game.frame(nowMs, { dx, dy, aim: pointer?.aim ?? null, fire }));
    if (nowMs - this.lastPanel >= PANEL_REFRESH_MS) {
      this.lastPanel = nowMs;
      this.updatePanel();
    }
  }

  private updatePanel(): void {
    const own = this.game.own();
    const score = this.game.score();
    this.status.hp.textContent = own ? (own.alive ? String(own.hp) : "down") : "–";
    this.status.hp.dataset["hp"] = String(own?.hp ?? "");
    this.status.kills.textContent = String(score.kills);
    this.status.deaths.textContent = String(score.deaths);
    this.status.dealt.textContent = String(this.game.hitsDealt);
    this.status.taken.textContent = String(this.game.hitsTaken);
    const room = this.ctx.room;
    const rows = room.replica
      .entities<ScoreFields>("score")
      .map((s) => ({ player: s.get("player"), kills: s.get("kills"), deaths: s.get("deaths") }))
      .sort((a, b) => b.kills - a.kills || a.deaths - b.deaths || a.player - b.player);
    const key = JSON.stringify([rows, room.roster]);
    if (key === this.lastScores) return;
    this.lastScores = key;
    // The server shows everyone the best SCOREBOARD_SIZE scores, and each player its own too:
    // a row beyond them is one's own, ranked lower, so it is not numbered as if it were next.
    const items = rows.map((r, i) => {
      const member = room.roster.find((p) => p.player === r.player);
      const self = r.player === room.player;
      const beyond = i >= SCOREBOARD_SIZE;
      return el(
        "li",
        {
          class: `${self ? "self" : ""} ${member?.connected === false ? "away" : ""} ${beyond ? "beyond" : ""}`,
          ...(beyond ? { style: "list-style:none" } : {}),
        },
        el("span", { class: "dot", style: `background:${colorOf(r.player)}` }),
        el("span", { class: "who" }, `${member?.name ?? `#${r.player}`}${self ? " (you)" : ""}`),
        el("span", { class: "score" }, `${r.kills} / ${r.deaths}`),
      );
    });
    if (items.length > SCOREBOARD_SIZE) {
      items.splice(SCOREBOARD_SIZE, 0, el("li", { class: "gap", style: "list-style:none" }, "…"));
    }
    this.scores.replaceChildren(...items);
  }
}
