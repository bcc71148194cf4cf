/** How the cards game's events read in the table's log. */
import type { Value } from "@tickroom/client";
import { cardLabel, SUITS, suitSymbol } from "./rules";

const num = (payload: Value, key: string): number | null => {
  if (typeof payload !== "object" || payload === null || Array.isArray(payload) || payload instanceof Uint8Array) {
    return null;
  }
  const v = (payload as Record<string, Value>)[key];
  return typeof v === "number" ? v : null;
};

/**
 * A line for an event, or null for one the log does not show. `nameOf` names a player id ("you"
 * for the own one).
 */
export function eventText(name: string, payload: Value, nameOf: (player: number) => string): string | null {
  const player = num(payload, "player");
  const who = player === null ? "someone" : nameOf(player);
  switch (name) {
    case "played": {
      const card = num(payload, "card");
      const suit = SUITS[num(payload, "suit") ?? -1];
      const chosen = card !== null && card % 13 === 7 && suit ? `, asking for ${suitSymbol(suit)}` : "";
      return `${who} played ${card === null ? "a card" : cardLabel(card)}${chosen}.`;
    }
    case "drew":
      return `${who} drew a card.`;
    case "timeout":
      return `${who} ran out of time and drew.`;
    case "your_turn":
      return "Your turn.";
    default:
      return null;
  }
}
