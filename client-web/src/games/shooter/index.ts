/** The shooter's client: top-down ships on a large square map, each seeing the area around it. */
import type { GameModule } from "../GameModule";
import { ShooterView } from "./ShooterView";

export const shooter: GameModule = {
  name: "shooter",
  title: "Shooter",
  blurb: "Fly a ship around a big map and shoot the others down; you see only what is near you.",
  help: "WASD or arrows to move, the mouse to aim, click or Space to fire; on touch screens the left half is a stick and a tap on the right half fires there.",
  choices: [],
  options: () => null,
  createView: (ctx) => new ShooterView(ctx),
};
