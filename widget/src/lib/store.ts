/**
 * The conversation as the widget knows it: events merged by `seq` (protocol §4.5) plus the
 * visitor's messages that the bridge has not acknowledged yet.
 */

import type { Attachment, ConversationEvent, ConversationState, Failure, Message, MessageStatus } from "./protocol";
import { nextStatus } from "./status";

/** A message as shown: a server message, or a local one (`id` null) still being sent. */
export interface ViewMessage extends Omit<Message, "id" | "status"> {
  id: string | null;
  status: MessageStatus;
}

export type Entry =
  | { type: "message"; key: string; seq: number; order: number; message: ViewMessage }
  | { type: "notice"; key: string; seq: number; order: number; notice: "session.opened" | "session.closed" };

/** What one batch of incoming events did. */
export interface Received {
  /** Events applied now, in seq order (including ones released from behind a gap). */
  applied: ConversationEvent[];
  /** True if some events wait behind a missing seq: the caller should catch up over REST. */
  gap: boolean;
}

// Local messages sort after every server-ordered entry until the bridge gives them a seq.
const UNSEQUENCED = Number.MAX_SAFE_INTEGER;

export class ConversationStore {
  lastSeq = 0;
  readSeq = 0;
  state: "open" | "closed" = "open";
  private conversationId: string | null = null;
  private readonly byKey = new Map<string, Entry>();
  private readonly keyById = new Map<string, string>();
  private readonly keyByClientId = new Map<string, string>();
  private readonly waiting = new Map<number, ConversationEvent>();
  private order = 0;

  /** Adopt the conversation of a session response; a different conversation starts empty. */
  adopt(conversation: ConversationState): void {
    if (this.conversationId !== conversation.id) {
      this.byKey.clear();
      this.keyById.clear();
      this.keyByClientId.clear();
      this.waiting.clear();
      this.lastSeq = 0;
      this.readSeq = 0;
      this.conversationId = conversation.id;
    }
    this.state = conversation.state;
    this.readSeq = Math.max(this.readSeq, conversation.read_seq);
  }

  /** Apply events in seq order; duplicates are dropped, events after a gap wait. */
  receive(events: readonly ConversationEvent[]): Received {
    const applied: ConversationEvent[] = [];
    for (const event of events) {
      if (!Number.isInteger(event.seq) || event.seq <= this.lastSeq) continue;
      this.waiting.set(event.seq, event);
    }
    for (let next = this.waiting.get(this.lastSeq + 1); next; next = this.waiting.get(this.lastSeq + 1)) {
      this.waiting.delete(next.seq);
      this.applyOne(next);
      applied.push(next);
    }
    return { applied, gap: this.waiting.size > 0 };
  }

  /** Apply waiting events even though the seq before them never came (a catch-up found nothing). */
  releaseWaiting(): ConversationEvent[] {
    const events = [...this.waiting.values()].sort((a, b) => a.seq - b.seq);
    this.waiting.clear();
    for (const event of events) this.applyOne(event);
    return events;
  }

  /** Record a message the visitor just wrote, before the bridge acknowledges it. */
  addLocal(clientMessageId: string, text: string, attachments: Attachment[], authorName: string | null): Entry {
    const entry: Entry = {
      type: "message",
      key: `c:${clientMessageId}`,
      seq: UNSEQUENCED,
      order: this.order++,
      message: {
        id: null,
        client_message_id: clientMessageId,
        direction: "visitor",
        author: { name: authorName, avatar_url: null },
        text,
        rich: null,
        attachments,
        status: "sending",
        failure: null,
        created_at: new Date().toISOString(),
        edited_at: null,
        deleted: false,
      },
    };
    this.byKey.set(entry.key, entry);
    this.keyByClientId.set(clientMessageId, entry.key);
    return entry;
  }

  /** Merge a message from a REST reply; `createdSeq` is the seq of its message.created event. */
  upsert(message: Message, createdSeq: number | null = null): Entry {
    return this.merge(message, createdSeq);
  }

