// The sandbox chat page: pick a person, chat with the bot, press its buttons.
// Bot text arrives already sanitised by the server (item.html); everything else goes through textContent.
"use strict";

(() => {
  const TEXT = {
    newUserOption: "➕ Người dùng mới…",
    newUserRole: "người dùng mới",
    defaultNewName: "Người dùng mới",
    sticker: "Nhãn dán",
    voice: "🎤 Tin nhắn thoại",
    seconds: "giây",
    location: "📍 Vị trí",
    file: "Tệp",
    edited: "đã sửa",
    online: "Hộp cát cục bộ · đã kết nối",
    offline: "Mất kết nối với hộp cát, đang thử lại…",
    badUserId: "Mã người dùng phải là số nguyên dương.",
    noUser: "Hãy chọn người dùng trước.",
    failed: "Không gửi được",
  };
  const STORAGE_KEY = "danvan-sandbox";
  const FAST_POLL_MS = 250;
  const FAST_POLL_WINDOW_MS = 4000;

  const $ = (selector) => document.querySelector(selector);
  const el = {
    status: $("#status"),
    channels: $("#channel-switch"),
    userSelect: $("#user-select"),
    newUser: $("#new-user"),
    newUserId: $("#new-user-id"),
    newUserName: $("#new-user-name"),
    newUserApply: $("#new-user-apply"),
    messages: $("#messages"),
    emptyHint: $("#empty-hint"),
    composer: $("#composer"),
    input: $("#message-input"),
    sendButton: $("#send-button"),
    toast: $("#toast"),
  };

  const state = {
    users: [],
    customUsers: [],
    channels: [],
    channel: null,
    user: null,
    cursor: 0,
    generation: 0,
    pollMs: 1000,
    fastUntil: 0,
    timer: null,
    polling: false,
    pollAgain: false,
    instance: null,
  };

  // ------------------------------------------------------------------ helpers

  function saved() {
    try {
      return JSON.parse(localStorage.getItem(STORAGE_KEY) || "{}");
    } catch (error) {
      return {};
    }
  }

  function save() {
    const data = { channel: state.channel, userId: state.user && state.user.user_id, customUsers: state.customUsers };
    try {
      localStorage.setItem(STORAGE_KEY, JSON.stringify(data));
    } catch (error) {
      // Private browsing may refuse storage; the page works without it.
    }
  }

  async function api(path, body) {
    const options = body === undefined ? {} : {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    };
    const response = await fetch(path, options);
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      throw new Error(data.error || `${TEXT.failed} (${response.status})`);
    }
    return data;
  }

  let toastTimer = null;
  function toast(message, isError = false) {
    el.toast.textContent = message;
    el.toast.classList.toggle("error", isError);
    el.toast.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { el.toast.hidden = true; }, 3500);
  }

  function setOnline(online) {
    el.status.textContent = online ? TEXT.online : TEXT.offline;
    el.status.classList.toggle("error", !online);
  }

  function formatTime(seconds) {
    if (!seconds) return "";
    const date = new Date(seconds * 1000);
    return date.toLocaleTimeString("vi-VN", { hour: "2-digit", minute: "2-digit" });
  }

  // ------------------------------------------------------------------ users and channels

  function userLabel(user) {
    return user.role_label ? `${user.name} — ${user.role_label}` : user.name;
  }

  function fillUserSelect() {
    el.userSelect.replaceChildren();
    for (const user of [...state.users, ...state.customUsers]) {
      const option = document.createElement("option");
      option.value = String(user.user_id);
      option.textContent = userLabel(user);
      el.userSelect.append(option);
    }
    const option = document.createElement("option");
    option.value = "new";
    option.textContent = TEXT.newUserOption;
    el.userSelect.append(option);
  }

  function findUser(userId) {
    return [...state.users, ...state.customUsers].find((user) => String(user.user_id) === String(userId));
  }

  function fillChannelSwitch() {
    el.channels.replaceChildren();
    el.channels.hidden = state.channels.length < 2;
    for (const channel of state.channels) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "channel-button";
      button.dataset.channel = channel.id;
      button.textContent = channel.label;
      button.setAttribute("aria-pressed", String(channel.id === state.channel));
      button.addEventListener("click", () => selectChannel(channel.id));
      el.channels.append(button);
    }
  }

  function selectChannel(channelId) {
    state.channel = channelId;
    for (const button of el.channels.querySelectorAll(".channel-button")) {
      button.setAttribute("aria-pressed", String(button.dataset.channel === channelId));
    }
    resetConversation();
  }

  function selectUser(user) {
    state.user = user;
    el.userSelect.value = user ? String(user.user_id) : "new";
    el.newUser.hidden = Boolean(user);
    resetConversation();
  }

  function applyNewUser() {
    const userId = Number.parseInt(el.newUserId.value, 10);
    if (!Number.isSafeInteger(userId) || userId <= 0) {
      toast(TEXT.badUserId, true);
      return;
    }
    const name = el.newUserName.value.trim() || TEXT.defaultNewName;
    let user = findUser(userId);
    if (!user) {
      user = { user_id: userId, name, role_label: TEXT.newUserRole };
      state.customUsers.push(user);
      fillUserSelect();
    }
    selectUser(user);
    el.input.focus();
  }

  // ------------------------------------------------------------------ conversation rendering

  function resetConversation() {
    state.generation += 1;
    state.cursor = 0;
    for (const node of el.messages.querySelectorAll(".msg")) node.remove();
    el.emptyHint.hidden = false;
    save();
    pollSoon();
  }

  function renderMedia(item, bubble) {
    if (item.kind === "photo" && item.file_url) {
      const link = document.createElement("a");
      link.href = item.file_url;
      link.target = "_blank";
      link.rel = "noopener";
      const image = document.createElement("img");
      image.className = "msg-photo";
      image.src = item.file_url;
      image.alt = item.file_name || "";
      image.loading = "lazy";
      link.append(image);
      bubble.append(link);
    } else if (item.kind === "document" && item.file_url) {
      const link = document.createElement("a");
      link.className = "msg-file";
      link.href = item.file_url;
      link.download = item.file_name || TEXT.file;
      link.textContent = item.file_name || TEXT.file;
      bubble.append(link);
    } else if (item.kind === "sticker") {
      const sticker = document.createElement("div");
      sticker.className = "msg-sticker";
      sticker.textContent = item.extra.emoji || "🙂";
      sticker.title = TEXT.sticker;
      bubble.append(sticker);
    } else if (item.kind === "voice") {
      const voice = document.createElement("div");
      voice.className = "msg-voice";
      voice.textContent = `${TEXT.voice} · ${item.extra.duration || 0} ${TEXT.seconds}`;
      bubble.append(voice);
    } else if (item.kind === "location") {
      const place = document.createElement("div");
      place.className = "msg-location";
      place.textContent = `${TEXT.location}: ${item.extra.latitude}, ${item.extra.longitude}`;
      bubble.append(place);
    }
  }

  function renderKeyboard(item) {
    const keyboard = document.createElement("div");
    keyboard.className = "kb";
    for (const row of item.buttons) {
      const line = document.createElement("div");
      line.className = "kb-row";
      for (const button of row) line.append(renderButton(item, button));
      keyboard.append(line);
    }
    return keyboard;
  }

  function renderButton(item, button) {
    if (button.kind === "url") {
      const link = document.createElement("a");
      link.className = "kb-button kb-url";
      link.href = button.url;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      link.textContent = button.label;
      return link;
    }
    const node = document.createElement("button");
    node.type = "button";
    node.className = button.kind === "other" ? "kb-button kb-other" : "kb-button";
    node.textContent = button.label;
    if (button.data !== null) node.dataset.data = button.data;
    node.dataset.messageId = item.id;
    if (button.kind === "callback") node.addEventListener("click", () => press(item.id, button.data, node));
    if (button.kind === "text") node.addEventListener("click", () => sendText(button.label));
    if (button.kind === "other") node.disabled = true;
    return node;
  }

  function renderItem(item) {
    const bubble = document.createElement("div");
    bubble.className = `msg ${item.kind === "notice" ? "notice" : item.from}`;
    if (item.kind === "notice" && item.extra.alert) bubble.classList.add("alert");
    bubble.dataset.id = item.id;
    bubble.dataset.kind = item.kind;
    renderMedia(item, bubble);
    if (item.html) {
      const text = document.createElement("div");
      text.className = "msg-text";
      text.innerHTML = item.html; // sanitised server-side: only Telegram's formatting tags survive
      for (const spoiler of text.querySelectorAll(".spoiler")) {
        spoiler.addEventListener("click", () => spoiler.classList.add("revealed"));
      }
      bubble.append(text);
    }
    if (item.buttons.length) bubble.append(renderKeyboard(item));
    const stamp = [formatTime(item.date), item.edited ? TEXT.edited : ""].filter(Boolean).join(" · ");
    if (stamp) {
      const meta = document.createElement("span");
      meta.className = "msg-meta";
      meta.textContent = stamp;
      bubble.append(meta);
    }
    return bubble;
  }

  function applyItems(items) {
    const nearBottom = el.messages.scrollHeight - el.messages.scrollTop - el.messages.clientHeight < 80;
    let added = false;
    for (const item of items) {
      const existing = el.messages.querySelector(`.msg[data-id="${CSS.escape(item.id)}"]`);
      if (item.deleted) {
        if (existing) existing.remove();
        continue;
      }
      const node = renderItem(item);
      if (existing) {
        existing.replaceWith(node);
      } else {
        el.messages.append(node);
        added = true;
      }
    }
    el.emptyHint.hidden = el.messages.querySelector(".msg") !== null;
    if (added && (nearBottom || items.some((item) => item.from === "user"))) {
      el.messages.scrollTop = el.messages.scrollHeight;
    }
  }

  // ------------------------------------------------------------------ polling

  function schedulePoll() {
    clearTimeout(state.timer);
    const delay = Date.now() < state.fastUntil ? FAST_POLL_MS : state.pollMs;
    state.timer = setTimeout(poll, delay);
  }

  function pollSoon() {
    state.fastUntil = Date.now() + FAST_POLL_WINDOW_MS;
    if (state.polling) {
      state.pollAgain = true;
      return;
    }
    clearTimeout(state.timer);
    state.timer = setTimeout(poll, 0);
  }

  async function poll() {
    if (!state.user || !state.channel) return;
    state.polling = true;
    const generation = state.generation;
    const query = new URLSearchParams({ channel: state.channel, user_id: String(state.user.user_id), after: String(state.cursor) });
    try {
      const data = await api(`/api/history?${query}`);
      if (generation === state.generation) {
        if (state.instance !== data.instance && state.cursor > 0) {
          // The sandbox restarted and its change numbers began again: reload the whole conversation.
          state.instance = data.instance;
          state.polling = false;
          resetConversation();
          return;
        }
        state.instance = data.instance;
        applyItems(data.items);
        state.cursor = data.cursor;
      }
      setOnline(true);
    } catch (error) {
      setOnline(false);
    }
    state.polling = false;
    if (state.pollAgain) {
      state.pollAgain = false;
      state.timer = setTimeout(poll, 0);
    } else {
      schedulePoll();
    }
  }

  // ------------------------------------------------------------------ actions

  function identity() {
    if (!state.user) throw new Error(TEXT.noUser);
    return { channel: state.channel, user_id: state.user.user_id, name: state.user.name };
  }

  async function sendText(text) {
    try {
      await api("/api/send", { ...identity(), text });
      pollSoon();
      return true;
    } catch (error) {
      toast(error.message, true);
      return false;
    }
  }

  async function press(messageId, data, node) {
    node.disabled = true;
    try {
      await api("/api/press", { ...identity(), message_id: messageId, data });
      pollSoon();
    } catch (error) {
      toast(error.message, true);
    } finally {
      setTimeout(() => { node.disabled = false; }, 600);
    }
  }

  async function sendMedia(kind) {
    const caption = kind === "sticker" ? "" : el.input.value.trim();
    try {
      await api("/api/media", { ...identity(), kind, caption });
      if (caption) el.input.value = "";
      pollSoon();
    } catch (error) {
      toast(error.message, true);
    }
  }

  async function submitMessage(event) {
    event.preventDefault();
    const text = el.input.value.trim();
    if (!text) return;
    el.sendButton.disabled = true;
    if (await sendText(text)) {
      el.input.value = "";
      autoGrow();
    }
    el.sendButton.disabled = false;
    el.input.focus();
  }

  function autoGrow() {
    el.input.style.height = "auto";
    el.input.style.height = `${Math.min(el.input.scrollHeight, 140)}px`;
  }

  // ------------------------------------------------------------------ start

  function bindEvents() {
    el.composer.addEventListener("submit", submitMessage);
    el.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        el.composer.requestSubmit();
      }
    });
    el.input.addEventListener("input", autoGrow);
    el.userSelect.addEventListener("change", () => {
      if (el.userSelect.value === "new") {
        selectUser(null);
        el.newUserId.focus();
      } else {
        selectUser(findUser(el.userSelect.value) || null);
      }
    });
    el.newUserApply.addEventListener("click", applyNewUser);
    el.newUserName.addEventListener("keydown", (event) => {
      if (event.key === "Enter") applyNewUser();
    });
    $("#send-sticker").addEventListener("click", () => sendMedia("sticker"));
    $("#send-photo").addEventListener("click", () => sendMedia("photo"));
    $("#send-voice").addEventListener("click", () => sendMedia("voice"));
  }

  async function start() {
    const previous = saved();
    state.customUsers = Array.isArray(previous.customUsers) ? previous.customUsers : [];
    try {
      const config = await api("/api/users");
      state.users = config.users;
      state.channels = config.channels;
      state.pollMs = config.poll_interval_ms || 1000;
      setOnline(true);
    } catch (error) {
      setOnline(false);
      setTimeout(start, 2000);
      return;
    }
    const channelIds = state.channels.map((channel) => channel.id);
    state.channel = channelIds.includes(previous.channel) ? previous.channel : channelIds[0];
    fillChannelSwitch();
    fillUserSelect();
    selectUser(findUser(previous.userId) || state.users[0] || null);
  }

  bindEvents();
  start();
})();
