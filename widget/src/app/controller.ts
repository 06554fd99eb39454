/**
 * The widget application: owns the session, the conversation store and the live connection, and
 * implements the page API (`window.OpenlineBridge`) once the app chunk has loaded.
 */

import type { LoaderContext } from "../lib/boot";
import { backoffDelay } from "../lib/backoff";
import { adoptCss } from "../lib/shadow";
import { ApiError, isRetryable } from "../lib/errors";
import { Listeners, type MessageListener, type PageApi } from "../lib/facade";
import { errorText, stringsFor, type Strings } from "../lib/i18n";
import { pickLanguage, type Language } from "../lib/language";
import { resolveLook } from "../lib/look";
import type { Attachment, ConversationEvent, Identity, Limits, Message, SessionResponse } from "../lib/protocol";
import { ConversationStore } from "../lib/store";
import { TokenStore, tokenKey } from "../lib/storage";
import { newClientMessageId } from "../lib/text";
import { liveUrlFor } from "../lib/url";
import { ApiClient, type SessionRequest } from "./api";
import { Composer } from "./composer";
import { LiveConnection, type LiveState } from "./live";
import { MessageList } from "./messages";
import { Beeper, TitleNotifier } from "./notify";
import { Panel } from "./panel";
import { PrechatForm } from "./prechat";
import { PANEL_CSS } from "./styles";

const MAX_SEND_ATTEMPTS = 6;
const READ_DELAY_MS = 400;

interface View {
  panel: Panel;
  composer: Composer;
  prechat: PrechatForm;
  messages: MessageList;
}

export class WidgetApp implements PageApi {
  private readonly store = new ConversationStore();
  private readonly api: ApiClient;
  private readonly tokens: TokenStore;
  private readonly live: LiveConnection;
  private readonly listeners = new Listeners<Message>();
  private readonly beeper = new Beeper();
  private readonly title: TitleNotifier;
  private strings: Strings;
  private lang: Language;
  private session: SessionResponse | null = null;
  private starting: Promise<SessionResponse> | null = null;
  private identity: Identity | null = null;
  private view: View | null = null;
  private historyLoaded = false;
  private refused = false;
  private readTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly sendAttempts = new Map<string, number>();
  private sessionAttempts = 0;

  constructor(private readonly context: LoaderContext) {
    this.api = new ApiClient(context.base, context.settings.widget);
    this.tokens = new TokenStore(() => window.localStorage, tokenKey(context.settings.widget));
    this.lang = pickLanguage(context.settings.lang, null, navigator.languages ?? [navigator.language]);
    this.strings = stringsFor(this.lang);
    this.title = new TitleNotifier(this.strings.newMessage);
    this.live = new LiveConnection({
      url: () => this.session?.live.url ?? liveUrlFor(this.context.base),
      token: () => this.api.token,
      after: () => this.store.lastSeq,
      catchUp: () => this.catchUp(),
      onEvent: (event) => this.onLiveEvent(event),
      onState: (state) => this.onLiveState(state),
      onRefused: (code) => this.onRefused(code),
    });
    document.addEventListener("visibilitychange", () => this.scheduleRead());
  }

  /** A returning visitor (stored token) connects right away so the badge and sounds work while closed. */
  start(): void {
    if (this.tokens.get() !== null) void this.ensureSession().catch(() => undefined);
  }

  open(): void {
    this.beeper.unlock();
    this.context.launcher.setAttribute("aria-busy", "true");
    void this.ensureSession()
      .catch(() => null)
      .then(() => {
        this.context.launcher.removeAttribute("aria-busy");
        const view = this.ensureView();
        view.panel.setOpen(true);
        this.context.launcher.setAttribute("aria-expanded", "true");
        this.renderAll();
        view.messages.scrollToEnd();
        if (this.needsPrechat()) view.prechat.focus();
        else view.composer.focus();
        this.scheduleRead();
      });
  }

  close(): void {
    if (!this.view?.panel.isOpen) return;
    this.view.panel.setOpen(false);
    this.context.launcher.setAttribute("aria-expanded", "false");
    this.context.launcher.focus();
  }

