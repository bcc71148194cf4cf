/**
 * The lobby: the player's name, one card per game the server runs (from `/api/info`) with quick
 * play and create (and the game's choices, such as the cards mode), the room list of every game
 * (refreshed from `/api/rooms`) with each room's spectators and a Watch link (`#watch=ID`, which
 * the App follows), the server's recordings when it has any (`/api/replays`, each a
 * `#replay=NAME` link), an invited room from a `#room=ID` link, and, when the server
 * listens on every interface, its LAN addresses with a QR code of the first, so a phone on the
 * same network joins by pointing its camera at the screen.
 */
import {
  MAX_NAME_BYTES,
  PROTOCOL_VERSION,
  type Client,
  type ReplayListing,
  type RoomListing,
  type ServerInfo,
} from "@tickroom/client";
import { toString as qrSvg } from "qrcode";
import type { GameModule } from "../games/GameModule";
import { el, replayLink, watchLink } from "./dom";

/** How the player wants to join. */
export type JoinChoice =
  | { kind: "quick"; game: string; choices: Record<string, string> }
  | { kind: "create"; game: string; choices: Record<string, string> }
  | { kind: "join"; room: number };

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
  private readonly gamesBox: HTMLElement;
  private readonly list: HTMLElement;
  private readonly message: HTMLElement;
  private readonly lan: HTMLElement;
  private readonly replays: HTMLElement;
  private timer: ReturnType<typeof setInterval> | null = null;
  private busy = false;
  private info: ServerInfo | null = null;

  constructor(
    private readonly client: Client,
    private readonly modules: ReadonlyMap<string, GameModule>,
    private readonly onJoin: (name: string, choice: JoinChoice) => void,
    invitedRoom: number | null,
    message: string | null,
  ) {
    this.nameInput = el("input", {
      id: "name",
      "data-testid": "name-input",
      type: "text",
      maxlength: MAX_NAME_BYTES,
      autocomplete: "nickname",
      placeholder: "your name",
      value: savedName(),
    });
    this.gamesBox = el(
      "div",
      { class: "games", "data-testid": "games" },
      el("p", { class: "muted" }, "Loading games…"),
    );
    this.list = el("div", { class: "room-list", id: "room-list", "data-testid": "room-list" }, "Loading rooms…");
    this.message = el(
      "p",
      { class: "message", id: "lobby-message", "data-testid": "lobby-message", role: "status" },
      message ?? "",
    );
    this.lan = el("p", { class: "lan", id: "lan", "data-testid": "lan-urls" });
    this.replays = el("div", { class: "replay-list hidden", "data-testid": "replay-list" });
    const invite =
      invitedRoom !== null
        ? el(
            "div",
            { class: "invite" },
            el("p", {}, `You were invited to room ${invitedRoom}.`),
            el(
              "button",
              {
                id: "join-invited",
                "data-testid": "join-invited",
                class: "primary",
                onclick: () => this.go({ kind: "join", room: invitedRoom }),
              },
              `Join room ${invitedRoom}`,
            ),
          )
        : null;
    this.root = el(
      "section",
      { class: "lobby", id: "lobby", "data-testid": "lobby" },
      el("h1", {}, "tickroom"),
      el("p", { class: "tagline" }, "Realtime games in the browser, with friends on your network."),
      el("label", { for: "name" }, "Name"),
      this.nameInput,
      invite,
      this.message,
      el("h2", {}, "Games"),
      this.gamesBox,
      el("h2", {}, "Rooms"),
      this.list,
      this.replays,
      this.lan,
    );
    this.nameInput.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && invitedRoom !== null) this.go({ kind: "join", room: invitedRoom });
    });
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), REFRESH_MS);
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

  private go(choice: JoinChoice): void {
    if (this.busy) return;
    this.setBusy(true);
    this.message.textContent = "Joining…";
    this.onJoin(this.name(), choice);
  }

  private setBusy(busy: boolean): void {
    this.busy = busy;
    for (const b of this.root.querySelectorAll("button")) {
      if (!b.dataset["unavailable"]) b.disabled = busy;
    }
  }

  private async refresh(): Promise<void> {
    // The games list changes only with the server: fetched until it arrives once.
    if (!this.info) {
      try {
        this.info = await this.client.info();
        this.showGames(this.info);
        void this.showLan(this.info.lanUrls);
      } catch (e) {
        this.gamesBox.replaceChildren(
          el(
            "p",
            { class: "muted" },
            `Cannot read the server's games (${e instanceof Error ? e.message : String(e)}).`,
          ),
        );
      }
    }
    void this.refreshReplays();
    let rooms: RoomListing[];
    try {
      rooms = await this.client.rooms();
    } catch {
      this.list.replaceChildren(el("p", { class: "muted" }, "Cannot reach the server."));
      return;
    }
    this.showRooms(rooms);
  }

  private async refreshReplays(): Promise<void> {
    let replays: ReplayListing[];
    try {
      replays = await this.client.replays();
    } catch {
      // An older server, or none reachable: the room list says so already.
      replays = [];
    }
    this.showReplays(replays);
  }

  /** The recordings, when there are any: game, room, length, start, and a link to watch. */
  private showReplays(replays: ReplayListing[]): void {
    this.replays.classList.toggle("hidden", replays.length === 0);
    if (replays.length === 0) {
      this.replays.replaceChildren();
      return;
    }
    const rows = replays.map((r) =>
      el(
        "tr",
        { "data-testid": "replay-row", "data-name": r.name, "data-game": r.game },
        el("td", {}, this.modules.get(r.game)?.title ?? r.game),
        el("td", {}, `#${r.room}`),
        el("td", {}, `${r.durationSecs.toFixed(1)} s`),
        el("td", { class: "muted" }, new Date(r.startedMs).toLocaleString()),
        el("td", { class: "muted" }, r.complete ? "" : "recording"),
        el("td", {}, el("a", { href: replayLink(r.name), "data-testid": "replay-link", "data-name": r.name }, "Watch")),
      ),
    );
    this.replays.replaceChildren(
      el("h2", {}, "Replays"),
      el(
        "table",
        {},
        el("thead", {}, el("tr", {}, ...["Game", "Room", "Length", "Started", "", ""].map((h) => el("th", {}, h)))),
        el("tbody", {}, ...rows),
      ),
    );
  }

  private showGames(info: ServerInfo): void {
    if (info.protocolVersion !== PROTOCOL_VERSION) {
      this.gamesBox.replaceChildren(
        el(
          "p",
          { class: "message" },
          `This server speaks protocol ${info.protocolVersion}; this page speaks ${PROTOCOL_VERSION}. Reload the page.`,
        ),
      );
      return;
    }
    this.gamesBox.replaceChildren(...info.games.map((g) => this.gameCard(g.name, g.tickRate, g.capacity, g.onChange)));
  }

  private gameCard(name: string, tickRate: number, capacity: number, onChange: boolean): HTMLElement {
    const module = this.modules.get(name);
    const selects = (module?.choices ?? []).map((c) => ({
      key: c.key,
      select: el(
        "select",
        { "data-testid": `${name}-${c.key}`, "aria-label": `${module?.title ?? name} ${c.label}` },
        ...c.values.map((v) => el("option", { value: v }, v)),
      ),
      label: c.label,
    }));
    const chosen = (): Record<string, string> => Object.fromEntries(selects.map((s) => [s.key, s.select.value]));
    return el(
      "article",
      { class: "game-card", "data-testid": `game-${name}`, "data-game": name },
      el("h3", {}, module?.title ?? name),
      el("p", {}, module?.blurb ?? "This page has no view for this game; it shows its raw state."),
      el("p", { class: "muted" }, `${tickRate} Hz${onChange ? ", on change" : ""} · up to ${capacity} players`),
      ...selects.map((s) => el("label", { class: "choice" }, `${s.label} `, s.select)),
      el(
        "div",
        { class: "actions" },
        el(
          "button",
          {
            class: "primary",
            "data-testid": `quick-play-${name}`,
            onclick: () => this.go({ kind: "quick", game: name, choices: chosen() }),
          },
          "Quick play",
        ),
        el(
          "button",
          {
            "data-testid": `create-${name}`,
            onclick: () => this.go({ kind: "create", game: name, choices: chosen() }),
          },
          "Create room",
        ),
      ),
    );
  }

  private showRooms(rooms: RoomListing[]): void {
    if (rooms.length === 0) {
      this.list.replaceChildren(el("p", { class: "muted" }, "No rooms yet: quick play opens one."));
      return;
    }
    const rows = rooms.map((r) => {
      const full = r.players >= r.capacity;
      const unavailable = full || r.locked;
      const button = el(
        "button",
        { class: "small", "data-testid": `join-room-${r.id}`, onclick: () => this.go({ kind: "join", room: r.id }) },
        full ? "Full" : r.locked ? "Locked" : "Join",
      );
      if (unavailable) button.dataset["unavailable"] = "true";
      button.disabled = unavailable || this.busy;
      const meta = Object.entries(r.metadata)
        .map(([k, v]) => `${k}: ${v}`)
        .join(", ");
      return el(
        "tr",
        { "data-testid": "room-row", "data-room": r.id, "data-game": r.game },
        el("td", {}, `#${r.id}`),
        el("td", {}, this.modules.get(r.game)?.title ?? r.game),
        el("td", {}, `${r.players}/${r.capacity}`),
        el(
          "td",
          { "data-testid": `room-spectators-${r.id}`, "data-count": r.spectators ?? "" },
          r.spectators === null ? "–" : String(r.spectators),
        ),
        el("td", {}, r.locked ? "🔒 locked" : "open"),
        el("td", { class: "muted" }, meta),
        el(
          "td",
          { class: "room-actions" },
          button,
          " ",
          el(
            "a",
            {
              class: "small",
              href: watchLink(r.id),
              "data-testid": `watch-room-${r.id}`,
              title: "Watch this room as a spectator: no seat, nothing to send",
            },
            "Watch",
          ),
        ),
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
            el("th", { title: "spectators watching" }, "Watching"),
            el("th", {}, "State"),
            el("th", {}, "Settings"),
            el("th", {}),
          ),
        ),
        el("tbody", {}, ...rows),
      ),
    );
  }

  /** The LAN links, and a QR code of the first (the server lists private IPv4 addresses first,
   * which a phone on the same Wi-Fi reaches). Without a QR code (it failed to render) the links
   * still show. */
  private async showLan(lanUrls: readonly string[]): Promise<void> {
    const first = lanUrls[0];
    if (first === undefined) return;
    const links = el(
      "p",
      {},
      "Friends on your network can open: ",
      ...lanUrls.flatMap((u, i) => [i > 0 ? " or " : "", el("a", { href: u, "data-testid": "lan-url" }, u)]),
    );
    this.lan.replaceChildren(links);
    try {
      this.lan.append(await lanQr(first));
    } catch {
      // The links above are enough to join.
    }
  }
}

/** A QR code of `url` as an image (black on white with the standard 4-module margin, medium
 * error correction: what phone cameras read best), captioned with the URL. */
export async function lanQr(url: string): Promise<HTMLElement> {
  const svg = await qrSvg(url, {
    type: "svg",
    errorCorrectionLevel: "M",
    margin: 4,
    color: { dark: "#000000ff", light: "#ffffffff" },
  });
  return el(
    "figure",
    { class: "lan-qr" },
    el("img", {
      src: `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`,
      alt: `QR code of ${url}`,
      width: 180,
      height: 180,
      "data-testid": "lan-qr",
      "data-url": url,
    }),
    el("figcaption", {}, "Scan with a phone on this network to join"),
  );
}
