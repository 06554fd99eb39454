/** Attention for a new operator message in a hidden tab: a WebAudio beep and the page title. */

import { notificationTitle } from "../lib/text";

type AudioContextClass = typeof AudioContext;

/** A short synthesized beep; the audio context is unlocked by the first user gesture. */
export class Beeper {
  private context: AudioContext | null = null;

  /** Call from a user gesture (opening the chat) so browsers allow sound later. */
  unlock(): void {
    const Context = (window.AudioContext ?? (window as unknown as { webkitAudioContext?: AudioContextClass }).webkitAudioContext) as AudioContextClass | undefined;
    if (!Context) return;
    try {
      this.context ??= new Context();
      void this.context.resume();
    } catch {
      this.context = null;
    }
  }

  beep(): void {
    const context = this.context;
    if (!context || context.state !== "running") return;
    const oscillator = context.createOscillator();
    const gain = context.createGain();
    const now = context.currentTime;
    oscillator.frequency.value = 880;
    gain.gain.setValueAtTime(0.0001, now);
    gain.gain.exponentialRampToValueAtTime(0.15, now + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, now + 0.25);
    oscillator.connect(gain).connect(context.destination);
    oscillator.start(now);
    oscillator.stop(now + 0.26);
  }
}

/** Prefixes the page title with the count of unseen messages until the tab is visible again. */
export class TitleNotifier {
  private original: string | null = null;
  private unseen = 0;

  constructor(private readonly label: string) {
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this.clear();
    });
  }

  bump(): void {
    this.original ??= document.title;
    this.unseen++;
    document.title = notificationTitle(this.original, this.unseen, this.label);
  }

  clear(): void {
    if (this.original !== null) document.title = this.original;
    this.original = null;
    this.unseen = 0;
  }
}
