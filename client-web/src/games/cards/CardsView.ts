/**
 * The cards table, in the DOM: the own hand (the `card` entities this seat sees) as buttons, the
 * top card and the suit to follow, every seat's card count and whose turn it is with the time
 * left, Start while the table waits, Draw, a suit chooser for eights, refusals from the rejected
 * command promises, a log of the game's events and the winner from `Ended`.
 *
 * Keyboard: digits pick a card of the hand (1 = leftmost), arrows move the selection, Enter
 * plays it, `d` draws; with the suit chooser open, 1-4 choose a suit and Escape cancels. Every
 * control is a button, so tapping works on touch screens.
 *
 * A spectator sees the table, the seats with their card counts, the turn and the log, and no
 * hand (the server never sends a spectator anyone's cards), no buttons and no keys.
 */
import { CommandLost, CommandRefused, Room, type RoomFeed, type Spectator } from "@tickroom/client";
import { colorOf } from "../../ui/colors";
import { el } from "../../ui/dom";
import type { GameContext, GameView } from "../GameModule";
import { eventText } from "./eventText";
import {
  cardLabel,
  EIGHT,
  isPlayable,
  isRed,
  playCommand,
  rankOf,
  remainingSeconds,
  sortHand,
  suitOf,
  SUITS,
  suitSymbol,
  winnerOf,
  type CardFields,
  type CardsCommand,
  type HandFields,
  type Suit,
  type TableFields,
} from "./rules";

/** Turn clock refresh period, ms. */
const CLOCK_MS = 250;
/** Log lines kept. */
const MAX_LOG = 50;

const isTextField = (t: EventTarget | null): boolean =>
  t instanceof HTMLElement && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.isContentEditable);

export class CardsView implements GameView {
  readonly root: HTMLElement;
  readonly panel: HTMLElement;
  /** What the room sends, for a player and a spectator alike. */
  private readonly room: RoomFeed;
  /** The player's seat, which commands go to; null for a spectator. */
  private readonly seat: Room<never, CardsCommand> | null;
  private readonly top = el("div", { class: "card big", "data-testid": "top-card" });
  private readonly follow = el("div", { class: "follow", "data-testid": "suit-to-follow" });
  private readonly stock = el("div", { class: "stock", "data-testid": "stock-count" });
  private readonly turn = el("p", { class: "turn", "data-testid": "turn-indicator", role: "status" });
  private readonly seats = el("ol", { class: "seats", "data-testid": "seats" });
  private readonly hand = el("div", { class: "hand", "data-testid": "hand", role: "group", "aria-label": "your hand" });
  private readonly chooser = el("div", { class: "suit-chooser hidden", "data-testid": "suit-chooser" });
  private readonly message = el("p", { class: "message", "data-testid": "cards-message", role: "alert" });
  private readonly log = el("ol", { class: "event-log", "data-testid": "event-log", "aria-live": "polite" });
  private readonly banner = el("div", { class: "winner hidden", "data-testid": "winner-banner" });
  private readonly startButton: HTMLButtonElement;
  private readonly drawButton: HTMLButtonElement;
  private readonly offs: Array<() => void> = [];
  private readonly clock: ReturnType<typeof setInterval>;
  /** Local time the last state arrived, to run the turn clock between states. */
  private stateAt = performance.now();
  private selected = 0;
  /** The eight waiting for its suit. */
  private pendingEight: number | null = null;
  private handKey = "";

