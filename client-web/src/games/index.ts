/** The games this app can draw, by the name the server gives them. */
import { arena } from "./arena";
import { cards } from "./cards";
import type { GameModule } from "./GameModule";
import { shooter } from "./shooter";

export const gameModules: ReadonlyMap<string, GameModule> = new Map([arena, cards, shooter].map((g) => [g.name, g]));
