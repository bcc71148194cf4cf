/** The page: the lobby, or the game once a room is joined; the URL hash names the room (#room=ID). */
import { Client, JoinError, type ServerInfo } from "../Client";
import type { ArenaGameOptions } from "../game/ArenaGame";
import type { Room } from "../Room";
import { roomFromHash } from "./dom";
import { GameView } from "./GameView";
import { LobbyView } from "./LobbyView";

export class App {
  readonly client: Client;
  lobby: LobbyView | null = null;
  game: GameView | null = null;
  /** Fetched once: the LAN addresses for share links. */
  private readonly info: Promise<ServerInfo | null>;

  constructor(
    private readonly mount: HTMLElement,
    endpoint: string,
    private readonly gameOptions: ArenaGameOptions = {},
  ) {
    this.client = new Client(endpoint);
    this.info = this.client.info().catch(() => null);
    this.showLobby(null);
  }

  /** The room being played, if any. */
  get room(): Room | null {
    return this.game?.room ?? null;
  }

  private showLobby(message: string | null): void {
    this.game?.dispose();
    this.game = null;
    this.lobby?.dispose();
    const invited = roomFromHash(location.hash);
    this.lobby = new LobbyView(
      this.client,
      {
        quickPlay: (name) => void this.enter(this.client.quickPlay(name)),
        create: (name) => void this.enter(this.client.create(name)),
        join: (name, id) => void this.enter(this.client.join(name, id)),
      },
      invited,
      message,
    );
    this.mount.replaceChildren(this.lobby.root);
  }

  private async enter(joining: Promise<Room>): Promise<void> {
    let room: Room;
    try {
      room = await joining;
    } catch (e) {
      const text = e instanceof JoinError || e instanceof Error ? e.message : String(e);
      this.lobby?.showMessage(text);
      return;
    }
    const info = await this.info;
    this.lobby?.dispose();
    this.lobby = null;
    this.game = new GameView(
      room,
      (message) => {
        history.replaceState(null, "", location.pathname);
        this.showLobby(message);
      },
      this.gameOptions,
      shareOrigins(info?.lan_urls ?? []),
    );
    this.mount.replaceChildren(this.game.root);
  }
}

/** Share links from this page's origin; when the page was opened on loopback, which friends
 * cannot reach, the server's LAN addresses come first. */
function shareOrigins(lanUrls: string[]): string[] {
  const lan = lanUrls.map((u) => u.replace(/\/+$/, ""));
  const loopback = ["127.0.0.1", "localhost", "[::1]"].includes(location.hostname);
  if (lan.length === 0) return [location.origin];
  return loopback ? [...lan, location.origin] : [location.origin, ...lan.filter((u) => u !== location.origin)];
}
