import { describe, expect, it } from "vitest";
import { eventText } from "../../src/games/cards/eventText";
import {
  cardLabel,
  isPlayable,
  playCommand,
  remainingSeconds,
  sortHand,
  suitOf,
  winnerOf,
} from "../../src/games/cards/rules";

/** A card from rank (0 = ace) and suit index (0 clubs, 1 diamonds, 2 hearts, 3 spades). */
const card = (rank: number, suit: number): number => suit * 13 + rank;

describe("cards rules", () => {
  /** Card numbers read as PROTOCOL.md says: rank = card % 13, suit = card / 13. */
  it("names cards", () => {
    expect(cardLabel(0)).toBe("A♣");
    expect(cardLabel(card(7, 2))).toBe("8♥");
    expect(cardLabel(card(9, 1))).toBe("10♦");
    expect(cardLabel(51)).toBe("K♠");
    expect(suitOf(26)).toBe("hearts");
  });

  /** Playable: the top card's rank, the suit to follow, or any eight. */
  it("knows which cards are playable", () => {
    const top = card(4, 0); // 5♣
    expect(isPlayable(card(4, 3), top, "clubs")).toBe(true); // same rank
    expect(isPlayable(card(11, 0), top, "clubs")).toBe(true); // same suit
    expect(isPlayable(card(11, 2), top, "clubs")).toBe(false);
    expect(isPlayable(card(7, 2), top, "clubs")).toBe(true); // an eight
    // After an eight the chosen suit is followed, not the eight's own suit.
    const eight = card(7, 2);
    expect(isPlayable(card(2, 3), eight, "spades")).toBe(true);
    expect(isPlayable(card(2, 2), eight, "spades")).toBe(false);
    expect(isPlayable(card(7, 0), eight, "spades")).toBe(true);
  });

  /** Play commands carry the chosen suit only for eights. */
  it("builds play commands", () => {
    expect(playCommand(5)).toEqual({ type: "play", card: 5 });
    expect(playCommand(card(7, 0), "hearts")).toEqual({ type: "play", card: 7, suit: 2 });
    expect(sortHand([51, 0, 13])).toEqual([0, 13, 51]);
  });

  /** The turn clock: deadline against the room's tick, moved on by the time since the last state. */
  it("counts the turn's seconds down", () => {
    expect(remainingSeconds(400, 100, 10, 0)).toBe(30);
    expect(remainingSeconds(400, 100, 10, 2500)).toBe(27.5);
    expect(remainingSeconds(400, 390, 10, 5000)).toBe(0);
    expect(remainingSeconds(0, 100, 10, 0)).toBe(0);
  });

  /** The winner comes from the Ended result `{winner, name}`. */
  it("reads the result", () => {
    expect(winnerOf({ winner: 3, name: "cy" })).toEqual({ winner: 3, name: "cy" });
    expect(winnerOf(null)).toBeNull();
    expect(winnerOf({ winner: "3" })).toBeNull();
  });

  /** Events read as sentences with player names. */
  it("describes events", () => {
    const nameOf = (p: number): string => (p === 1 ? "you" : "bo");
    expect(eventText("played", { player: 2, card: card(7, 2), suit: 3 }, nameOf)).toBe("bo played 8♥, asking for ♠.");
    expect(eventText("played", { player: 1, card: 0, suit: 0 }, nameOf)).toBe("you played A♣.");
    expect(eventText("drew", { player: 2 }, nameOf)).toBe("bo drew a card.");
    expect(eventText("timeout", { player: 2 }, nameOf)).toBe("bo ran out of time and drew.");
    expect(eventText("your_turn", { deadline: 300 }, nameOf)).toBe("Your turn.");
    expect(eventText("unknown", null, nameOf)).toBeNull();
  });
});
