// The child's chat (docs/chat-protocol.md). Everything lives in this page's memory only:
// the token, the messages, what was typed offline. Nothing goes to localStorage,
// sessionStorage or a cookie; the screen is cleared when the chat ends.
const root = document.getElementById("chat");
const words = JSON.parse(document.getElementById("chat-strings").textContent);
const $ = (id) => document.getElementById(id);
const fill = (text, values) => text.replace(/%\((\w+)\)s/g, (_, key) => String(values[key] ?? ""));

const state = {
  conversation: null,
  token: null,
  lastSeq: 0,
  outbox: new Map(), // client id -> text, in the order typed
  replayTo: null, // after a welcome: the seq the replay reaches, then null
  replayTimer: 0,
  socket: null,
  ended: false,
  retry: 0,
  status: "",
  waitingSince: 0,
  lastTyping: 0,
};

function show(id, visible) {
  const element = $(id);
  if (element) element.hidden = !visible;
}

function newId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// --- starting -----------------------------------------------------------------------------
const prechat = $("prechat");
prechat.hidden = false;
prechat.addEventListener("submit", async (event) => {
  event.preventDefault();
  $("start").disabled = true;
  show("start-error", false);
  const body = new URLSearchParams(new FormData(prechat));
  if (root.dataset.line) body.set("line", root.dataset.line);
  try {
    const response = await fetch(root.dataset.startUrl, {
      method: "POST",
      body,
      credentials: "omit",
      cache: "no-store",
    });
    const data = await response.json();
    if (!response.ok) {
      $("start-error").textContent = data.message || words.start_failed;
      show("start-error", true);
      $("start").disabled = false;
      return;
    }
    state.conversation = data.conversation;
    state.token = data.token;
    state.waitingSince = Date.now();
    prechat.hidden = true;
    show("intro", false);
    show("waiting", true);
    show("talk", true);
    $("queue-position").textContent = words.waiting;
    connect(data.socket);
  } catch {
    $("start-error").textContent = words.start_failed;
    show("start-error", true);
    $("start").disabled = false;
  }
});

// --- the socket ---------------------------------------------------------------------------
let socketPath = "/ws/chat/";

function connect(path) {
  if (path) socketPath = path;
  if (state.ended || !state.token) return;
  // One socket at a time: the "online" event and the retry timer may both call this.
  clearTimeout(state.reconnectTimer);
  if (state.socket) return;
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  const socket = new WebSocket(scheme + location.host + socketPath);
  state.socket = socket;
  socket.addEventListener("open", () => {
    socket.send(
      JSON.stringify({
        type: "hello",
        conversation: state.conversation,
        token: state.token,
        last_seq: state.lastSeq,
      }),
    );
  });
  socket.addEventListener("message", (event) => {
    let frame;
    try {
      frame = JSON.parse(event.data);
    } catch {
      return;
    }
    handle(frame);
  });
  socket.addEventListener("close", () => {
    if (state.socket !== socket) return;
    state.socket = null;
    if (state.ended) return;
    setConnection(words.offline);
    // Jittered, so that after a server restart every page does not come back at once.
    const delay = Math.min(5000, 300 * 2 ** state.retry) * (0.5 + Math.random());
    state.retry += 1;
    state.reconnectTimer = setTimeout(() => connect(), delay);
  });
}

// Offline: the socket is as good as gone; close it so what is typed waits in the outbox.
window.addEventListener("offline", () => {
  if (state.socket) state.socket.close();
});
window.addEventListener("online", () => {
  if (!state.socket && !state.ended && state.token) {
    state.retry = 0;
    connect();
  }
});

function send(frame) {
  if (state.socket && state.socket.readyState === WebSocket.OPEN) {
    state.socket.send(JSON.stringify(frame));
    return true;
  }
  return false;
}

function setConnection(text) {
  const line = $("connection");
  line.textContent = text;
  line.hidden = !text;
}

// --- frames -------------------------------------------------------------------------------
function handle(frame) {
  switch (frame.type) {
    case "welcome":
      state.retry = 0;
      setConnection(state.lastSeq ? words.back : "");
      if (state.lastSeq) setTimeout(() => setConnection(""), 2000);
      setStatus(frame.status, frame);
      // After the replay (it follows the welcome), send what is still in the outbox: when
      // the newest message the server has is shown (or after 3 s, whatever happens).
      state.replayTo = frame.last_seq || 0;
      clearTimeout(state.replayTimer);
      state.replayTimer = setTimeout(replayDone, 3000);
      if (state.lastSeq >= state.replayTo) replayDone();
      break;
    case "queue":
      showQueue(frame.position, frame.estimate_minutes);
      break;
    case "status":
      setStatus(frame.status, frame);
      break;
    case "message":
      addMessage(frame);
      break;
    case "ack":
      confirm(frame.id, frame.seq);
      break;
    case "typing":
      $("typing").textContent = words.typing;
      $("typing").hidden = !frame.on;
      break;
    case "warning":
      addNotice(frame.message);
      break;
    case "end":
      finish(frame.message);
      break;
    case "error":
      onError(frame);
      break;
    default:
      break;
  }
}

