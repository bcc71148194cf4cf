/**
 * What the real-time canvas games (arena, shooter) share on the page: the 2D context, a backing
 * store sized to the element in device pixels, the frame loop, and the moment to let go of held
 * inputs. Each game keeps its own drawing, camera and controls.
 */

/** The canvas's 2D context. Throws where the browser has none. */
export function context2d(canvas: HTMLCanvasElement): CanvasRenderingContext2D {
  const ctx = canvas.getContext("2d");
  if (!ctx) throw new Error("canvas 2d context unavailable");
  return ctx;
}

/** Device pixels per CSS pixel (1 where the browser does not say). */
export function pixelRatio(): number {
  return window.devicePixelRatio || 1;
}

/**
 * Matches the canvas's backing store to the element's size in device pixels (at least 1 x 1),
 * and returns that size and the pixel ratio used. The store is only touched when the size
 * changed: setting it clears the canvas and reallocates it.
 */
export function fitToElement(canvas: HTMLCanvasElement): { width: number; height: number; dpr: number } {
  const dpr = pixelRatio();
  const width = Math.max(1, Math.round(canvas.clientWidth * dpr));
  const height = Math.max(1, Math.round(canvas.clientHeight * dpr));
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
  return { width, height, dpr };
}

/** Calls `onFrame` with each animation frame's timestamp (ms) until the returned function is called. */
export function startFrameLoop(onFrame: (nowMs: number) => void): () => void {
  let id: number | null = null;
  const frame = (nowMs: number): void => {
    // The next frame is asked for first, so a frame that throws does not end the loop.
    id = requestAnimationFrame(frame);
    onFrame(nowMs);
  };
  id = requestAnimationFrame(frame);
  return () => {
    if (id !== null) cancelAnimationFrame(id);
    id = null;
  };
}

/**
 * Calls `callback` when the page is hidden (another tab, minimised) or the window loses focus,
 * and returns the function that stops listening. A hidden page runs no frames and a blurred one
 * sees no key-up, so held inputs must be let go here, not at the next frame.
 */
export function onPageHidden(callback: () => void): () => void {
  const blur = (): void => callback();
  const visibility = (): void => {
    if (document.hidden) callback();
  };
  window.addEventListener("blur", blur);
  document.addEventListener("visibilitychange", visibility);
  return () => {
    window.removeEventListener("blur", blur);
    document.removeEventListener("visibilitychange", visibility);
  };
}