  setUser(user: Identity | null): void {
    if (user === null) {
      this.identity = null;
      this.forgetSession();
      if (this.view?.panel.isOpen) this.open();
      return;
    }
    const userId = typeof user === "object" && (typeof user.user_id === "string" || typeof user.user_id === "number") ? String(user.user_id) : "";
    if (!userId || typeof user.hash !== "string") {
      console.warn("openline-bridge: setUser needs {user_id, hash}");
      return;
    }
    const identity: Identity = { user_id: userId, hash: user.hash };
    if (typeof user.name === "string") identity.name = user.name;
    if (typeof user.email === "string") identity.email = user.email;
    const changed = this.identity?.user_id !== identity.user_id || this.identity.hash !== identity.hash;
    this.identity = identity;
    // protocol §2.2: presenting the identity with the current token links or switches the visitor.
    if (changed && (this.session !== null || this.starting !== null)) {
      void this.starting?.finally(() => this.restartSession());
      if (this.starting === null) this.restartSession();
    }
  }

  on(event: "message", listener: MessageListener): void {
    if (event === "message") this.listeners.add(listener);
  }

  off(event: "message", listener: MessageListener): void {
    if (event === "message") this.listeners.remove(listener);
  }

  // --- session -------------------------------------------------------------------------------

  private ensureSession(): Promise<SessionResponse> {
    if (this.session) return Promise.resolve(this.session);
    this.starting ??= this.createSession().finally(() => {
      this.starting = null;
    });
    return this.starting;
  }

  private restartSession(): void {
    this.live.stop();
    this.session = null;
    void this.ensureSession().catch(() => undefined);
  }

  private forgetSession(): void {
    this.live.stop();
    this.tokens.set(null);
    this.api.token = null;
    this.session = null;
    this.historyLoaded = false;
  }

  private async createSession(): Promise<SessionResponse> {
    const body: SessionRequest = { locale: navigator.language, page_url: location.href };
    if (this.identity) Object.assign(body, this.identity);
    this.api.token = this.tokens.get();
    let session: SessionResponse;
    try {
      session = await this.api.createSession(body);
    } catch (error) {
      if (error instanceof ApiError && error.code === "invalid_signature" && this.identity) {
        console.error("openline-bridge: the identity hash was refused; continuing anonymously");
        this.identity = null;
        return this.createSession();
      }
      if (isRetryable(error)) {
        this.view?.panel.setBanner(this.strings.loadFailed);
        setTimeout(() => void this.ensureSession().catch(() => undefined), backoffDelay(this.sessionAttempts++, Math.random));
      } else {
        this.refused = true;
        this.view?.panel.setBanner(this.strings.unavailable);
      }
      throw error;
    }
    this.sessionAttempts = 0;
    this.refused = false;
    this.view?.panel.setBanner(null);
    this.tokens.set(session.token);
    this.api.token = session.token;
    this.session = session;
    this.store.adopt(session.conversation);
    this.applyConfig(session);
    this.live.start();
    return session;
  }

  private applyConfig(session: SessionResponse): void {
    const settings = this.context.settings;
    const look = resolveLook(session.config, settings);
    const host = this.context.host;
    host.dataset["theme"] = look.theme;
    host.dataset["position"] = look.position;
    host.style.setProperty("--ob-accent", look.accent);
    host.style.setProperty("--ob-accent-text", look.accentText);
    if (this.view === null) {
      this.lang = pickLanguage(settings.lang, session.config.language, navigator.languages ?? [navigator.language]);
      this.strings = stringsFor(this.lang);
    }
    this.view?.panel.setTitle(look.title, this.strings.chatTitle);
    this.renderAll();
  }

  private onRefused(code: "invalid_token" | "forbidden_origin"): void {
    if (code === "forbidden_origin") {
      this.refused = true;
      this.view?.panel.setBanner(this.strings.unavailable);
      return;
    }
    // protocol §7.4: a refused token means starting a new session.
    this.forgetSession();
    void this.ensureSession().catch(() => undefined);
  }

  // --- events --------------------------------------------------------------------------------

