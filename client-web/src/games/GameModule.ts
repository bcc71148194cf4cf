/**
 * What the app needs from each game's client: how the lobby presents it and offers its options,
 * and the view that plays it. Each game lives in `games/<name>/` and is written only against the
 * SDK (`@tickroom/client`); the app picks the module by the welcome's game name. The same view
 * draws the room for a spectator (`#watch=ID`), with its controls left out.
 */
import type { Room, Spectator, ValueMap } from "@tickroom/client";

/** A choice the lobby offers for a game's rooms, e.g. the cards game's mode. */
export interface LobbyChoice {
  /** The option's key in the game's options (and in room metadata, for quick-match filters). */
  readonly key: string;
  readonly label: string;
  readonly values: readonly string[];
}

/** What a game view gets from the app. */
export interface GameContext {
  /**
   * The room: a player's seat (a `Room`, which sends inputs and commands), or a spectator's view
   * of it (a `Spectator`: the same state and events, nothing to send; the view then installs no
   * input handlers and shows no controls).
   */
  readonly room: Room | Spectator;
  /** Adds a line to the room's log (chat panel): joins, leaves, game news. */
  notice(text: string): void;
  /** How far in the past remote entities are drawn, ms (the page's `?delay=`). */
  readonly interpolationDelayMs: number;
}

/** A running game view: its stage, an optional side panel, and cleanup. */
export interface GameView {
  /** The main area: a canvas, or the table of a card game. */
  readonly root: HTMLElement;
  /** Extra side-panel content (a scoreboard), shown above the chat. */
  readonly panel: HTMLElement | null;
  /** The stage's pixel position of a world point, for browser tests that aim (null: not a canvas game). */
  toScreen?(x: number, y: number): { x: number; y: number } | null;
  dispose(): void;
}

export interface GameModule {
  readonly name: string;
  readonly title: string;
  /** One line for the lobby. */
  readonly blurb: string;
  /** How to play, in one line. */
  readonly help: string;
  readonly choices: readonly LobbyChoice[];
  /** The options of a new room from the lobby's choices (null: the game's defaults). */
  options(choices: Readonly<Record<string, string>>): ValueMap | null;
  createView(ctx: GameContext): GameView;
}
