/**
 * The cards game's contract (PROTOCOL.md, "cards": Crazy Eights) as the client needs it: its
 * kinds' fields, its commands, card names, which cards may be played, and the turn clock.
 */

export const SUITS = ["clubs", "diamonds", "hearts", "spades"] as const;
export type Suit = (typeof SUITS)[number];

export const PHASES = ["waiting", "playing", "finished"] as const;
export type Phase = (typeof PHASES)[number];

/** The `table` kind (one entity, seen by everyone). */
export type TableFields = {
  phase: Phase;
  /** Whose turn it is (player id), 0 = nobody. */
  turn: number;
  /** The discard pile's top card. */
  top: number;
  /** The suit to follow: the top card's, or the one chosen with an eight. */
  suit: Suit;
  /** Cards left to draw. */
  stock: number;
  /** The tick at which the turn times out. */
  deadline: number;
};

/** The `hand` kind: how many cards each seated player holds. */
export type HandFields = { player: number; cards: number };

/** The `card` kind: one entity per card of the own hand (only its owner sees it). */
export type CardFields = { owner: number; card: number };

export type CardsCommand = { type: "start" } | { type: "play"; card: number; suit?: number } | { type: "draw" };

/** Rank index of the eight (0 = ace): eights are wild. */
export const EIGHT = 7;

const RANKS = ["A", "2", "3", "4", "5", "6", "7", "8", "9", "10", "J", "Q", "K"];
const SUIT_SYMBOLS: Record<Suit, string> = { clubs: "♣", diamonds: "♦", hearts: "♥", spades: "♠" };

export const rankOf = (card: number): number => card % 13;
export const suitOf = (card: number): Suit => SUITS[Math.floor(card / 13)] ?? "clubs";
export const suitSymbol = (suit: Suit): string => SUIT_SYMBOLS[suit];
/** True for the red suits, to colour the cards. */
export const isRed = (suit: Suit): boolean => suit === "diamonds" || suit === "hearts";

/** "8♥", "10♣", "K♠". */
export function cardLabel(card: number): string {
  return `${RANKS[rankOf(card)] ?? "?"}${suitSymbol(suitOf(card))}`;
}

/** A card may be played on `top` when it is an eight, has the top card's rank, or the suit to follow. */
export function isPlayable(card: number, top: number, suitToFollow: Suit): boolean {
  return rankOf(card) === EIGHT || rankOf(card) === rankOf(top) || suitOf(card) === suitToFollow;
}

/** The hand in a stable order for display: by suit, then rank. */
export function sortHand(cards: readonly number[]): number[] {
  return [...cards].sort((a, b) => a - b);
}

/** The play command for a card; an eight needs the suit its player chooses. */
export function playCommand(card: number, suit?: Suit): CardsCommand {
  return suit === undefined ? { type: "play", card } : { type: "play", card, suit: SUITS.indexOf(suit) };
}

/**
 * Seconds left in the turn: the deadline tick against the room's tick. An "on change" room sends
 * states only when something changes, so the replica's tick is that of the last change; the time
 * since it arrived (`elapsedMs`) moves the clock on.
 */
export function remainingSeconds(deadline: number, tick: number, tickRate: number, elapsedMs: number): number {
  if (deadline === 0 || tickRate <= 0) return 0;
  return Math.max(0, (deadline - tick) / tickRate - elapsedMs / 1000);
}

/** The winner of an `Ended` result `{"winner": u32, "name": str}`, if the result has that shape. */
export function winnerOf(result: unknown): { winner: number; name: string } | null {
  if (typeof result !== "object" || result === null || Array.isArray(result)) return null;
  const r = result as Record<string, unknown>;
  const winner = r["winner"];
  const name = r["name"];
  return typeof winner === "number" && typeof name === "string" ? { winner, name } : null;
}
