import assert from "node:assert/strict";
import { test } from "node:test";
import { Backoff, RECONNECT, backoffDelay } from "../.test-build/lib.mjs";

test("the ceiling doubles per attempt and is capped", () => {
  const top = () => 0.999999;
  assert.equal(backoffDelay(0, top), 499);
  assert.equal(backoffDelay(1, top), 999);
  assert.equal(backoffDelay(3, top), 3999);
  assert.equal(backoffDelay(10, top), RECONNECT.capMs - 1);
  assert.equal(backoffDelay(1000, top), RECONNECT.capMs - 1);
});

test("full jitter never goes below the floor", () => {
  assert.equal(backoffDelay(5, () => 0), RECONNECT.minMs);
  for (let i = 0; i < 200; i++) {
    const d = backoffDelay(4, Math.random);
    assert.ok(d >= RECONNECT.minMs && d < 8000, String(d));
  }
});

test("Backoff advances and resets", () => {
  const b = new Backoff(() => 0.999999);
  assert.equal(b.next(), 499);
  assert.equal(b.next(), 999);
  assert.equal(b.attempts, 2);
  b.reset();
  assert.equal(b.next(), 499);
});
