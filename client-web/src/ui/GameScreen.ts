/**
 * The screen of a joined room, for every game: the game's view in the stage, the status overlay
 * (reconnecting, closed), and a side panel with the share link, the HUD, the game's own panel,
 * the chat and Leave. Roster changes and connection events become lines in the chat log.
 *
 * A spectator (`#watch=ID`) gets the same screen drawn by the game's own view without its
 * controls, a "Watching room N — K players" banner above it, the chat read-only, a watch
 * link to share, and "Stop watching" for Leave.
 */
import { Room, type RoomStatus, type RosterEntry, type Spectator } from "@tickroom/client";
import type { GameModule, GameView } from "../games/GameModule";
import { ChatBox } from "./ChatBox";
import { el, shareLink, watchLink } from "./dom";
import { Hud } from "./Hud";
import { UnknownGameView } from "./UnknownGameView";

/** HUD refresh period, ms. */
const HUD_REFRESH_MS = 250;

export class GameScreen {
  readonly root: HTMLElement;
  readonly view: GameView;
  private readonly hud: Hud;
  private readonly chat: ChatBox;
  private readonly overlay: HTMLElement;
  private readonly share: HTMLElement;
  /** "Watching room N — K players"; null for a player. */
  private readonly banner: HTMLElement | null;
  private readonly offs: Array<() => void> = [];
  private readonly hudTimer: ReturnType<typeof setInterval>;
  private knownPlayers = new Map<number, RosterEntry>();
  /** The next roster is a baseline (first one, or a new seat): no join/leave notices for it. */
  private baselineRoster: boolean;

  constructor(
    /** A player's seat, or a spectator's view of the room. */
    readonly room: Room | Spectator,
    game: GameModule | null,
    /** Back to the lobby (after leaving, or once the room is closed). */
    private readonly onExit: (message: string | null) => void,
    /** Origins to build share links from (the LAN addresses first when the server has them). */
    private readonly shareOrigins: string[],
    interpolationDelayMs: number,
  ) {
    const seat = room instanceof Room ? room : null;
    this.chat = new ChatBox(seat);
    const ctx = { room, notice: (text: string) => this.chat.notice(text), interpolationDelayMs };
    this.view = game ? game.createView(ctx) : new UnknownGameView(room);
    this.overlay = el("div", { class: "overlay hidden", id: "overlay", "data-testid": "overlay", role: "alert" });
    this.banner = seat ? null : el("div", { class: "watch-banner", "data-testid": "spectator-banner", role: "status" });
    // A spectator's banner is a bar above the game's view, so it hides nothing the view draws.
    const stage = this.banner
      ? el(
          "div",
          { class: "stage watching" },
          this.banner,
          el("div", { class: "stage-view" }, this.view.root, this.overlay),
        )
      : el("div", { class: "stage" }, this.view.root, this.overlay);
    this.hud = new Hud(room);
    this.share = el("div", { class: "share", id: "share" });
    const leave = el(
      "button",
      { id: "leave", "data-testid": "leave-button", onclick: () => this.leave() },
      seat ? "Leave" : "Stop watching",
    );
    this.root = el(
      "section",
      {
        class: `game game-${room.info?.game ?? "unknown"}${seat ? "" : " watching"}`,
        id: "game",
        "data-testid": "game-screen",
        "data-role": seat ? "player" : "spectator",
      },
      stage,
      el("aside", { class: "side" }, this.share, this.hud.root, this.view.panel, this.chat.root, leave),
    );
    this.updateShare();
    this.updateBanner();
    this.knownPlayers = new Map(room.roster.map((p) => [p.player, p]));
    this.baselineRoster = room.roster.length === 0;
    this.offs.push(
      room.on("status", (s) => this.onStatus(s)),
      room.on("welcome", ({ resumed }) => {
        this.updateShare();
        this.updateBanner();
        if (!seat) {
          this.chat.notice("Reconnected: watching again.");
        } else if (resumed) {
          this.chat.notice("Reconnected: your seat was resumed.");
        } else {
          this.baselineRoster = true;
          this.chat.notice(
            `Reconnected, but the seat could not be resumed (the server may have restarted): you are now in room ${room.id} as a new player.`,
          );
        }
      }),
      room.on("roster", (players) => {
        this.onRoster(players);
        this.updateBanner();
      }),
      room.on("chat", (c) => this.chat.line(c.name, c.text, c.player === room.player)),
      room.on("error", (e) => this.chat.notice(e.text)),
    );
    // Enter outside a text field opens the chat line (Escape leaves it), except where the game
    // uses Enter itself; a spectator has no chat line to open.
    const enter = (e: KeyboardEvent): void => {
      if (e.key === "Enter" && !(e.target instanceof HTMLInputElement) && room.info?.game !== "cards") {
        this.chat.input.focus();
        e.preventDefault();
      }
    };
    if (seat) {
      window.addEventListener("keydown", enter);
      this.offs.push(() => window.removeEventListener("keydown", enter));
    }
    this.chat.notice(
      seat
        ? `You are in room ${room.id}. Share the link to play together.`
        : `You are watching room ${room.id}: you see the game, and the players do not see you.`,
    );
    if (game && seat) this.chat.notice(game.help);
    this.onStatus(room.status);
    this.hudTimer = setInterval(() => this.hud.update(performance.now()), HUD_REFRESH_MS);
    this.hud.update(performance.now());
  }

  dispose(): void {
    clearInterval(this.hudTimer);
    for (const off of this.offs) off();
    this.view.dispose();
  }

  private leave(): void {
    this.room.leave();
    this.onExit(null);
  }

  /** The share link: a player's invites to play, a spectator's to watch along. */
  private updateShare(): void {
    const id = this.room.id;
    if (id === null) return;
    const watching = !(this.room instanceof Room);
    const link = watching ? watchLink : shareLink;
    const links = this.shareOrigins.map((origin) => link(id, origin));
    const first = links[0] ?? link(id);
    const copy = el("button", { class: "small", onclick: () => void this.copy(first, copy) }, "Copy");
    this.share.replaceChildren(
      el("h3", {}, `Room #${id} · ${this.room.info?.game ?? ""}`),
      el(
        "a",
        { href: first, id: "share-link", "data-testid": watching ? "watch-link" : "room-link", "data-room": id },
        first,
      ),
      " ",
      copy,
      ...links.slice(1).map((l) => el("div", { class: "muted" }, "or ", el("a", { href: l }, l))),
    );
    const hash = watching ? `#watch=${id}` : `#room=${id}`;
    if (location.hash !== hash) history.replaceState(null, "", hash);
  }

  private updateBanner(): void {
    if (!this.banner) return;
    const n = this.room.roster.length;
    this.banner.textContent = `Watching room ${this.room.id ?? "?"} — ${n} player${n === 1 ? "" : "s"}`;
    this.banner.dataset["players"] = String(n);
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

  private onRoster(players: readonly RosterEntry[]): void {
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
    o.dataset["state"] = s.state;
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
        // After Ended the game's own result stays readable: the overlay is a bar, not a curtain.
        o.classList.toggle("ended", this.room.result !== undefined);
        o.replaceChildren(
          el("h2", {}, this.room.result !== undefined ? "Game over" : "Disconnected"),
          el("p", {}, s.text),
          el("button", { class: "primary", onclick: () => this.onExit(s.text) }, "Back to lobby"),
        );
        return;
    }
  }
}
