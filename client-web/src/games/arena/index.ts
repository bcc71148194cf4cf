/** The arena's client: walk a 1000 x 1000 square and collect orbs. */
import type { GameModule } from "../GameModule";
import { ArenaView } from "./ArenaView";

export const arena: GameModule = {
  name: "arena",
  title: "Arena",
  blurb: "Walk around and collect the orbs, with everyone in the room.",
  help: "Move with WASD or the arrow keys, or the stick on touch screens.",
  choices: [],
  options: () => null,
  createView: (ctx) => new ArenaView(ctx),
};