  /** Set the client-side status of a local message (sending, or failed before the bridge took it). */
  setLocalStatus(clientMessageId: string, status: MessageStatus, failure: Failure | null): void {
    const entry = this.findByClientId(clientMessageId);
    if (entry?.type !== "message") return;
    entry.message = { ...entry.message, status, failure };
  }

  findByClientId(clientMessageId: string): Entry | undefined {
    const key = this.keyByClientId.get(clientMessageId);
    return key === undefined ? undefined : this.byKey.get(key);
  }

  findByKey(key: string): Entry | undefined {
    return this.byKey.get(key);
  }

  findById(id: string): Entry | undefined {
    const key = this.keyById.get(id);
    return key === undefined ? undefined : this.byKey.get(key);
  }

  /** Everything to show, in conversation order. */
  entries(): Entry[] {
    return [...this.byKey.values()].sort((a, b) => a.seq - b.seq || a.order - b.order);
  }

  /** Operator messages not deleted and newer than the read position (protocol §5). */
  unreadCount(): number {
    let count = 0;
    for (const entry of this.byKey.values()) {
      if (entry.type === "message" && entry.message.direction === "operator" && !entry.message.deleted && entry.seq > this.readSeq && entry.seq !== UNSEQUENCED) count++;
    }
    return count;
  }

  private applyOne(event: ConversationEvent): void {
    this.lastSeq = Math.max(this.lastSeq, event.seq);
    switch (event.kind) {
      case "message.created":
      case "message.edited":
      case "message.deleted":
        this.merge(event.payload.message, event.seq);
        break;
      case "message.status": {
        const entry = this.findById(event.payload.message_id);
        if (entry?.type === "message") {
          const status = nextStatus(entry.message.status, event.payload.status);
          entry.message = { ...entry.message, status, failure: status === "failed" ? event.payload.failure : null };
        }
        break;
      }
      case "session.opened":
      case "session.closed":
        this.state = event.kind === "session.opened" ? "open" : "closed";
        this.byKey.set(`n:${event.seq}`, { type: "notice", key: `n:${event.seq}`, seq: event.seq, order: this.order++, notice: event.kind });
        break;
      case "conversation.read":
        this.readSeq = Math.max(this.readSeq, event.payload.read_seq);
        break;
      default:
        // protocol §1: unknown event kinds are ignored.
        break;
    }
  }

  private merge(incoming: Message, seq: number | null): Entry {
    const existing = this.findById(incoming.id) ?? (incoming.client_message_id ? this.findByClientId(incoming.client_message_id) : undefined);
    if (existing?.type === "message") {
      existing.message = mergeMessage(existing.message, incoming);
      if (seq !== null && existing.seq === UNSEQUENCED) existing.seq = seq;
      this.keyById.set(incoming.id, existing.key);
      return existing;
    }
    const key = incoming.client_message_id ? `c:${incoming.client_message_id}` : `m:${incoming.id}`;
    const entry: Entry = { type: "message", key, seq: seq ?? UNSEQUENCED, order: this.order++, message: { ...incoming } };
    this.byKey.set(key, entry);
    this.keyById.set(incoming.id, key);
    if (incoming.client_message_id) this.keyByClientId.set(incoming.client_message_id, key);
    return entry;
  }
}

/**
 * Merge a server snapshot into what is shown (protocol §4.5): deletion is sticky, the content of
 * the later edit wins, status moves by the transition rules.
 */
export function mergeMessage(current: ViewMessage, incoming: Message): ViewMessage {
  const status = nextStatus(current.status, incoming.status);
  const newer = (incoming.edited_at ?? "") >= (current.edited_at ?? "");
  const content = newer
    ? { text: incoming.text, rich: incoming.rich, attachments: incoming.attachments, edited_at: incoming.edited_at }
    : { text: current.text, rich: current.rich, attachments: current.attachments, edited_at: current.edited_at };
  const deleted = current.deleted || incoming.deleted;
  return {
    ...incoming,
    ...content,
    ...(deleted ? { text: "", rich: null, attachments: [] } : {}),
    deleted,
    status,
    failure: status === "failed" ? (incoming.failure ?? current.failure) : null,
  };
}
