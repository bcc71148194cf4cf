/** All input sources combined: keyboard first, then the touch stick. */
import type { ArenaInput } from "../generated/protocol";
import { Keyboard } from "./Keyboard";
import { TouchStick } from "./TouchStick";

export class Controls {
  readonly keyboard: Keyboard;
  readonly stick: TouchStick;

  constructor(stickParent: HTMLElement) {
    this.keyboard = new Keyboard();
    this.stick = new TouchStick(stickParent);
  }

  direction(): ArenaInput {
    const k = this.keyboard.direction();
    return k[0] !== 0 || k[1] !== 0 ? k : this.stick.direction();
  }

  dispose(): void {
    this.keyboard.dispose();
    this.stick.element.remove();
  }
}
