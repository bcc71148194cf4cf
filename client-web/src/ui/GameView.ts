/**
 * The game screen: the canvas with the touch stick, the status overlay, and a side panel with the
 * share link, HUD, scoreboard and chat. Runs the frame loop while it is shown.
 */
import { ArenaGame, type ArenaGameOptions } from "../game/ArenaGame";
import { Controls } from "../input/Controls";
import type { RosterEntry } from "../net/codec";
import { Renderer } from "../render/Renderer";
import type { Room, RoomStatus } from "../Room";
import { ChatBox } from "./ChatBox";
import { el, shareLink } from "./dom";
import { Hud } from "./Hud";
import { Scoreboard } from "./Scoreboard";

/** HUD and scoreboard refresh period, ms. */
const PANEL_REFRESH_MS = 250;

export class GameView {
  readonly root: HTMLElement;
  readonly game: ArenaGame;
  private readonly renderer: Renderer;
  private readonly controls: Controls;
  private readonly hud: Hud;
  private readonly scoreboard: Scoreboard;
  private readonly chat: ChatBox;
  private readonly overlay: HTMLElement;
  private readonly share: HTMLElement;
  private readonly offs: Array<() => void> = [];
  private frameId: number | null = null;
  private lastPanel = 0;
  private knownPlayers = new Map<number, RosterEntry>();
  /** The next roster is a baseline (first one, or a new seat): no join/leave notices for it. */
  private baselineRoster: boolean;

  constructor(
    readonly room: Room,
    /** Back to the lobby (after leaving, or once the room is closed). */
    private readonly onExit: (message: string | null) => void,
    options: ArenaGameOptions = {},
    /** Origins to build share links from (the LAN addresses first when the server has them). */
    private readonly shareOrigins: string[] = [location.origin],
  ) {
    const canvas = el("canvas", { id: "arena", "aria-label": "arena" });
    const stage = el("div", { class: "stage" }, canvas);
    this.overlay = el("div", { class: "overlay hidden", id: "overlay", role: "alert" });
    stage.append(this.overlay);
    this.renderer = new Renderer(canvas);
    this.controls = new Controls(stage);
    this.game = new ArenaGame(room, options);
    this.hud = new Hud(room);
    this.scoreboard = new Scoreboard(room);
    this.chat = new ChatBox(room);
    this.share = el("div", { class: "share", id: "share" });
    const leave = el("button", { id: "leave", onclick: () => this.leave() }, "Leave");
    this.root = el(
      "section",
      { class: "game", id: "game" },
      stage,
      el("aside", { class: "side" }, this.share, this.hud.root, this.scoreboard.root, this.chat.root, leave),
    );
    this.updateShare();
    this.knownPlayers = new Map(room.roster.map((p) => [p.player, p]));
    this.baselineRoster = room.roster.length === 0;
    this.offs.push(
      room.on("status", (s) => this.onStatus(s)),
      room.on("join", ({ resumed }) => {
        this.updateShare();
        if (resumed) {
          this.chat.notice("Reconnected: your seat was resumed.");
        } else {
          this.baselineRoster = true;
          this.chat.notice(
            `Reconnected, but the seat could not be resumed (the server may have restarted): you are now in room ${room.id} as a new player.`,
          );
        }
      }),
      room.on("roster", (players) => this.onRoster(players)),
      room.on("chat", (c) => this.chat.line(c.name, c.text, c.player === room.seat?.player)),
      room.on("error", (e) => this.chat.notice(e.text)),
    );
    const release = (): void => this.game.release();
    const visibility = (): void => {
      if (document.hidden) release();
    };
    // Enter outside a text field opens the chat line (Escape leaves it).
    const enter = (e: KeyboardEvent): void => {
      if (e.key === "Enter" && !(e.target instanceof HTMLInputElement)) {
        this.chat.input.focus();
        e.preventDefault();
      }
    };
    window.addEventListener("keydown", enter);
    this.offs.push(() => window.removeEventListener("keydown", enter));
    window.addEventListener("blur", release);
    document.addEventListener("visibilitychange", visibility);
    this.offs.push(
      () => window.removeEventListener("blur", release),
      () => document.removeEventListener("visibilitychange", visibility),
    );
    this.chat.notice(`You are in room ${room.id}. Share the link to play together.`);
    if (room.seat && room.seat.game !== "arena") {
      this.chat.notice(
        `This client draws the arena game; this server runs "${room.seat.game}", so the view may be wrong.`,
      );
    }
    this.onStatus(room.status);
    this.frameId = requestAnimationFrame((t) => this.frame(t));
  }

