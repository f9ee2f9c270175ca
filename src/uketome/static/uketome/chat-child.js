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
  ready: false, // welcomed and the replay shown: new messages may go straight out
  welcomed: false, // the current socket has had its welcome
  lastHeard: 0, // when the socket last brought a frame
  pingSentAt: 0, // a ping not answered yet (any frame answers it)
  backTimer: 0,
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
  state.ready = false;
  state.welcomed = false;
  socket.addEventListener("open", () => {
    state.lastHeard = Date.now();
    state.pingSentAt = 0;
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
    if (state.socket !== socket) return; // an old socket, already given up
    state.lastHeard = Date.now();
    state.pingSentAt = 0;
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
    dropSocket();
  });
}

// The socket is given up (closed, the network gone, or silent too long): what is typed
// waits in the outbox; a new socket is tried soon.
function dropSocket() {
  const socket = state.socket;
  state.socket = null;
  state.ready = false;
  state.welcomed = false;
  // The old socket's timers must not let anything out on the next one.
  clearTimeout(state.replayTimer);
  clearTimeout(state.fastTimer);
  if (socket && socket.readyState <= WebSocket.OPEN) socket.close();
  if (state.ended) return;
  clearTimeout(state.backTimer);
  setConnection(words.offline);
  // Jittered, so that after a server restart every page does not come back at once.
  const delay = Math.min(5000, 300 * 2 ** state.retry) * (0.5 + Math.random());
  state.retry += 1;
  clearTimeout(state.reconnectTimer);
  state.reconnectTimer = setTimeout(() => connect(), delay);
}

// Offline: the socket is as good as gone (closing it can take a minute on a dead network).
window.addEventListener("offline", () => {
  if (state.socket) dropSocket();
});

// A connection can die without a word (weak signal, the phone still "online"): after 15 s
// without a frame the page asks (ping); no answer within 10 s, and the socket is given up.
// Only once welcomed (before that, the server's own hello time limit applies, and a busy
// server may take long to answer a hello).
setInterval(() => {
  const socket = state.socket;
  if (!socket || socket.readyState !== WebSocket.OPEN || !state.welcomed) return;
  const now = Date.now();
  if (state.pingSentAt) {
    if (now - state.pingSentAt > 10000) dropSocket();
  } else if (now - state.lastHeard > 15000) {
    state.pingSentAt = now;
    send({ type: "ping" });
  }
}, 5000);
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
      state.welcomed = true;
      state.ready = false; // until the replay is shown (replayDone)
      setConnection(state.lastSeq ? words.back : "");
      clearTimeout(state.backTimer);
      if (state.lastSeq) state.backTimer = setTimeout(() => setConnection(""), 2000);
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
  const before = state.status;
  state.status = status;
  if (status === "waiting") {
    if (before === "active") {
      // Back in the queue (the listener's connection was lost): the next listener's
      // arrival is announced again, and the wait counts from now.
      delete root.dataset.greeted;
      state.waitingSince = Date.now();
      show("typing", false);
    }
    showQueue(frame.position, frame.estimate_minutes);
  } else if (status === "active") {
    show("waiting", false);
    show("others", false);
    if (!root.dataset.greeted) {
      // Focus moves to the box once, when the listener arrives (not at every reconnect:
      // a screen reader would lose its place).
      root.dataset.greeted = "1";
      addNotice(words.active);
      $("text").focus();
    }
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
  if (state.replayTo === null || !state.welcomed) return;
  state.replayTo = null;
  state.ready = true;
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
  // Straight out only when nothing older waits to be resent: the server stores in the
  // order it receives, and the listener must read in the order typed.
  if (state.ready) send({ type: "message", id, text });
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
  if (frame.code === "not_found") {
    finish(words.ended);
    return;
  }
  if (!frame.id || !state.outbox.has(frame.id)) return;
  if (frame.code === "too_fast") {
    // The rest waits with it, so that nothing overtakes it; all go again in 3 s.
    state.ready = false;
    clearTimeout(state.fastTimer);
    state.fastTimer = setTimeout(() => {
      const open = state.socket?.readyState === WebSocket.OPEN && state.welcomed;
      if (!open || state.replayTo !== null) return; // the next welcome resends
      state.ready = true;
      flushOutbox();
    }, 3000);
    return;
  }
  // Refused for good: give the text back to the child to change, before anything typed
  // since (nothing the child wrote is lost).
  const text = state.outbox.get(frame.id);
  state.outbox.delete(frame.id);
  $("log").querySelector(`li[data-id="${CSS.escape(frame.id)}"]`)?.remove();
  box.value = box.value ? `${text}\n${box.value}` : text;
}