  constructor(private readonly ctx: GameContext) {
    const room = ctx.room as Room<never, CardsCommand> | Spectator;
    this.room = room;
    this.seat = room instanceof Room ? room : null;
    const playing = this.seat !== null;
    this.startButton = el(
      "button",
      { class: "primary", "data-testid": "start-button", onclick: () => this.send({ type: "start" }) },
      "Start",
    );
    this.drawButton = el("button", { "data-testid": "draw-button", onclick: () => this.draw() }, "Draw (d)");
    this.chooser.append(
      el("span", {}, "Ask for: "),
      ...SUITS.map((suit, i) =>
        el(
          "button",
          {
            class: `suit ${isRed(suit) ? "red" : ""}`,
            "data-testid": `suit-choice-${suit}`,
            "aria-label": suit,
            onclick: () => this.chooseSuit(suit),
          },
          `${suitSymbol(suit)} ${i + 1}`,
        ),
      ),
      el("button", { class: "small", onclick: () => this.closeChooser() }, "Cancel"),
    );
    this.root = el(
      "div",
      { class: "cards-table", "data-testid": "cards-table" },
      this.banner,
      el("div", { class: "pile" }, el("div", { class: "pile-top" }, this.top, this.follow), this.stock),
      this.turn,
      ...(playing
        ? [
            el("div", { class: "table-actions" }, this.startButton, this.drawButton),
            this.chooser,
            this.message,
            el("h3", {}, "Your hand"),
            this.hand,
            el("p", { class: "help" }, "Digits or arrows + Enter to play, d to draw; tap a card on touch screens."),
          ]
        : []),
    );
    this.panel = el(
      "div",
      { class: "panel" },
      el("h3", {}, "Players"),
      this.seats,
      el("h3", {}, "Table log"),
      this.log,
    );
    if (playing) {
      const keydown = (e: KeyboardEvent): void => this.onKey(e);
      window.addEventListener("keydown", keydown);
      this.offs.push(() => window.removeEventListener("keydown", keydown));
    }
    this.offs.push(
      this.room.on("state", () => {
        this.stateAt = performance.now();
        this.render();
      }),
      this.room.on("roster", () => this.render()),
      this.room.on("welcome", () => this.render()),
      this.room.on("event", (e) => {
        const line = eventText(e.name, e.payload, (p) => this.nameOf(p));
        if (line) this.addLog(line);
      }),
      this.room.on("ended", ({ result }) => this.showWinner(result)),
    );
    this.clock = setInterval(() => this.renderTurn(), CLOCK_MS);
    if (this.room.result !== undefined) this.showWinner(this.room.result);
    this.render();
  }

  dispose(): void {
    clearInterval(this.clock);
    for (const off of this.offs) off();
  }

  private table(): TableFields | null {
    return this.room.replica.entities<TableFields>("table")[0]?.toObject() ?? null;
  }

  /** The own cards, in display order. */
  private myCards(): number[] {
    const me = this.room.player;
    return sortHand(
      this.room.replica
        .entities<CardFields>("card")
        .filter((c) => c.get("owner") === me)
        .map((c) => c.get("card")),
    );
  }

  private nameOf(player: number): string {
    if (player === this.room.player) return "you";
    return this.room.roster.find((p) => p.player === player)?.name ?? `player ${player}`;
  }

  private myTurn(table: TableFields | null): boolean {
    return table !== null && table.phase === "playing" && table.turn === this.room.player;
  }

  private render(): void {
    const table = this.table();
    if (table) {
      this.top.textContent = table.phase === "waiting" ? "?" : cardLabel(table.top);
      this.top.dataset["card"] = String(table.top);
      this.top.classList.toggle("red", table.phase !== "waiting" && isRed(suitOf(table.top)));
      this.follow.textContent = table.phase === "playing" ? `Follow ${suitSymbol(table.suit)} ${table.suit}` : "";
      this.follow.dataset["suit"] = table.suit;
      this.stock.textContent = `Stock: ${table.stock}`;
      this.stock.dataset["count"] = String(table.stock);
    }
    const waiting = !table || table.phase === "waiting";
    this.startButton.hidden = !waiting;
    this.drawButton.disabled = !this.myTurn(table);
    this.renderSeats(table);
    this.renderHand(table);
    this.renderTurn();
  }

  private renderSeats(table: TableFields | null): void {
    const counts = new Map(
      this.room.replica.entities<HandFields>("hand").map((h) => [h.get("player"), h.get("cards")]),
    );
    this.seats.replaceChildren(
      ...this.room.roster.map((p) => {
        const turn = table?.phase === "playing" && table.turn === p.player;
        const n = counts.get(p.player) ?? 0;
        return el(
          "li",
          {
            class: `${turn ? "turn" : ""} ${p.connected ? "" : "away"} ${p.player === this.room.player ? "self" : ""}`,
            "data-testid": "seat",
            "data-player": p.player,
            "data-cards": n,
          },
          el("span", { class: "dot", style: `background:${colorOf(p.player)}` }),
          el("span", { class: "who" }, `${turn ? "▶ " : ""}${p.name}${p.player === this.room.player ? " (you)" : ""}`),
          el("span", { class: "count" }, `${n} card${n === 1 ? "" : "s"}`),
        );
      }),
    );
  }

