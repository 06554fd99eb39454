/**
 * The live connection (protocol §7): REST catch-up, then a WebSocket that authenticates with a
 * first frame, answers heartbeats, and reconnects with jittered backoff after any loss.
 */

import { Backoff } from "../lib/backoff";
import { parseFrame } from "../lib/frames";
import type { ConversationEvent } from "../lib/protocol";

export type LiveState = "connecting" | "online" | "offline";

export interface LiveHooks {
  url(): string;
  token(): string | null;
  after(): number;
  /** REST catch-up before each WebSocket attempt; a rejection counts as a failed attempt. */
  catchUp(): Promise<void>;
  onEvent(event: ConversationEvent): void;
  onState(state: LiveState): void;
  /** The token was refused (4401) or the site is not allowed (4403). */
  onRefused(code: "invalid_token" | "forbidden_origin"): void;
}

const STABLE_MS = 10_000;
const GRACE_MS = 5_000;
const DEFAULT_HEARTBEAT_S = 25;
const RATE_LIMITED_MIN_MS = 30_000;

export class LiveConnection {
  private socket: WebSocket | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private watchdog: ReturnType<typeof setTimeout> | undefined;
  private stableTimer: ReturnType<typeof setTimeout> | undefined;
  private heartbeatMs = DEFAULT_HEARTBEAT_S * 1000;
  private running = false;
  // Bumped by stop(): a connect() still awaiting its catch-up must not open a second socket.
  private generation = 0;
  private readonly backoff = new Backoff(Math.random);

  constructor(private readonly hooks: LiveHooks) {
    window.addEventListener("online", () => this.reconnectNow());
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this.reconnectNow();
    });
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    void this.connect();
  }

  stop(): void {
    this.running = false;
    this.generation++;
    clearTimeout(this.retryTimer);
    this.closeSocket();
  }

  /** Skip the remaining backoff wait (the browser came back online, the tab became visible). */
  private reconnectNow(): void {
    if (this.running && this.socket === null && this.retryTimer !== undefined) {
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
      void this.connect();
    }
  }

  private async connect(): Promise<void> {
    const generation = this.generation;
    this.retryTimer = undefined;
    this.hooks.onState("connecting");
    try {
      await this.hooks.catchUp();
    } catch {
      if (generation === this.generation) this.scheduleRetry(0);
      return;
    }
    if (!this.running || this.socket || generation !== this.generation) return;
    let socket: WebSocket;
    try {
      socket = new WebSocket(this.hooks.url());
    } catch {
      this.scheduleRetry(0);
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      socket.send(JSON.stringify({ type: "auth", token: this.hooks.token(), after: this.hooks.after() }));
      this.armWatchdog();
    };
    socket.onmessage = (message) => this.onFrame(socket, message.data);
    socket.onclose = (close) => this.onClose(socket, close.code);
  }

  private onFrame(socket: WebSocket, data: unknown): void {
    this.armWatchdog();
    const frame = parseFrame(data);
    if (frame === null) return;
    switch (frame.type) {
      case "ready":
        this.heartbeatMs = Math.max(1, frame.heartbeat_interval) * 1000;
        this.armWatchdog();
        this.hooks.onState("online");
        clearTimeout(this.stableTimer);
        this.stableTimer = setTimeout(() => this.backoff.reset(), STABLE_MS);
        break;
      case "event":
        this.hooks.onEvent(frame.event);
        break;
      case "ping":
        socket.send(JSON.stringify({ type: "pong" }));
        break;
      default:
        break;
    }
  }

  private onClose(socket: WebSocket, code: number): void {
    if (socket !== this.socket) return;
    this.socket = null;
    clearTimeout(this.watchdog);
    clearTimeout(this.stableTimer);
    if (!this.running) return;
    // protocol §7.4: 4401 needs a new session, 4403 is final, 4429 waits at least 30 s.
    if (code === 4401 || code === 4403) {
      this.running = false;
      this.hooks.onState("offline");
      this.hooks.onRefused(code === 4401 ? "invalid_token" : "forbidden_origin");
      return;
    }
    this.scheduleRetry(code === 4429 ? RATE_LIMITED_MIN_MS : 0);
  }

  private scheduleRetry(minimumMs: number): void {
    if (!this.running) return;
    this.hooks.onState("offline");
    this.retryTimer = setTimeout(() => void this.connect(), Math.max(minimumMs, this.backoff.next()));
  }

  /** protocol §7.3: silence for two heartbeats plus a grace period means the connection is dead. */
  private armWatchdog(): void {
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => {
      const socket = this.socket;
      if (socket === null) return;
      // A dead network may never finish the closing handshake, so do not wait for onclose.
      socket.onclose = null;
      socket.onmessage = null;
      socket.close(4408);
      this.onClose(socket, 4408);
    }, 2 * this.heartbeatMs + GRACE_MS);
  }

  private closeSocket(): void {
    const socket = this.socket;
    this.socket = null;
    clearTimeout(this.watchdog);
    clearTimeout(this.stableTimer);
    socket?.close(1000);
  }
}
