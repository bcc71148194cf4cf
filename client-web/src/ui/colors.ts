/** A stable, well-spread colour per player id, shared by every game's drawing and scoreboard. */
export const colorOf = (player: number): string => `hsl(${(player * 137.508) % 360}, 70%, 60%)`;
