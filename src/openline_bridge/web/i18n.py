"""English and Russian strings of the server-rendered pages, chosen by Bitrix24's ``LANG`` (fallback English).

Every key exists in both languages (a test checks it); texts use ``str.format`` fields. Jinja2 escapes the
translated text like any other value, so a field filled with portal data cannot inject markup.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Literal

__all__ = ["STRINGS", "Language", "Translate", "pick_language", "translator"]

Language = Literal["en", "ru"]
Translate = Callable[..., str]

_EN: dict[str, str] = {
    "settings_title": "Website chat — line {line}",
    "app_title": "openline-bridge",
    "error_title": "This page cannot be shown",
    "unauthorized": (
        "This request does not come from a Bitrix24 portal where the application is installed "
        "(unknown portal or wrong application token). Open the page again from Bitrix24."
    ),
    "bad_request": "The page was opened without the data Bitrix24 sends: {problem}.",
    "wrong_connector": "This page belongs to the connector {connector}, not to this bridge ({ours}).",
    "csrf_refused": (
        "This form has expired or was not issued for this line. "
        "Close the page, open it again from the Contact Center and repeat the action."
    ),
    "too_large": "The request is too large.",
    "state_heading": "Connector on this line",
    "state_connected": "Connected: messages flow between your website and this open line.",
    "state_disconnected": "Not connected: the website chat does not reach this open line.",
    "state_error": "Bitrix24 reports an error for this connector on this line.",
    "flags_opened": "When this page was opened",
    "flags_live": "Checked just now",
    "flag_active": "Active",
    "flag_connection": "Connection",
    "flag_register": "Registered",
    "flag_error": "Error",
    "flag_configured": "Configured",
    "flag_status": "Ready",
    "yes": "yes",
    "no": "no",
    "unknown": "unknown",
    "connect": "Connect",
    "disconnect": "Disconnect",
    "connected_ok": "The connector is now active on this line.",
    "disconnected_ok": "The connector was disconnected from this line.",
    "origins_saved": "Allowed origins saved.",
    "bitrix_refused": "Bitrix24 refused the request ({code}).",
    "bitrix_expired": (
        "The Bitrix24 session of this page has expired. "
        "Close the page and open it again from the Contact Center."
    ),
    "bitrix_unreachable": "Bitrix24 could not be reached ({code}). Try again in a moment.",
    "embed_heading": "Embed code",
    "embed_help": (
        "Paste this line before </body> on every page of your website where the chat should appear."
    ),
    "widget_key": "Widget key",
    "origins_heading": "Allowed websites",
    "origins_help": (
        "One origin per line, for example https://www.example.com. "
        "https://*.example.com allows every subdomain of example.com. "
        "The chat refuses to start on any other website."
    ),
    "origins_empty": "No website is allowed yet: the chat will not start anywhere until you add one.",
    "origins_invalid": "Not saved: {problem}",
    "save": "Save",
    "identity_heading": "Identity verification secret",
    "show_secret": "Show the secret",
    "identity_help": (
        "To link a signed-in visitor's conversation across devices, your server signs the visitor's user_id "
        "with HMAC-SHA256 under this secret (hex digest). Never put it in a web page."
    ),
    "portal_heading": "Portal",
    "portal_domain": "Address",
    "connector_id": "Connector",
    "lines_heading": "Lines",
    "no_lines": "No line has been opened in the Contact Center yet.",
    "col_line": "Line",
    "col_wanted": "Connect wanted",
    "col_bitrix": "Bitrix24 state",
    "col_checked": "Checked at",
    "col_widget": "Widget key",
    "state_ready": "ready",
    "state_not_ready": "not ready",
    "state_error_short": "error",
    "outbox_heading": "Outbox",
    "outbox_empty": "No job has been queued yet.",
    "outbox_pending": "waiting",
    "outbox_running": "running",
    "outbox_parked": "parked (line inactive)",
    "outbox_done": "done",
    "outbox_dead": "failed for good",
    "errors_heading": "Recent errors",
    "no_errors": "No error recorded.",
    "col_time": "Time",
    "col_origin": "Where",
    "col_code": "Code",
    "col_message": "Message",
    "health_heading": "Last health check",
    "health_never": "No health check has run yet.",
    "health_checked_at": "Checked at {at}",
    "health_ok": "healthy",
    "health_bad": "needs attention",
    "health_details": "Details",
}

_RU: dict[str, str] = {
    "settings_title": "Чат на сайте — линия {line}",
    "app_title": "openline-bridge",
    "error_title": "Страницу нельзя показать",
    "unauthorized": (
        "Запрос пришёл не с портала Битрикс24, на котором установлено приложение "
        "(неизвестный портал или неверный токен приложения). Откройте страницу из Битрикс24 ещё раз."
    ),
    "bad_request": "Страница открыта без данных, которые присылает Битрикс24: {problem}.",
    "wrong_connector": "Эта страница относится к коннектору {connector}, а не к этому мосту ({ours}).",
    "csrf_refused": (
        "Форма устарела или выдана для другой линии. "
        "Закройте страницу, откройте её снова из Контакт-центра и повторите действие."
    ),
    "too_large": "Слишком большой запрос.",
    "state_heading": "Коннектор на этой линии",
    "state_connected": "Подключён: сообщения идут между вашим сайтом и этой открытой линией.",
    "state_disconnected": "Не подключён: чат на сайте не доходит до этой открытой линии.",
    "state_error": "Битрикс24 сообщает об ошибке коннектора на этой линии.",
    "flags_opened": "При открытии страницы",
    "flags_live": "Проверено сейчас",
    "flag_active": "Активен",
    "flag_connection": "Соединение",
    "flag_register": "Зарегистрирован",
    "flag_error": "Ошибка",
    "flag_configured": "Настроен",
    "flag_status": "Готов",
    "yes": "да",
    "no": "нет",
    "unknown": "неизвестно",
    "connect": "Подключить",
    "disconnect": "Отключить",
    "connected_ok": "Коннектор включён на этой линии.",
    "disconnected_ok": "Коннектор отключён от этой линии.",
    "origins_saved": "Список сайтов сохранён.",
    "bitrix_refused": "Битрикс24 отклонил запрос ({code}).",
    "bitrix_expired": (
        "Сеанс Битрикс24 для этой страницы истёк. Закройте страницу и откройте её снова из Контакт-центра."
    ),
    "bitrix_unreachable": "Битрикс24 недоступен ({code}). Повторите попытку чуть позже.",
    "embed_heading": "Код для вставки",
    "embed_help": "Вставьте эту строку перед </body> на каждой странице сайта, где должен быть чат.",
    "widget_key": "Ключ виджета",
    "origins_heading": "Разрешённые сайты",
    "origins_help": (
        "По одному адресу (origin) в строке, например https://www.example.com. "
        "https://*.example.com разрешает все поддомены example.com. "
        "На других сайтах чат не запустится."
    ),
    "origins_empty": "Ни один сайт пока не разрешён: чат нигде не запустится, пока вы не добавите адрес.",
    "origins_invalid": "Не сохранено: {problem}",
    "save": "Сохранить",
    "identity_heading": "Секрет для подтверждения посетителей",
    "show_secret": "Показать секрет",
    "identity_help": (
        "Чтобы переписка авторизованного посетителя была общей на всех его устройствах, ваш сервер "
        "подписывает user_id посетителя HMAC-SHA256 с этим секретом (hex). "
        "Никогда не размещайте его на странице."
    ),
    "portal_heading": "Портал",
    "portal_domain": "Адрес",
    "connector_id": "Коннектор",
    "lines_heading": "Линии",
    "no_lines": "В Контакт-центре ещё не открыта ни одна линия.",
    "col_line": "Линия",
    "col_wanted": "Нужно подключение",
    "col_bitrix": "Состояние в Битрикс24",
    "col_checked": "Проверено",
    "col_widget": "Ключ виджета",
    "state_ready": "готов",
    "state_not_ready": "не готов",
    "state_error_short": "ошибка",
    "outbox_heading": "Очередь отправки",
    "outbox_empty": "Заданий ещё не было.",
    "outbox_pending": "ожидают",
    "outbox_running": "выполняются",
    "outbox_parked": "отложены (линия неактивна)",
    "outbox_done": "выполнены",
    "outbox_dead": "не выполнены",
    "errors_heading": "Последние ошибки",
    "no_errors": "Ошибок нет.",
    "col_time": "Время",
    "col_origin": "Где",
    "col_code": "Код",
    "col_message": "Сообщение",
    "health_heading": "Последняя проверка",
    "health_never": "Проверка ещё не выполнялась.",
    "health_checked_at": "Проверено {at}",
    "health_ok": "всё в порядке",
    "health_bad": "требует внимания",
    "health_details": "Подробности",
}

STRINGS: Mapping[Language, Mapping[str, str]] = {"en": _EN, "ru": _RU}


def pick_language(value: str | None) -> Language:
    """The page language for Bitrix24's ``LANG`` (``ru``, ``ru-RU``, ``RU``...); anything else is English."""
    primary = (value or "").strip().lower().replace("_", "-").split("-")[0]
    return "ru" if primary == "ru" else "en"


def translator(language: Language) -> Translate:
    """``t(key, **fields)``: the text of ``key`` in ``language`` with its fields filled in."""
    table = STRINGS[language]

    def translate(key: str, **fields: object) -> str:
        text = table[key]
        return text.format(**fields) if fields else text

    return translate
