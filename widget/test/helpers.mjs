// Builders of protocol objects for the tests (shapes from docs/protocol.md §4).
export function message(overrides = {}) {
  return {
    id: "m1",
    client_message_id: null,
    direction: "operator",
    author: { name: "Klaus", avatar_url: null },
    text: "Hello",
    rich: [{ type: "text", text: "Hello" }],
    attachments: [],
    status: "delivered",
    failure: null,
    created_at: "2026-11-24T16:00:00.000Z",
    edited_at: null,
    deleted: false,
    ...overrides,
  };
}

export function created(seq, msg) {
  return { seq, kind: "message.created", at: "2026-11-24T16:00:00.000Z", payload: { message: msg } };
}

export function event(seq, kind, payload = {}) {
  return { seq, kind, at: "2026-11-24T16:00:00.000Z", payload };
}

export const conversation = { id: "c1", state: "open", last_seq: 0, read_seq: 0 };