function setStatus(status, frame) {
  state.status = status;
  if (status === "waiting") {
    showQueue(frame.position, frame.estimate_minutes);
  } else if (status === "active") {
    show("waiting", false);
    show("others", false);
    if (!root.dataset.greeted) {
      root.dataset.greeted = "1";
      addNotice(words.active);
    }
    $("text").focus();
  }
}

function showQueue(position, estimate) {
  if (state.status && state.status !== "waiting") return;
  show("waiting", true);
  $("queue-position").textContent = position ? fill(words.position, { n: position }) : words.waiting;
  $("queue-estimate").textContent =
    estimate === null || estimate === undefined
      ? words.no_estimate
      : fill(words.estimate, { m: estimate });
  const limit = Number(root.dataset.waitTooLong || 10);
  const long = estimate === null || estimate === undefined || estimate > limit;
  if (long) show("others", true);
}

setInterval(() => {
  const limit = Number(root.dataset.waitTooLong || 10);
  if (state.status === "waiting" && Date.now() - state.waitingSince > limit * 60000) {
    show("others", true);
  }
}, 30000);

// --- the log ------------------------------------------------------------------------------
function bubble(from, text, id) {
  const item = document.createElement("li");
  item.className = `msg from-${from}`;
  if (id) item.dataset.id = id;
  const who = document.createElement("span");
  who.className = "who";
  who.textContent = from === "child" ? words.you : from === "listener" ? words.listener : words.notice;
  const body = document.createElement("p");
  body.className = "text";
  body.textContent = text; // always text, never HTML
  item.append(who, body);
  return item;
}

function scrollDown() {
  const log = $("log");
  log.lastElementChild?.scrollIntoView({ block: "end" });
}

function replayDone() {
  clearTimeout(state.replayTimer);
  state.replayTo = null;
  flushOutbox();
}

function addMessage(frame) {
  if (frame.seq <= state.lastSeq) return; // already shown
  state.lastSeq = frame.seq;
  if (state.replayTo !== null && state.lastSeq >= state.replayTo) setTimeout(replayDone, 0);
  const pending = frame.id ? $("log").querySelector(`li[data-id="${CSS.escape(frame.id)}"]`) : null;
  if (pending) {
    pending.classList.remove("pending");
    pending.dataset.seq = String(frame.seq);
    state.outbox.delete(frame.id);
    return;
  }
  if (frame.from === "listener") $("typing").hidden = true;
  const item = bubble(frame.from, frame.text, frame.id);
  item.dataset.seq = String(frame.seq);
  $("log").append(item);
  scrollDown();
}

function addNotice(text) {
  const item = bubble("system", text, null);
  item.classList.add("notice");
  $("log").append(item);
  scrollDown();
}

function confirm(id, seq) {
  state.outbox.delete(id);
  if (seq > state.lastSeq) state.lastSeq = seq;
  const item = $("log").querySelector(`li[data-id="${CSS.escape(id)}"]`);
  if (item) {
    item.classList.remove("pending");
    item.dataset.seq = String(seq);
  }
}

function flushOutbox() {
  for (const [id, text] of state.outbox) {
    if (!send({ type: "message", id, text })) return;
  }
}

// --- writing ------------------------------------------------------------------------------
const compose = $("compose");
const box = $("text");
compose.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = box.value;
  if (!text.trim() || state.ended) return;
  const id = newId();
  state.outbox.set(id, text);
  const item = bubble("child", text, id);
  item.classList.add("pending");
  $("log").append(item);
  scrollDown();
  box.value = "";
  show("talk-error", false);
  send({ type: "message", id, text });
  state.lastTyping = 0;
});
box.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    compose.requestSubmit();
  }
});
box.addEventListener("input", () => {
  const now = Date.now();
  if (now - state.lastTyping > 2000) {
    state.lastTyping = now;
    send({ type: "typing", on: box.value.length > 0 });
  }
});

function onError(frame) {
  const error = $("talk-error");
  error.textContent = frame.message;
  error.hidden = false;
  if (frame.code === "not_found" || frame.code === "bad_hello") {
    finish(words.ended);
    return;
  }
  if (!frame.id || !state.outbox.has(frame.id)) return;
  if (frame.code === "too_fast") {
    setTimeout(flushOutbox, 3000);
    return;
  }
  // Refused for good: give the text back to the child to change.
  const text = state.outbox.get(frame.id);
  state.outbox.delete(frame.id);
  $("log").querySelector(`li[data-id="${CSS.escape(frame.id)}"]`)?.remove();
  if (!box.value) box.value = text;
}

// --- the end ------------------------------------------------------------------------------
$("end").addEventListener("click", () => {
  if (!send({ type: "end" })) finish(words.ended);
});

function finish(message) {
  state.ended = true;
  state.token = null;
  state.conversation = null;
  state.outbox.clear();
  $("log").replaceChildren();
  box.value = "";
  show("talk", false);
  show("waiting", false);
  show("intro", true);
  $("ended-message").textContent = message || words.ended;
  show("ended", true);
  if (state.socket) {
    const socket = state.socket;
    state.socket = null;
    socket.close();
  }
}
