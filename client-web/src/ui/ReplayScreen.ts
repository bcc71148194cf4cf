/**
 * The screen of a recorded room (`#replay=NAME`): the game's own view, fed by a `Playback`
 * instead of a connection, with play / pause, 2x, a seek bar and the time; the side panel holds
 * the game's panel (a scoreboard) and a log of the game's notices.
 */
import type { Playback } from "@tickroom/client";
import { startFrameLoop } from "../games/canvas";
import type { GameModule, GameView } from "../games/GameModule";
import { el } from "./dom";
import { UnknownGameView } from "./UnknownGameView";

/** Most notices kept in the log (seeking replays many events). */
const LOG_LINES = 50;

/** `m:ss.s` of a number of seconds. */
export function clock(secs: number): string {
  const s = Math.max(0, secs);
  const m = Math.floor(s / 60);
  return `${m}:${(s - m * 60).toFixed(1).padStart(4, "0")}`;
}

export class ReplayScreen {
  readonly root: HTMLElement;
  readonly view: GameView;
  private readonly playButton: HTMLButtonElement;
  private readonly speedButton: HTMLButtonElement;
  private readonly seekBar: HTMLInputElement;
  private readonly time: HTMLElement;
  private readonly log: HTMLElement;
  private readonly offs: Array<() => void> = [];

  constructor(
    readonly playback: Playback,
    name: string,
    game: GameModule | null,
    /** Back to the lobby. */
    private readonly onExit: () => void,
    interpolationDelayMs: number,
  ) {
    const stream = playback.stream;
    this.log = el("ul", { class: "replay-log", "data-testid": "replay-log" });
    const ctx = { room: playback.room, notice: (text: string) => this.notice(text), interpolationDelayMs };
    this.view = game ? game.createView(ctx) : new UnknownGameView(playback.room);
    this.playButton = el(
      "button",
      { class: "primary", "data-testid": "replay-play", onclick: () => this.toggle() },
      "Play",
    );
    this.speedButton = el(
      "button",
      { "data-testid": "replay-speed", "aria-pressed": "false", onclick: () => this.toggleSpeed() },
      "2×",
    );
    this.seekBar = el("input", {
      type: "range",
      class: "replay-seek",
      "data-testid": "replay-seek",
      "aria-label": "seek",
      min: stream.first,
      max: Math.max(stream.first, stream.last),
      step: 1,
      value: stream.first,
    });
    this.seekBar.addEventListener("input", () => playback.seek(Number(this.seekBar.value)));
    this.time = el("span", { class: "replay-time", "data-testid": "replay-time" });
    const controls = el(
      "div",
      { class: "replay-controls", "data-testid": "replay-controls" },
      this.playButton,
      this.speedButton,
      this.seekBar,
      this.time,
    );
    const started = new Date(stream.startedMs).toLocaleString();
    const info = el(
      "div",
      { class: "share" },
      el("h3", {}, `Replay · ${stream.game} · room #${stream.room}`),
      el("p", { class: "muted", "data-testid": "replay-name" }, name),
      el("p", { class: "muted" }, `Started ${started}${stream.complete ? "" : " · still recording or cut short"}`),
    );
    const back = el("button", { "data-testid": "replay-back", onclick: () => this.onExit() }, "Back to lobby");
    this.root = el(
      "section",
      { class: `game replay game-${stream.game}`, id: "game", "data-testid": "replay-screen" },
      el("div", { class: "replay-main" }, el("div", { class: "stage" }, this.view.root), controls),
      el("aside", { class: "side" }, info, this.view.panel, this.log, back),
    );
    this.offs.push(
      playback.on("tick", (t) => this.showTick(t)),
      playback.on("playing", (p) => {
        this.playButton.textContent = p ? "Pause" : "Play";
      }),
      playback.room.on("ended", () => this.notice("The game ended the room.")),
      startFrameLoop((now) => playback.update(now)),
    );
    this.showTick(playback.tick ?? stream.first);
  }

  dispose(): void {
    for (const off of this.offs) off();
    this.view.dispose();
    this.playback.dispose();
  }

  private toggle(): void {
    if (this.playback.playing) this.playback.pause();
    else this.playback.play(performance.now());
  }

  private toggleSpeed(): void {
    const fast = this.playback.speed === 1;
    this.playback.setSpeed(fast ? 2 : 1);
    this.speedButton.setAttribute("aria-pressed", String(fast));
    this.speedButton.classList.toggle("on", fast);
  }

  private showTick(tick: number): void {
    const s = this.playback.stream;
    this.seekBar.value = String(tick);
    this.time.textContent = `${clock((tick - s.first) / s.tickRate)} / ${clock((s.last - s.first) / s.tickRate)}`;
    this.time.dataset["tick"] = String(tick);
  }

  private notice(text: string): void {
    this.log.append(el("li", {}, text));
    while (this.log.childElementCount > LOG_LINES) this.log.firstElementChild?.remove();
  }
}
