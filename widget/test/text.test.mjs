import assert from "node:assert/strict";
import { test } from "node:test";
import { codePointLength, fitsLimit, formatSize, looksLikeEmail, newClientMessageId, notificationTitle } from "../.test-build/lib.mjs";

test("length counts code points like the server", () => {
  assert.equal(codePointLength("😀😀"), 2);
  assert.equal("😀😀".length, 4);
  assert.equal(fitsLimit(`  ${"😀".repeat(10000)}  `, 10000), true);
  assert.equal(fitsLimit("a".repeat(10001), 10000), false);
});

test("client message ids match the protocol's alphabet and are unique", () => {
  let counter = 0;
  const bytes = (n) => Uint8Array.from({ length: n }, () => counter++ & 255);
  const a = newClientMessageId(bytes);
  const b = newClientMessageId(bytes);
  assert.match(a, /^[A-Za-z0-9_-]{1,64}$/);
  assert.notEqual(a, b);
});

test("title notification and helpers", () => {
  assert.equal(notificationTitle("Shop", 2, "New message"), "(2) New message · Shop");
  assert.equal(notificationTitle("Shop", 0, "New message"), "Shop");
  assert.equal(looksLikeEmail("a@b.c"), true);
  assert.equal(looksLikeEmail("a b@c"), false);
  assert.equal(looksLikeEmail("nope"), false);
  assert.equal(formatSize(512), "512 B");
  assert.equal(formatSize(2048), "2.0 KB");
  assert.equal(formatSize(5 * 1024 * 1024), "5.0 MB");
});
