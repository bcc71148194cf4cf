/**
 * The page: the lobby, or a room's game screen once joined; the URL hash names the room
 * (#room=ID), a room to watch as a spectator (#watch=ID: opened at once, no name needed; the
 * lobby's Watch links set it), or a recording to play (#replay=NAME, the lobby's replay links).
 */
import { Client, type Room, type ServerInfo, type Spectator } from "@tickroom/client";
import { gameModules } from "../games";
import { el, replayFromHash, roomFromHash, watchFromHash } from "./dom";
import { GameScreen } from "./GameScreen";
import { LobbyView, type JoinChoice } from "./LobbyView";
import { ReplayScreen } from "./ReplayScreen";

export interface AppOptions {
  /** How far in the past remote entities are drawn, ms. Default: 100. */
  interpolationDelayMs?: number;
}

export class App {
  readonly client: Client;
  lobby: LobbyView | null = null;
  screen: GameScreen | null = null;
  replay: ReplayScreen | null = null;
  /** Fetched once: the LAN addresses for share links. */
  private readonly info: Promise<ServerInfo | null>;

  constructor(
    private readonly mount: HTMLElement,
    endpoint: string,
    private readonly options: AppOptions = {},
  ) {
    this.client = new Client(endpoint);
    this.info = this.client.info().catch(() => null);
    this.showLobby(null);
    // A Watch or replay link of the lobby (or one typed into the address bar) while the lobby shows.
    window.addEventListener("hashchange", () => this.follow());
    this.follow();
  }

  /** The room being played, watched or replayed, if any. */
  get room(): Room | Spectator | null {
    return this.screen?.room ?? this.replay?.playback.room ?? null;
  }

  /** Opens what the hash names: a room to watch, or a recording to play. */
  private follow(): void {
    if (this.lobby === null) return;
    const watch = watchFromHash(location.hash);
    if (watch !== null) void this.watch(watch);
    const replay = replayFromHash(location.hash);
    if (replay !== null) void this.showReplay(replay);
  }

  private showLobby(message: string | null): void {
    this.screen?.dispose();
    this.screen = null;
    this.replay?.dispose();
    this.replay = null;
    this.lobby?.dispose();
    this.lobby = new LobbyView(
      this.client,
      gameModules,
      (name, choice) => void this.enter(name, choice),
      roomFromHash(location.hash),
      message,
    );
    this.mount.replaceChildren(this.lobby.root);
  }

  /** Loads recording `name` and plays it with its game's view. */
  private async showReplay(name: string): Promise<void> {
    this.lobby?.dispose();
    this.lobby = null;
    this.replay?.dispose();
    this.replay = null;
    this.mount.replaceChildren(el("p", { class: "muted", "data-testid": "replay-loading" }, `Loading replay ${name}…`));
    let playback;
    try {
      playback = await this.client.replay(name);
    } catch (e) {
      history.replaceState(null, "", location.pathname + location.search);
      this.showLobby(`Cannot play ${name}: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    this.replay = new ReplayScreen(
      playback,
      name,
      gameModules.get(playback.stream.game) ?? null,
      () => {
        history.replaceState(null, "", location.pathname + location.search);
        this.showLobby(null);
      },
      this.options.interpolationDelayMs ?? 100,
    );
    this.mount.replaceChildren(this.replay.root);
  }

  private joining(name: string, choice: JoinChoice): Promise<Room> {
    switch (choice.kind) {
      case "join":
        return this.client.join(choice.room, name);
      case "create":
        return this.client.create(choice.game, name, gameModules.get(choice.game)?.options(choice.choices) ?? null);
      case "quick": {
        // PROTOCOL.md: a client that wants "mode quick" sends it in both the filter and the options.
        const module = gameModules.get(choice.game);
        const options = module?.options(choice.choices) ?? null;
        const filter = module && module.choices.length > 0 ? choice.choices : undefined;
        return this.client.quickPlay(choice.game, name, {
          ...(options ? { options } : {}),
          ...(filter ? { filter } : {}),
        });
      }
    }
  }

  private async enter(name: string, choice: JoinChoice): Promise<void> {
    let room: Room;
    try {
      room = await this.joining(name, choice);
    } catch (e) {
      this.lobby?.showMessage(e instanceof Error ? e.message : String(e));
      return;
    }
    await this.show(room);
  }

  /** Watches room `id` as a spectator; a refusal (full, gone) shows in the lobby. */
  private async watch(id: number): Promise<void> {
    this.lobby?.showMessage(`Opening room ${id} to watch…`);
    let spectator: Spectator;
    try {
      spectator = await this.client.watch(id);
    } catch (e) {
      // Off the hash, so that the same Watch link can be followed again.
      history.replaceState(null, "", location.pathname + location.search);
      this.lobby?.showMessage(`Cannot watch room ${id}: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    await this.show(spectator);
  }

  private async show(room: Room | Spectator): Promise<void> {
    const info = await this.info;
    if (this.screen !== null) {
      // Another join or watch got there first (a Watch link followed while joining).
      room.leave();
      return;
    }
    this.lobby?.dispose();
    this.lobby = null;
    this.screen = new GameScreen(
      room,
      gameModules.get(room.info?.game ?? "") ?? null,
      (message) => {
        history.replaceState(null, "", location.pathname + location.search);
        this.showLobby(message);
      },
      shareOrigins(info?.lanUrls ?? []),
      this.options.interpolationDelayMs ?? 100,
    );
    this.mount.replaceChildren(this.screen.root);
  }
}

/** Share links from this page's origin; when the page was opened on loopback, which friends
 * cannot reach, the server's LAN addresses come first. */
function shareOrigins(lanUrls: readonly string[]): string[] {
  const lan = lanUrls.map((u) => u.replace(/\/+$/, ""));
  const loopback = ["127.0.0.1", "localhost", "[::1]"].includes(location.hostname);
  if (lan.length === 0) return [location.origin];
  return loopback ? [...lan, location.origin] : [location.origin, ...lan.filter((u) => u !== location.origin)];
}