  private async catchUp(): Promise<void> {
    try {
      const page = await this.api.eventsAfter(this.store.lastSeq);
      const received = this.store.receive(page.events);
      // protocol §4.5 promises dense seqs; if the server skipped one anyway, do not wait forever.
      const applied = received.gap ? [...received.applied, ...this.store.releaseWaiting()] : received.applied;
      this.afterEvents(applied);
      this.historyLoaded = true;
    } catch (error) {
      this.noteRefusal(error);
      throw error;
    }
  }

  /** Any REST call answered `invalid_token` means the stored token is dead (protocol §2.1). */
  private noteRefusal(error: unknown): void {
    if (error instanceof ApiError && error.code === "invalid_token") this.onRefused("invalid_token");
  }

  private onLiveEvent(event: ConversationEvent): void {
    const received = this.store.receive([event]);
    this.afterEvents(received.applied);
    if (received.gap) void this.catchUp().catch(() => undefined);
  }

  private afterEvents(applied: readonly ConversationEvent[]): void {
    if (applied.length === 0) return;
    for (const event of applied) {
      if (event.kind !== "message.created" || !this.historyLoaded) continue;
      const message = event.payload.message;
      this.listeners.emit(message, (error) => console.error("openline-bridge: message listener failed", error));
      if (message.direction === "operator" && document.visibilityState === "hidden") {
        this.beeper.beep();
        this.title.bump();
      }
    }
    this.renderAll();
    this.scheduleRead();
  }

  private onLiveState(state: LiveState): void {
    if (this.refused) return;
    if (state === "online") this.view?.panel.setBanner(null);
    else if (state === "offline") this.view?.panel.setBanner(this.strings.offline);
  }

  private scheduleRead(): void {
    clearTimeout(this.readTimer);
    if (!this.view?.panel.isOpen || document.visibilityState !== "visible" || this.store.unreadCount() === 0) return;
    this.readTimer = setTimeout(() => {
      const seq = this.store.lastSeq;
      this.store.readSeq = Math.max(this.store.readSeq, seq);
      this.renderBadge();
      this.api.markRead(seq).catch(() => undefined);
    }, READ_DELAY_MS);
  }

  // --- sending -------------------------------------------------------------------------------

  private send(text: string, attachments: Attachment[]): void {
    const clientMessageId = newClientMessageId((n) => crypto.getRandomValues(new Uint8Array(n)));
    this.store.addLocal(clientMessageId, text.trim(), attachments, this.session?.visitor.name ?? null);
    this.renderAll();
    this.view?.messages.scrollToEnd();
    void this.deliver(clientMessageId);
  }

  /** POST a message, retrying transient failures with the same idempotency key (protocol §6.3). */
  private async deliver(clientMessageId: string): Promise<void> {
    const entry = this.store.findByClientId(clientMessageId);
    if (entry?.type !== "message") return;
    const attempt = this.sendAttempts.get(clientMessageId) ?? 0;
    this.sendAttempts.set(clientMessageId, attempt + 1);
    const message = entry.message;
    try {
      await this.ensureSession();
      const reply = await this.api.sendMessage(clientMessageId, message.text, message.attachments.map((a) => a.id));
      this.sendAttempts.delete(clientMessageId);
      this.store.upsert(reply.message, reply.seq);
    } catch (error) {
      this.noteRefusal(error);
      const code = error instanceof ApiError ? error.code : "network_error";
      if (isRetryable(error) && attempt + 1 < MAX_SEND_ATTEMPTS) {
        const retryAfter = error instanceof ApiError && error.retryAfterSeconds !== null ? error.retryAfterSeconds * 1000 : 0;
        setTimeout(() => void this.deliver(clientMessageId), Math.max(retryAfter, backoffDelay(attempt, Math.random)));
        return;
      }
      this.sendAttempts.delete(clientMessageId);
      this.store.setLocalStatus(clientMessageId, "failed", { code, message: error instanceof Error ? error.message : String(error) });
    }
    this.renderAll();
  }