  private renderHand(table: TableFields | null): void {
    const cards = this.myCards();
    const mine = this.myTurn(table);
    const key = JSON.stringify([cards, mine, table?.top, table?.suit, this.selected]);
    if (key === this.handKey) return;
    this.handKey = key;
    if (this.selected >= cards.length) this.selected = Math.max(0, cards.length - 1);
    this.hand.replaceChildren(
      ...cards.map((card, i) => {
        const playable = table !== null && table.phase === "playing" && isPlayable(card, table.top, table.suit);
        return el(
          "button",
          {
            class: `card ${isRed(suitOf(card)) ? "red" : ""} ${playable && mine ? "playable" : ""} ${i === this.selected ? "selected" : ""}`,
            "data-testid": "hand-card",
            "data-card": card,
            "data-playable": playable,
            "aria-label": `${cardLabel(card)}${i < 9 ? `, key ${i + 1}` : ""}`,
            onclick: () => this.play(card),
          },
          cardLabel(card),
        );
      }),
    );
    if (cards.length === 0) this.hand.append(el("p", { class: "muted" }, "No cards yet."));
  }

  private renderTurn(): void {
    const table = this.table();
    let text: string;
    if (!table || table.phase === "waiting") {
      const start = this.seat ? " Anyone can press Start (at least 2)." : "";
      text = `Waiting for players: ${this.room.roster.length} seated.${start}`;
    } else if (table.phase === "finished") {
      text = "Game over.";
    } else {
      const left = remainingSeconds(
        table.deadline,
        this.room.replica.tick ?? 0,
        this.room.info?.tickRate ?? 10,
        performance.now() - this.stateAt,
      );
      const whose = this.myTurn(table) ? "Your turn" : `${this.nameOf(table.turn)}'s turn`;
      text = `${whose}: ${Math.ceil(left)} s left`;
    }
    this.turn.textContent = text;
    this.turn.dataset["myTurn"] = String(this.myTurn(table));
    this.turn.classList.toggle("mine", this.myTurn(table));
  }

  private play(card: number): void {
    this.selected = Math.max(0, this.myCards().indexOf(card));
    if (rankOf(card) === EIGHT) {
      this.pendingEight = card;
      this.chooser.classList.remove("hidden");
      return;
    }
    this.send(playCommand(card));
  }

  private chooseSuit(suit: Suit): void {
    const card = this.pendingEight;
    this.closeChooser();
    if (card !== null) this.send(playCommand(card, suit));
  }

  private closeChooser(): void {
    this.pendingEight = null;
    this.chooser.classList.add("hidden");
  }

  private draw(): void {
    this.send({ type: "draw" });
  }

  /** Sends a command; a refusal (or a lost connection) is shown as the message. */
  private send(command: CardsCommand): void {
    if (!this.seat) return;
    this.message.textContent = "";
    this.message.classList.remove("refused");
    this.seat.command(command).then(
      () => undefined,
      (e: unknown) => {
        if (e instanceof CommandRefused) {
          this.message.textContent = e.reason || e.refusal;
          this.message.dataset["refusal"] = e.refusal;
        } else if (e instanceof CommandLost) {
          this.message.textContent = "Not connected: try again in a moment.";
          this.message.dataset["refusal"] = "lost";
        } else {
          this.message.textContent = e instanceof Error ? e.message : String(e);
        }
        this.message.classList.add("refused");
      },
    );
  }

  private onKey(e: KeyboardEvent): void {
    if (isTextField(e.target) || e.ctrlKey || e.metaKey || e.altKey) return;
    if (this.pendingEight !== null) {
      const suit = SUITS[Number(e.key) - 1];
      if (suit) this.chooseSuit(suit);
      else if (e.key === "Escape") this.closeChooser();
      else return;
      e.preventDefault();
      return;
    }
    const cards = this.myCards();
    if (/^[1-9]$/.test(e.key)) {
      const card = cards[Number(e.key) - 1];
      if (card !== undefined) this.play(card);
    } else if (e.key === "ArrowLeft" || e.key === "ArrowRight") {
      const step = e.key === "ArrowLeft" ? -1 : 1;
      this.selected = cards.length === 0 ? 0 : (this.selected + step + cards.length) % cards.length;
      this.renderHand(this.table());
    } else if (e.key === "Enter") {
      const card = cards[this.selected];
      if (card !== undefined) this.play(card);
    } else if (e.key === "d" || e.key === "D") {
      this.draw();
    } else {
      return;
    }
    e.preventDefault();
  }

  private addLog(line: string): void {
    this.log.prepend(el("li", {}, line));
    while (this.log.childElementCount > MAX_LOG) this.log.lastElementChild?.remove();
  }

  private showWinner(result: unknown): void {
    const w = winnerOf(result);
    const text = w ? (w.winner === this.room.player ? "You win!" : `${w.name} wins!`) : "The game is over.";
    this.banner.textContent = text;
    this.banner.dataset["winner"] = w ? String(w.winner) : "";
    this.banner.classList.remove("hidden");
    this.ctx.notice(text);
  }
}
