/**
 * The arena's screen: the canvas with the touch stick, the frame loop (local ticks, prediction,
 * interpolation, drawing), the scoreboard, and stopping the player when the page loses focus.
 * A spectator gets the canvas and the scoreboard only: no keyboard, no stick.
 */
import { Room, type Spectator } from "@tickroom/client";
import { Keyboard, type Direction } from "../../input/Keyboard";
import { TouchStick } from "../../input/TouchStick";
import { el } from "../../ui/dom";
import { onPageHidden, startFrameLoop } from "../canvas";
import type { GameContext, GameView } from "../GameModule";
import { ArenaGame } from "./ArenaGame";
import { ArenaRenderer } from "./ArenaRenderer";
import type { ArenaInput } from "./rules";
import { Scoreboard } from "./Scoreboard";

/** Scoreboard refresh period, ms. */
const PANEL_REFRESH_MS = 250;

export class ArenaView implements GameView {
  readonly root: HTMLElement;
  readonly panel: HTMLElement;
  readonly game: ArenaGame;
  private readonly renderer: ArenaRenderer;
  /** The controls; null for a spectator. */
  private readonly keyboard: Keyboard | null;
  private readonly stick: TouchStick | null;
  private readonly scoreboard: Scoreboard;
  private readonly offs: Array<() => void> = [];
  private lastPanel = 0;

  constructor(ctx: GameContext) {
    const room = ctx.room as Room<ArenaInput, never> | Spectator;
    const playing = room instanceof Room;
    const canvas = el("canvas", {
      id: "arena",
      class: "game-canvas",
      "aria-label": "arena",
      "data-testid": "arena-canvas",
    });
    this.root = el("div", { class: "stage-fill" }, canvas);
    this.keyboard = playing ? new Keyboard() : null;
    this.stick = playing ? new TouchStick(this.root) : null;
    this.renderer = new ArenaRenderer(canvas);
    this.game = new ArenaGame(room, { interpolationDelayMs: ctx.interpolationDelayMs });
    this.scoreboard = new Scoreboard(ctx.room);
    this.panel = this.scoreboard.root;
    this.offs.push(
      ctx.room.on("event", (e) => {
        // Everyone gets every pickup; only the own ones are news.
        if (e.name === "pickup" && typeof e.payload === "object" && e.payload !== null && !Array.isArray(e.payload)) {
          const p = e.payload as Record<string, unknown>;
          if (p["player"] === room.player && typeof p["score"] === "number" && p["score"] % 10 === 0) {
            ctx.notice(`${p["score"]} orbs collected!`);
          }
        }
      }),
    );
    this.offs.push(
      onPageHidden(() => this.game.release()),
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
    this.stick?.element.remove();
  }

  private direction(): Direction {
    if (!this.keyboard || !this.stick) return [0, 0];
    const k = this.keyboard.direction();
    return k[0] !== 0 || k[1] !== 0 ? k : this.stick.direction();
  }

  private frame(nowMs: number): void {
    this.renderer.draw(this.game.frame(nowMs, this.direction()));
    if (nowMs - this.lastPanel >= PANEL_REFRESH_MS) {
      this.lastPanel = nowMs;
      this.scoreboard.update();
    }
  }
}