  dispose(): void {
    if (this.frameId !== null) cancelAnimationFrame(this.frameId);
    this.frameId = null;
    for (const off of this.offs) off();
    this.game.dispose();
    this.controls.dispose();
  }

  private leave(): void {
    this.room.leave();
    this.onExit(null);
  }

  private frame(nowMs: number): void {
    this.frameId = requestAnimationFrame((t) => this.frame(t));
    const sprites = this.game.frame(nowMs, this.controls.direction());
    this.renderer.draw(sprites);
    if (nowMs - this.lastPanel >= PANEL_REFRESH_MS) {
      this.lastPanel = nowMs;
      this.hud.update(nowMs, this.game.prediction.unacked);
      this.scoreboard.update();
    }
  }

  private updateShare(): void {
    const id = this.room.id;
    if (id === null) return;
    const links = this.shareOrigins.map((origin) => shareLink(id, origin));
    const first = links[0] ?? shareLink(id);
    const copy = el("button", { class: "small", onclick: () => void this.copy(first, copy) }, "Copy");
    this.share.replaceChildren(
      el("h3", {}, `Room #${id}`),
      el("a", { href: first, id: "share-link" }, first),
      " ",
      copy,
      ...links.slice(1).map((l) => el("div", { class: "muted" }, "or ", el("a", { href: l }, l))),
    );
    if (location.hash !== `#room=${id}`) history.replaceState(null, "", `#room=${id}`);
  }

  /** Copies the link; where the clipboard API is unavailable (plain http on a LAN address is not a
   * secure context), selects the link so Ctrl+C copies it. */
  private async copy(link: string, button: HTMLButtonElement): Promise<void> {
    try {
      if (!navigator.clipboard) throw new Error("no clipboard");
      await navigator.clipboard.writeText(link);
      button.textContent = "Copied";
    } catch {
      const anchor = this.share.querySelector("#share-link");
      const selection = window.getSelection();
      if (anchor && selection) {
        const range = document.createRange();
        range.selectNodeContents(anchor);
        selection.removeAllRanges();
        selection.addRange(range);
      }
      button.textContent = "Press Ctrl+C";
    }
    setTimeout(() => (button.textContent = "Copy"), 2000);
  }

  private onRoster(players: RosterEntry[]): void {
    const next = new Map(players.map((p) => [p.player, p]));
    if (this.baselineRoster) {
      this.baselineRoster = false;
      this.knownPlayers = next;
      return;
    }
    for (const [id, p] of next) {
      const before = this.knownPlayers.get(id);
      if (!before) this.chat.notice(`${p.name} joined.`);
      else if (before.connected && !p.connected) this.chat.notice(`${p.name} lost the connection.`);
      else if (!before.connected && p.connected) this.chat.notice(`${p.name} is back.`);
    }
    for (const [id, p] of this.knownPlayers) if (!next.has(id)) this.chat.notice(`${p.name} left.`);
    this.knownPlayers = next;
  }

  private onStatus(s: RoomStatus): void {
    const o = this.overlay;
    switch (s.state) {
      case "connected":
      case "joining":
        o.classList.add("hidden");
        o.replaceChildren();
        return;
      case "reconnecting":
        o.classList.remove("hidden");
        o.replaceChildren(
          el("h2", {}, "Connection lost"),
          el("p", {}, s.text),
          el("p", {}, `Reconnecting (attempt ${s.attempt}, in ${(s.retryInMs / 1000).toFixed(1)} s)…`),
          el("button", { onclick: () => this.leave() }, "Back to lobby"),
        );
        if (s.attempt === 1) this.chat.notice(`Connection lost: ${s.text} Reconnecting…`);
        return;
      case "closed":
        o.classList.remove("hidden");
        o.replaceChildren(
          el("h2", {}, "Disconnected"),
          el("p", {}, s.text),
          el("button", { class: "primary", onclick: () => this.onExit(s.text) }, "Back to lobby"),
        );
        return;
    }
  }
}
