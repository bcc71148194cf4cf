/**
 * The lobby: player name, quick play, create room, the room list (refreshed from /api/rooms),
 * an invited room from a share link, and the LAN address when the server offers one.
 */
import type { Client, RoomListing } from "../Client";
import { MAX_NAME_BYTES } from "../generated/protocol";
import { el } from "./dom";

export interface LobbyActions {
  quickPlay(name: string): void;
  create(name: string): void;
  join(name: string, room: number): void;
}

/** Room list refresh period, ms. */
const REFRESH_MS = 2000;
const NAME_KEY = "tickroom.name";

function savedName(): string {
  try {
    const saved = localStorage.getItem(NAME_KEY);
    if (saved) return saved;
  } catch {
    // Storage can be disabled (private mode); a random name will do.
  }
  return `player-${Math.floor(100 + Math.random() * 900)}`;
}

export class LobbyView {
  readonly root: HTMLElement;
  private readonly nameInput: HTMLInputElement;
  private readonly list: HTMLElement;
  private readonly message: HTMLElement;
  private readonly lan: HTMLElement;
  private timer: ReturnType<typeof setInterval> | null = null;
  private busy = false;

  constructor(
    private readonly client: Client,
    private readonly actions: LobbyActions,
    invitedRoom: number | null,
    message: string | null,
  ) {
    this.nameInput = el("input", {
      id: "name",
      type: "text",
      maxlength: MAX_NAME_BYTES,
      autocomplete: "nickname",
      placeholder: "your name",
      value: savedName(),
    });
    this.list = el("div", { class: "room-list", id: "room-list" }, "Loading rooms…");
    this.message = el("p", { class: "message", id: "lobby-message", role: "status" }, message ?? "");
    this.lan = el("p", { class: "lan", id: "lan" });
    const invite =
      invitedRoom !== null
        ? el(
            "div",
            { class: "invite" },
            el("p", {}, `You were invited to room ${invitedRoom}.`),
            el(
              "button",
              { id: "join-invited", class: "primary", onclick: () => this.go((n) => actions.join(n, invitedRoom)) },
              `Join room ${invitedRoom}`,
            ),
          )
        : null;
    this.root = el(
      "section",
      { class: "lobby", id: "lobby" },
      el("h1", {}, "tickroom ", el("span", { class: "sub" }, "arena")),
      el("p", { class: "tagline" }, "Walk around, collect the orbs, play with friends on your network."),
      el("label", { for: "name" }, "Name"),
      this.nameInput,
      invite,
      el(
        "div",
        { class: "actions" },
        el(
          "button",
          { id: "quick-play", class: invite ? "" : "primary", onclick: () => this.go((n) => actions.quickPlay(n)) },
          "Quick play",
        ),
        el("button", { id: "create-room", onclick: () => this.go((n) => actions.create(n)) }, "Create room"),
      ),
      this.message,
      el("h2", {}, "Rooms"),
      this.list,
      this.lan,
      el("p", { class: "help" }, "Move with WASD or the arrow keys, or the stick on touch screens."),
    );
    this.nameInput.addEventListener("keydown", (e) => {
      if (e.key === "Enter")
        this.go((n) => (invitedRoom !== null ? actions.join(n, invitedRoom) : actions.quickPlay(n)));
    });
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), REFRESH_MS);
    void this.showLan();
  }

  /** Shows a message (a failed join) and re-enables the buttons. */
  showMessage(text: string): void {
    this.message.textContent = text;
    this.setBusy(false);
  }

  dispose(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private name(): string {
    const name = this.nameInput.value.trim() || "player";
    try {
      localStorage.setItem(NAME_KEY, name);
    } catch {
      // Not remembered; fine.
    }
    return name;
  }

  private go(action: (name: string) => void): void {
    if (this.busy) return;
    this.setBusy(true);
    this.message.textContent = "Joining…";
    action(this.name());
  }

  private setBusy(busy: boolean): void {
    this.busy = busy;
    for (const b of this.root.querySelectorAll("button")) b.disabled = busy;
  }

  private async refresh(): Promise<void> {
    let rooms: RoomListing[];
    try {
      rooms = await this.client.rooms();
    } catch {
      this.list.replaceChildren(el("p", { class: "muted" }, "Cannot reach the server."));
      return;
    }
    if (rooms.length === 0) {
      this.list.replaceChildren(el("p", { class: "muted" }, "No rooms yet: quick play opens one."));
      return;
    }
    const rows = rooms.map((r) => {
      const full = r.players >= r.capacity;
      const button = el(
        "button",
        { class: "small", "data-room": r.id, onclick: () => this.go((n) => this.actions.join(n, r.id)) },
        full ? "Full" : "Join",
      );
      button.disabled = full || this.busy;
      return el(
        "tr",
        {},
        el("td", {}, `#${r.id}`),
        el("td", {}, r.game),
        el("td", {}, `${r.players}/${r.capacity}`),
        el("td", {}, `${r.tick_rate} Hz`),
        el("td", {}, button),
      );
    });
    this.list.replaceChildren(
      el(
        "table",
        {},
        el(
          "thead",
          {},
          el(
            "tr",
            {},
            el("th", {}, "Room"),
            el("th", {}, "Game"),
            el("th", {}, "Players"),
            el("th", {}, "Tick"),
            el("th", {}),
          ),
        ),
        el("tbody", {}, ...rows),
      ),
    );
  }

  private async showLan(): Promise<void> {
    try {
      const info = await this.client.info();
      if (info.lan_urls.length > 0) {
        this.lan.replaceChildren(
          "Friends on your network can open: ",
          ...info.lan_urls.flatMap((u, i) => [i > 0 ? " or " : "", el("a", { href: u }, u)]),
        );
      }
    } catch {
      // No info: nothing to show.
    }
  }
}
