/**
 * Every message of PROTOCOL.md as a typed object; `type` tells them apart. The codec turns these
 * into the wire's arrays (`[tag, ...fields]`) and back.
 */
import type { WireValue } from "./fields";
import type { KindSchema } from "./kinds";
import type { Value, ValueMap } from "./value";

/** A quick-match filter or room metadata: string keys to string values. */
export type StringMap = Readonly<Record<string, string>>;

/** Client → server. */
export type ClientMessage =
  | {
      readonly type: "join";
      readonly version: number;
      readonly name: string;
      /** The game of a new or quick-matched room; null = the server's default game. */
      readonly game: string | null;
      /** A room to join by id (its game is used). */
      readonly room: number | null;
      /** True: a new room of `game` with `options`. */
      readonly create: boolean;
      readonly options: ValueMap | null;
      /** Quick match only: the room's metadata must contain every pair. */
      readonly filter: StringMap | null;
      /** Resume the seat this token holds; everything else is then ignored. */
      readonly token: string | null;
      /**
       * Cluster mode: the seat ticket of a Redirect, taking the seat it reserved on this node.
       * Absent or null: the Join has its nine elements; set: a tenth element.
       */
      readonly ticket?: string | null;
    }
  | { readonly type: "input"; readonly seq: number; readonly input: Value }
  | { readonly type: "ping"; readonly echo: number }
  | { readonly type: "chat"; readonly text: string }
  | { readonly type: "leave" }
  | { readonly type: "resync" }
  | { readonly type: "command"; readonly id: number; readonly command: Value }
  | {
      /** Watch a room as a spectator: no seat, no inputs, commands or chat. */
      readonly type: "watch";
      readonly version: number;
      readonly room: number;
    };

/** `id, kind, mask, v…`: an entity entering the client's view; absent fields have their default. */
export interface AddedRecord {
  readonly id: number;
  readonly kind: number;
  /** Bit i set: field i is present in `values`. */
  readonly mask: number;
  /** The present fields' wire values, in field order. */
  readonly values: readonly WireValue[];
}

/** `id, mask, v…`: an entity's changed fields: differences for numbers, the new text for texts. */
export interface ChangedRecord {
  readonly id: number;
  readonly mask: number;
  readonly values: readonly WireValue[];
}

/** One scope's changes. A client never needs to know which scope it is for. */
export interface Segment {
  readonly removed: readonly number[];
  readonly changed: readonly ChangedRecord[];
  readonly added: readonly AddedRecord[];
}

/** Input acknowledgements: `bits` = players whose ack grew by one, `set` = acks given outright. */
export interface Acks {
  /** Bit `p % 8` of byte `p / 8` set: player p's ack grew by exactly 1. */
  readonly bits: Uint8Array;
  readonly set: ReadonlyArray<readonly [player: number, seq: number]>;
}

/** A one-shot message from the game (a hit, "your turn"). */
export interface GameEvent {
  readonly name: string;
  readonly payload: Value;
}

/** One seated player. */
export interface RosterEntry {
  readonly player: number;
  readonly name: string;
  /** False while the seat is held for a reconnect. */
  readonly connected: boolean;
}

/** Why the game refused a command: a machine code (`not_your_turn`) and a human message. */
export interface Refusal {
  readonly code: string;
  readonly message: string;
}

/** Server → client. */
export type ServerMessage =
  | {
      readonly type: "welcome";
      readonly player: number;
      readonly room: number;
      readonly game: string;
      /** The room's ticks per second. */
      readonly tickRate: number;
      /** True: Deltas come only on ticks where something changed (plus a keep-alive every 5 s). */
      readonly onChange: boolean;
      /** The room's tick when the join was accepted. */
      readonly tick: number;
      /** Resumes this seat once. */
      readonly token: string;
      readonly kinds: readonly KindSchema[];
    }
  | {
      readonly type: "snapshot";
      readonly tick: number;
      readonly segments: readonly Segment[];
      readonly events: readonly GameEvent[];
      readonly acks: Acks;
    }
  | {
      readonly type: "delta";
      readonly tick: number;
      /** The delta builds on tick `tick - back`. */
      readonly back: number;
      readonly segments: readonly Segment[];
      readonly events: readonly GameEvent[];
      readonly acks: Acks;
    }
  | { readonly type: "pong"; readonly echo: number; readonly tick: number }
  | { readonly type: "chat"; readonly player: number; readonly name: string; readonly text: string }
  | { readonly type: "roster"; readonly players: readonly RosterEntry[] }
  | { readonly type: "error"; readonly code: number; readonly message: string }
  | { readonly type: "commandResult"; readonly id: number; readonly refusal: Refusal | null }
  | { readonly type: "ended"; readonly result: Value }
  | {
      /**
       * The answer to an accepted Watch, in place of a Welcome: Welcome's fields without player
       * and token (a spectator has no seat to resume).
       */
      readonly type: "watching";
      readonly room: number;
      readonly game: string;
      readonly tickRate: number;
      readonly onChange: boolean;
      readonly tick: number;
      readonly kinds: readonly KindSchema[];
    }
  | {
      /**
       * Cluster mode, only as the answer to a Join or a Watch: send the same Join (or Watch) to
       * `url` (the server closes with 4006).
       */
      readonly type: "redirect";
      /** The node's full WebSocket URL (`ws://` or `wss://`, path included). */
      readonly url: string;
      /** The seat ticket to send as the Join's tenth element; null for a reconnect (send the token again) and a Watch. */
      readonly ticket: string | null;
    };

/** A server message narrowed by its type. */
export type ServerMessageOf<T extends ServerMessage["type"]> = Extract<ServerMessage, { type: T }>;

/** A client message narrowed by its type. */
export type ClientMessageOf<T extends ClientMessage["type"]> = Extract<ClientMessage, { type: T }>;