  private retry(key: string): void {
    const entry = this.store.findByKey(key);
    if (entry?.type !== "message" || entry.message.client_message_id === null) return;
    this.store.setLocalStatus(entry.message.client_message_id, "sending", null);
    this.renderAll();
    void this.deliver(entry.message.client_message_id);
  }

  private startEdit(key: string): void {
    const entry = this.store.findByKey(key);
    if (entry?.type === "message") this.view?.composer.startEdit(key, entry.message.text);
  }

  private async saveEdit(key: string, text: string): Promise<void> {
    const entry = this.store.findByKey(key);
    if (entry?.type !== "message" || entry.message.id === null) return;
    await this.mutate(() => this.api.editMessage(entry.message.id as string, text));
  }

  private async remove(key: string): Promise<void> {
    const entry = this.store.findByKey(key);
    if (entry?.type !== "message" || entry.message.id === null || !window.confirm(this.strings.confirmDelete)) return;
    await this.mutate(() => this.api.deleteMessage(entry.message.id as string));
  }

  private async mutate(call: () => Promise<{ message: Message }>): Promise<void> {
    try {
      const reply = await call();
      this.store.upsert(reply.message);
      this.renderAll();
    } catch (error) {
      this.noteRefusal(error);
      this.view?.composer.showError(errorText(this.strings, error instanceof ApiError ? error.code : undefined));
    }
  }

  // --- view ----------------------------------------------------------------------------------

  private limits(): Limits | null {
    return this.session?.limits ?? null;
  }

  private needsPrechat(): boolean {
    const session = this.session;
    return session !== null && session.config.prechat_form && !session.visitor.name && this.store.entries().length === 0;
  }

  private ensureView(): View {
    if (this.view) return this.view;
    const strings = this.strings;
    const composer = new Composer(strings, {
      send: (text, attachments) => this.send(text, attachments),
      saveEdit: (key, text) => void this.saveEdit(key, text),
      upload: (file, onProgress) => this.api.upload(file, onProgress),
      limits: () => this.limits(),
    });
    const prechat = new PrechatForm(strings, (profile) => void this.submitProfile(profile));
    const panel = new Panel(strings, {
      prechat: prechat.form,
      composer: composer.form,
      onClose: () => this.close(),
      onFiles: (files) => composer.addFiles(files),
    });
    const messages = new MessageList(panel.list, strings, this.lang, {
      edit: (key) => this.startEdit(key),
      remove: (key) => void this.remove(key),
      retry: (key) => this.retry(key),
    });
    panel.setTitle(this.session ? resolveLook(this.session.config, this.context.settings).title : "", strings.chatTitle);
    this.context.launcher.setAttribute("aria-controls", "ob-panel");
    adoptCss(this.context.root, PANEL_CSS);
    this.context.root.append(panel.element);
    this.view = { panel, composer, prechat, messages };
    if (this.refused) panel.setBanner(strings.unavailable);
    else if (this.session === null) panel.setBanner(strings.loadFailed);
    return this.view;
  }

  private async submitProfile(profile: { name: string; email?: string }): Promise<void> {
    try {
      const reply = await this.api.updateProfile(profile);
      if (this.session) this.session.visitor = reply.visitor;
      this.renderAll();
      this.view?.composer.focus();
    } catch (error) {
      this.view?.composer.showError(errorText(this.strings, error instanceof ApiError ? error.code : undefined));
    }
  }

  private renderAll(): void {
    this.renderBadge();
    const view = this.view;
    if (!view) return;
    const prechat = this.needsPrechat();
    view.prechat.show(prechat);
    view.composer.form.hidden = prechat;
    const greeting = this.session ? resolveLook(this.session.config, this.context.settings).greeting : (this.context.settings.greeting ?? "");
    view.messages.render(this.store.entries(), view.panel.greeting(greeting));
  }

  private renderBadge(): void {
    const count = this.store.unreadCount();
    const { badge, launcher } = this.context;
    badge.hidden = count === 0;
    badge.textContent = count > 99 ? "99+" : String(count);
    launcher.setAttribute("aria-label", count ? `${this.strings.openChat}, ${this.strings.unread(count)}` : this.strings.openChat);
  }
}
