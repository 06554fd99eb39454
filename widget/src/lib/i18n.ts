/** The widget's texts in English and Russian. */

import { OPEN_CHAT, type Language } from "./language";

const en = {
  openChat: OPEN_CHAT.en,
  closeChat: "Close chat",
  chatTitle: "Chat",
  unread: (n: number) => (n === 1 ? "1 unread message" : `${n} unread messages`),
  messages: "Messages",
  placeholder: "Write a message…",
  send: "Send",
  save: "Save",
  attach: "Attach files",
  removeAttachment: (name: string) => `Remove ${name}`,
  uploading: (name: string, pct: number) => `Uploading ${name}: ${pct}%`,
  edit: "Edit",
  delete: "Delete",
  confirmDelete: "Delete this message?",
  cancelEdit: "Cancel editing",
  editing: "Editing message",
  retry: "Retry",
  edited: "edited",
  deleted: "Message deleted",
  you: "You",
  operator: "Operator",
  status: { sending: "Sending", queued: "Sent", sent: "Sent", delivered: "Delivered", read: "Read", failed: "Not sent" },
  sessionClosed: "The conversation was closed. Write to start a new one.",
  sessionOpened: "An operator has joined the conversation.",
  offline: "No connection. Reconnecting…",
  unavailable: "Chat is unavailable on this site.",
  loadFailed: "Could not connect. Retrying…",
  newMessage: "New message",
  prechatIntro: "Please introduce yourself so we can reply.",
  name: "Name",
  email: "Email",
  start: "Start chat",
  invalidEmail: "Enter a valid email address.",
  dropHere: "Drop files to attach",
  waitUploads: "Wait until the files finish uploading.",
  errors: {
    message_too_long: "The message is too long.",
    file_too_large: "The file is too large.",
    file_type_not_allowed: "This file type is not allowed.",
    too_many_attachments: "Too many attachments.",
    rate_limited: "Too many messages. Please wait a moment.",
    empty_message: "The message is empty.",
    line_inactive: "The chat is temporarily unavailable.",
    generic: "Something went wrong.",
  } as Record<string, string>,
};

export type Strings = typeof en;

const ru: Strings = {
  openChat: OPEN_CHAT.ru,
  closeChat: "Закрыть чат",
  chatTitle: "Чат",
  unread: (n: number) => `Непрочитанных сообщений: ${n}`,
  messages: "Сообщения",
  placeholder: "Напишите сообщение…",
  send: "Отправить",
  save: "Сохранить",
  attach: "Прикрепить файлы",
  removeAttachment: (name: string) => `Удалить ${name}`,
  uploading: (name: string, pct: number) => `Загрузка ${name}: ${pct}%`,
  edit: "Изменить",
  delete: "Удалить",
  confirmDelete: "Удалить это сообщение?",
  cancelEdit: "Отменить изменение",
  editing: "Изменение сообщения",
  retry: "Повторить",
  edited: "изменено",
  deleted: "Сообщение удалено",
  you: "Вы",
  operator: "Оператор",
  status: { sending: "Отправляется", queued: "Отправлено", sent: "Отправлено", delivered: "Доставлено", read: "Прочитано", failed: "Не отправлено" },
  sessionClosed: "Диалог завершён. Напишите, чтобы начать новый.",
  sessionOpened: "Оператор подключился к диалогу.",
  offline: "Нет соединения. Переподключаемся…",
  unavailable: "Чат недоступен на этом сайте.",
  loadFailed: "Не удалось подключиться. Повторяем…",
  newMessage: "Новое сообщение",
  prechatIntro: "Представьтесь, пожалуйста, чтобы мы могли ответить.",
  name: "Имя",
  email: "Эл. почта",
  start: "Начать чат",
  invalidEmail: "Введите корректный адрес эл. почты.",
  dropHere: "Перетащите файлы сюда",
  waitUploads: "Дождитесь окончания загрузки файлов.",
  errors: {
    message_too_long: "Сообщение слишком длинное.",
    file_too_large: "Файл слишком большой.",
    file_type_not_allowed: "Этот тип файла не разрешён.",
    too_many_attachments: "Слишком много вложений.",
    rate_limited: "Слишком много сообщений. Подождите немного.",
    empty_message: "Сообщение пустое.",
    line_inactive: "Чат временно недоступен.",
    generic: "Что-то пошло не так.",
  },
};

const DICTIONARIES: Record<Language, Strings> = { en, ru };

export function stringsFor(lang: Language): Strings {
  return DICTIONARIES[lang];
}

/** The user-facing text for an error or failure code. */
export function errorText(strings: Strings, code: string | undefined): string {
  return (code !== undefined ? strings.errors[code] : undefined) ?? strings.errors["generic"] ?? "";
}
