/**
 * Cards: one page creates a room, the other joins it through the room link; Start deals; the
 * player whose turn it is plays a legal card (or draws when none is), the other page sees the top
 * card change (or the stock shrink), and a play out of turn shows the game's refusal.
 */
import { expect, test, type Page } from "@playwright/test";
import { openPlayer, type Player } from "./players";

const attr = async (page: Page, testId: string, name: string): Promise<string | null> =>
  page.getByTestId(testId).getAttribute(name);

/** Clicks a hand card; an eight opens the suit chooser, answered with clubs. */
async function playCard(page: Page, card: string): Promise<void> {
  await page.locator(`[data-testid="hand-card"][data-card="${card}"]`).click();
  if (Number(card) % 13 === 7) await page.getByTestId("suit-choice-clubs").click();
}

test("two players start a cards game, play a turn, and out-of-turn play is refused", async ({ browser }) => {
  const a = await openPlayer(browser, "erin");
  await a.page.getByTestId("create-cards").click();
  const sa = await a.connected();
  await expect(a.page.getByTestId("room-link")).toHaveAttribute("data-room", String(sa.room));
  const b = await openPlayer(browser, "frank", { hash: `#room=${sa.room}` });
  await b.page.getByTestId("join-invited").click();
  const sb = await b.connected();
  expect(sb.room).toBe(sa.room);
  await expect(a.page.getByTestId("seats").getByTestId("seat")).toHaveCount(2);

  await expect(a.page.getByTestId("start-button")).toBeVisible();
  await a.page.getByTestId("start-button").click();
  for (const p of [a, b]) {
    await expect(p.page.getByTestId("turn-indicator")).toHaveText(/turn: \d+ s left/);
    await expect(p.page.getByTestId("hand-card")).toHaveCount(7);
  }
  await expect(a.page.getByTestId("start-button")).toBeHidden();

  const mine = async (p: Player): Promise<boolean> => (await attr(p.page, "turn-indicator", "data-my-turn")) === "true";
  const [mover, other] = (await mine(a)) ? [a, b] : [b, a];
  expect(await mine(mover)).toBe(true);
  expect(await mine(other)).toBe(false);
  await expect(other.page.getByTestId("turn-indicator")).toContainText(`${mover.name}'s turn`);

  const topBefore = await attr(other.page, "top-card", "data-card");
  const stockBefore = Number(await attr(other.page, "stock-count", "data-count"));
  const playable = mover.page.locator('[data-testid="hand-card"][data-playable="true"]');
  if ((await playable.count()) > 0) {
    const card = (await playable.first().getAttribute("data-card")) ?? "";
    await playCard(mover.page, card);
    await expect(other.page.getByTestId("top-card")).toHaveAttribute("data-card", card);
    expect(card).not.toBe(topBefore);
    await expect(other.page.getByTestId("event-log")).toContainText(`${mover.name} played`);
  } else {
    await mover.page.getByTestId("draw-button").click();
    await expect
      .poll(async () => Number(await attr(other.page, "stock-count", "data-count")))
      .toBeLessThan(stockBefore);
    await expect(other.page.getByTestId("event-log")).toContainText(`${mover.name} drew`);
  }

  // The turn passed: now the first mover plays out of turn and is refused.
  await expect(other.page.getByTestId("turn-indicator")).toHaveAttribute("data-my-turn", "true");
  const anyCard = (await mover.page.getByTestId("hand-card").first().getAttribute("data-card")) ?? "";
  await playCard(mover.page, anyCard);
  await expect(mover.page.getByTestId("cards-message")).toHaveAttribute("data-refusal", "not_your_turn");
  await expect(mover.page.getByTestId("cards-message")).not.toBeEmpty();
  await a.close();
  await b.close();
});
