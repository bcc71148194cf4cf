/** The cards game's client: Crazy Eights for 2 to 6 players. */
import type { GameModule } from "../GameModule";
import { CardsView } from "./CardsView";

export const cards: GameModule = {
  name: "cards",
  title: "Crazy Eights",
  blurb: "Match the top card's rank or suit; eights are wild. First to empty their hand wins.",
  help: "Digits or arrows + Enter play a card, d draws; tap on touch screens.",
  choices: [{ key: "mode", label: "Mode", values: ["classic", "quick"] }],
  options: (choices) => ({ mode: choices["mode"] ?? "classic" }),
  createView: (ctx) => new CardsView(ctx),
};
