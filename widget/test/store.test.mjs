import assert from "node:assert/strict";
import { test } from "node:test";
import { ConversationStore, mergeMessage } from "../.test-build/lib.mjs";
import { conversation, created, event, message } from "./helpers.mjs";

function store() {
  const s = new ConversationStore();
  s.adopt(conversation);
  return s;
}

test("events apply in seq order and duplicates are dropped", () => {
  const s = store();
  const first = s.receive([created(1, message({ id: "a" })), created(2, message({ id: "b" }))]);
  assert.deepEqual(first.applied.map((e) => e.seq), [1, 2]);
  const again = s.receive([created(2, message({ id: "b", text: "changed" }))]);
  assert.deepEqual(again.applied, []);
  assert.equal(s.lastSeq, 2);
  assert.equal(s.findById("b").message.text, "Hello");
});

test("an event after a gap waits until the missing one arrives", () => {
  const s = store();
  const r1 = s.receive([created(1, message({ id: "a" })), created(3, message({ id: "c" }))]);
  assert.equal(r1.gap, true);
  assert.equal(s.lastSeq, 1);
  assert.equal(s.findById("c"), undefined);
  const r2 = s.receive([created(2, message({ id: "b" }))]);
  assert.deepEqual(r2.applied.map((e) => e.seq), [2, 3]);
  assert.equal(r2.gap, false);
  assert.deepEqual(s.entries().map((e) => e.message.id), ["a", "b", "c"]);
});

test("waiting events can be released when the gap never fills", () => {
  const s = store();
  s.receive([created(5, message({ id: "e" }))]);
  assert.deepEqual(s.releaseWaiting().map((e) => e.seq), [5]);
  assert.equal(s.lastSeq, 5);
  assert.equal(s.receive([created(4, message({ id: "d" }))]).applied.length, 0);
});

test("a local message is merged with its server copy by client_message_id, not duplicated", () => {
  const s = store();
  s.addLocal("c-1", "hi", [], "Ann");
  assert.equal(s.entries()[0].message.status, "sending");
  // The live event can arrive before the POST reply.
  s.receive([created(1, message({ id: "m9", client_message_id: "c-1", direction: "visitor", text: "hi", rich: null, status: "queued" }))]);
  s.upsert(message({ id: "m9", client_message_id: "c-1", direction: "visitor", text: "hi", rich: null, status: "queued" }), 1);
  const entries = s.entries();
  assert.equal(entries.length, 1);
  assert.equal(entries[0].message.id, "m9");
  assert.equal(entries[0].message.status, "queued");
  assert.equal(entries[0].seq, 1);
});

test("unacknowledged local messages sort after server messages", () => {
  const s = store();
  s.addLocal("c-1", "mine", [], null);
  s.receive([created(1, message({ id: "op" }))]);
  assert.deepEqual(s.entries().map((e) => e.key), ["m:op", "c:c-1"]);
});

test("status events move forward only, failure carries its reason", () => {
  const s = store();
  s.receive([created(1, message({ id: "v", client_message_id: "c", direction: "visitor", rich: null, status: "queued" }))]);
  s.receive([event(2, "message.status", { message_id: "v", status: "delivered", failure: null })]);
  s.receive([event(3, "message.status", { message_id: "v", status: "sent", failure: null })]);
  assert.equal(s.findById("v").message.status, "delivered");
  s.receive([created(4, message({ id: "w", client_message_id: "d", direction: "visitor", rich: null, status: "queued" }))]);
  s.receive([event(5, "message.status", { message_id: "w", status: "failed", failure: { code: "line_inactive", message: "x" } })]);
  assert.deepEqual(s.findById("w").message.failure, { code: "line_inactive", message: "x" });
});

test("unread counts operator messages after the read position, not deleted ones", () => {
  const s = store();
  s.receive([created(1, message({ id: "a" })), created(2, message({ id: "b" })), created(3, message({ id: "v", direction: "visitor", client_message_id: "c", rich: null }))]);
  assert.equal(s.unreadCount(), 2);
  s.receive([event(4, "message.deleted", { message: message({ id: "b", deleted: true, text: "", rich: null }) })]);
  assert.equal(s.unreadCount(), 1);
  s.receive([event(5, "conversation.read", { read_seq: 4 })]);
  assert.equal(s.unreadCount(), 0);
});

test("session events become notices and set the state", () => {
  const s = store();
  s.receive([event(1, "session.closed")]);
  assert.equal(s.state, "closed");
  assert.equal(s.entries()[0].notice, "session.closed");
  s.receive([event(2, "session.opened"), event(3, "some.future.kind", {})]);
  assert.equal(s.state, "open");
  assert.equal(s.lastSeq, 3);
});

test("adopting another conversation starts empty; the same one keeps its state", () => {
  const s = store();
  s.receive([created(1, message())]);
  s.adopt({ ...conversation, read_seq: 1 });
  assert.equal(s.entries().length, 1);
  s.adopt({ ...conversation, id: "c2" });
  assert.equal(s.entries().length, 0);
  assert.equal(s.lastSeq, 0);
});

test("merge: deletion is sticky and the later edit wins", () => {
  const base = { ...message(), status: "delivered" };
  const edited = mergeMessage(base, message({ text: "v2", rich: [{ type: "text", text: "v2" }], edited_at: "2026-11-24T16:05:00.000Z" }));
  assert.equal(edited.text, "v2");
  const stale = mergeMessage(edited, message({ text: "v1" }));
  assert.equal(stale.text, "v2");
  const deleted = mergeMessage(stale, message({ deleted: true, text: "", rich: null }));
  const resurrected = mergeMessage(deleted, message({ text: "back" }));
  assert.equal(resurrected.deleted, true);
  assert.equal(resurrected.text, "");
  assert.equal(resurrected.rich, null);
});
