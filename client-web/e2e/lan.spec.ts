/**
 * LAN play: a server listening on every interface (`--bind 0.0.0.0:PORT`) shows its LAN links in
 * the lobby and a QR code of the first, which decodes (as a phone camera would read it from the
 * screen) to exactly that link. The page is opened on 127.0.0.1: no request leaves the machine.
 */
import { expect, test } from "@playwright/test";
import jsQR from "jsqr";
import { PNG } from "pngjs";
import { openPlayer } from "./players";
import { freePort, Server } from "./Server";

test("a server on every interface shows its LAN link and a QR code of it", async ({ browser }) => {
  const bin = process.env["TICKROOM_BIN_PATH"] ?? "";
  const args = ["--static-dir", process.env["TICKROOM_DIST"] ?? "dist"];
  const server = await Server.start(bin, await freePort(), args, { host: "0.0.0.0" });
  try {
    const info = (await (await fetch(`${server.url}/api/info`)).json()) as { lan_urls: string[] };
    test.skip(
      info.lan_urls.length === 0,
      "SKIPPED: this machine has no network interface besides loopback, so there is no LAN link",
    );
    const first = info.lan_urls[0] ?? "";
    expect(first).toMatch(new RegExp(`^http://.+:${server.port}/$`));
    const player = await openPlayer(browser, "lan", { url: server.url });
    const page = player.page;
    await expect(page.getByTestId("lan-url")).toHaveText(info.lan_urls);
    const qr = page.getByTestId("lan-qr");
    await expect(qr).toBeVisible();
    await expect(qr).toHaveAttribute("alt", `QR code of ${first}`);
    // The image has loaded and has its size (an SVG that failed to decode would have none).
    await expect.poll(() => qr.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);
    const png = PNG.sync.read(await qr.screenshot());
    const decoded = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
    expect(decoded?.data, "the QR code on the screen decodes to the LAN link").toBe(first);
    const shot = process.env["TICKROOM_LAN_SCREENSHOT"];
    if (shot) await page.screenshot({ path: shot, fullPage: true });
    await player.close();
  } finally {
    await server.stop();
  }
});

test("a server on loopback shows no LAN link or QR code", async ({ browser }) => {
  const player = await openPlayer(browser, "solo");
  await expect(player.page.getByTestId("game-arena")).toBeVisible();
  // /api/info has been answered (the games show); the LAN box stays empty.
  await expect(player.page.getByTestId("lan-urls")).toBeEmpty();
  await expect(player.page.getByTestId("lan-qr")).toHaveCount(0);
  await player.close();
});
