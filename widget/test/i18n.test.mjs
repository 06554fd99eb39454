import assert from "node:assert/strict";
import { test } from "node:test";
import { OPEN_CHAT, errorText, pickLanguage, stringsFor } from "../.test-build/lib.mjs";

test("data-lang wins, then config, then the browser, then English", () => {
  assert.equal(pickLanguage("ru", "en", ["en-US"]), "ru");
  assert.equal(pickLanguage(null, "ru", ["en-US"]), "ru");
  assert.equal(pickLanguage(null, "auto", ["de-DE", "ru-RU"]), "ru");
  assert.equal(pickLanguage("fr", null, ["de"]), "en");
  assert.equal(pickLanguage("RU_ru", null, []), "ru");
});

test("both dictionaries have the same keys and no empty text", () => {
  const en = stringsFor("en");
  const ru = stringsFor("ru");
  assert.deepEqual(Object.keys(ru).sort(), Object.keys(en).sort());
  assert.deepEqual(Object.keys(ru.errors).sort(), Object.keys(en.errors).sort());
  assert.deepEqual(Object.keys(ru.status).sort(), Object.keys(en.status).sort());
  for (const dict of [en, ru]) {
    for (const [key, value] of Object.entries(dict)) {
      if (typeof value === "string") assert.ok(value.length > 0, key);
    }
  }
  assert.equal(en.openChat, OPEN_CHAT.en);
  assert.equal(ru.openChat, OPEN_CHAT.ru);
});

test("error codes map to texts, unknown ones to the generic text", () => {
  const en = stringsFor("en");
  assert.equal(errorText(en, "message_too_long"), "The message is too long.");
  assert.equal(errorText(en, "nope"), en.errors.generic);
  assert.equal(errorText(stringsFor("ru"), undefined), "Что-то пошло не так.");
  assert.equal(en.unread(1), "1 unread message");
  assert.equal(en.unread(3), "3 unread messages");
});
