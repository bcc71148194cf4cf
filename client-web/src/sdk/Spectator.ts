/**
 * Watching a room without a seat (`client.watch(roomId)`): the same replica, roster, chat lines,
 * game events and result a player's `Room` has (`RoomFeed`), of what the game shows spectators
 * (never a player's private state, such as a hand of cards). A spectator sends no inputs,
 * commands or chat: this type has no method for them.
 *
 * Like a Room it outlives its connections: after a drop the Client sends the Watch again (there
 * is no token to resume) and hands the new connection to the same Spectator.
 */
import { attachConnection } from "./internal";
import type { Connection } from "./net/Connection";
import type { ServerMessageOf } from "./protocol/messages";
import { RoomFeed, type RoomFeedEvents, type RoomInfo, type RoomOptions } from "./RoomFeed";

/** A spectator's events: those of every room member (`welcome` is the Watching). */
export type SpectatorEvents = RoomFeedEvents;

export class Spectator extends RoomFeed<SpectatorEvents> {
  constructor(
    /** The room watched. */
    readonly room: number,
    options: RoomOptions = {},
  ) {
    super(options);
  }

  protected get requestedRoom(): number {
    return this.room;
  }

  /**
   * Takes over a connection that just received `watching` (called by the Client). `again` is
   * true when this watches the same room again after a drop: the old state stays drawn until
   * the fresh Snapshot.
   */
  [attachConnection](conn: Connection, watching: ServerMessageOf<"watching">, again: boolean): void {
    const info: RoomInfo = {
      room: watching.room,
      game: watching.game,
      tickRate: watching.tickRate,
      onChange: watching.onChange,
      kinds: watching.kinds,
    };
    this.attach(conn, info, again);
    this.emit("welcome", { info, resumed: again });
  }
}