// --- links while a chat is on -------------------------------------------------------------
// The chat lives only in this page: following a link in the same tab would end it. A
// furigana choice is applied in place (the page's words fetched again with the new choice,
// the address updated); any other link asks first. The quick exit never asks, and a phone
// number or a link to a new tab leaves the page as it is.
const chatOn = () => Boolean(state.token) && !state.ended;

document.addEventListener("click", (event) => {
  const link = event.target.closest?.("a[href]");
  if (!link || link.id === "quick-exit" || !chatOn() || event.defaultPrevented) return;
  if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) {
    return;
  }
  if (link.target && link.target !== "_self") return;
  const url = new URL(link.href, location.href);
  if (url.protocol !== "http:" && url.protocol !== "https:") return; // tel:, mailto:
  const here = new URL(location.href);
  const samePage = url.origin === here.origin && url.pathname === here.pathname;
  if (url.hash && samePage && url.search === here.search) return; // the skip link
  event.preventDefault();
  if (link.closest("[data-regrade='grades']") && url.pathname === location.pathname) {
    regrade(url);
  } else if (window.confirm(words.leave_confirm)) {
    location.assign(url.href);
  }
});

async function regrade(url) {
  let fresh;
  try {
    const response = await fetch(url.href, { credentials: "omit", cache: "no-store" });
    if (!response.ok) return;
    fresh = new DOMParser().parseFromString(await response.text(), "text/html");
  } catch {
    return; // offline: the words stay as they are
  }
  const inGrades = Boolean(document.activeElement?.closest?.("[data-regrade='grades']"));
  for (const part of document.querySelectorAll("[data-regrade]")) {
    const twin = fresh.querySelector(`[data-regrade="${part.dataset.regrade}"]`);
    if (!twin) continue;
    part.replaceChildren(...[...twin.childNodes].map((node) => document.importNode(node, true)));
    if (twin.hasAttribute("href")) part.setAttribute("href", twin.getAttribute("href"));
  }
  history.replaceState(null, "", url.pathname + url.search);
  // The link chosen was replaced: the focus goes to the new choice, not to the page's top.
  if (inGrades) document.querySelector("[data-regrade='grades'] a[aria-current]")?.focus();
}

// --- the end ------------------------------------------------------------------------------
$("end").addEventListener("click", () => {
  if (!window.confirm(words.end_confirm)) return;
  if (!send({ type: "end" })) finish(words.ended);
});

function finish(message) {
  // What the child wrote that never reached anyone is shown once more, so that it can be
  // said again (in a new chat); like everything else, only on this screen, until it goes.
  const unsent = [...state.outbox.values()];
  const draft = box.value.trim() ? box.value : "";
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
  const left = [...unsent, ...(draft ? [draft] : [])];
  $("unsent-title").textContent = fill(words.left_over, { n: left.length });
  $("unsent").replaceChildren(
    ...left.map((text) => {
      const item = document.createElement("li");
      item.textContent = text;
      return item;
    }),
  );
  show("unsent-box", left.length > 0);
  show("ended", true);
  $("ended-message").focus();
  if (state.socket) {
    const socket = state.socket;
    state.socket = null;
    socket.close();
  }
}
