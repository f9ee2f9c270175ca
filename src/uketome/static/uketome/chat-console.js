// The staff chat console (docs/chat-protocol.md): the live queue, several chats at once,
// supervision. All words come from the page (json_script).
const words = JSON.parse(document.getElementById("console-strings").textContent);
const phrases = JSON.parse(document.getElementById("console-phrases").textContent);
const lineNames = JSON.parse(document.getElementById("console-lines").textContent);
const $ = (id) => document.getElementById(id);
const fill = (text, values) => text.replace(/%\((\w+)\)s/g, (_, key) => String(values[key] ?? ""));

const state = {
  socket: null,
  retry: 0,
  lastSeq: {}, // conversation id -> last seq seen
  panels: new Map(), // conversation id -> panel element
  pending: new Map(), // client id -> {conversation, frame}
  canSupervise: false,
  queue: [],
  waiting: 0,
  ending: new Set(),
  opened: false, // the current socket opened (one that never does may mean "signed out")
  lastAlive: 0, // the last time the session was kept alive (see keepAlive)
};

const RISK_ORDER = ["none", "watch", "high", "urgent"];
const consoleRoot = $("console");

function newId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) =>
    b.toString(16).padStart(2, "0"),
  ).join("");
}

function connect() {
  // One socket at a time: the "online" event and the retry timer may both call this.
  clearTimeout(state.reconnectTimer);
  if (state.socket) return;
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  const socket = new WebSocket(scheme + location.host + "/ws/staff/chat/");
  state.socket = socket;
  state.opened = false;
  socket.addEventListener("open", () => {
    state.opened = true;
    // The chats shown as one's own: the server says which ended or went to someone else.
    const own = [...state.panels]
      .filter(([, panel]) => panel.dataset.role === "own" && !panel.dataset.closed)
      .map(([id]) => Number(id));
    socket.send(JSON.stringify({ type: "hello", last_seq: state.lastSeq, own }));
  });
  socket.addEventListener("message", (event) => handle(JSON.parse(event.data)));
  socket.addEventListener("close", async () => {
    if (state.socket !== socket) return;
    state.socket = null;
    setStatus(words.offline);
    // Jittered, so that after a server restart every page does not come back at once.
    let delay = Math.min(5000, 300 * 2 ** state.retry) * (0.5 + Math.random());
    state.retry += 1;
    // Refused before it opened: perhaps the sign-in has expired. Say so (and keep trying:
    // signing in again in another tab lets this console back in, with all it holds).
    if (!state.opened && (await signedOut())) {
      showSignedOut();
      delay = 15000;
    }
    clearTimeout(state.reconnectTimer);
    state.reconnectTimer = setTimeout(connect, delay);
  });
}

// --- the session ----------------------------------------------------------------------------
// The console works over its socket, which does not renew the sign-in: while the listener
// works here (keys, clicks), the session is renewed over HTTP every few minutes, so that
// a reconnect after 30 minutes of chatting is not refused.
async function signedOut() {
  try {
    const response = await fetch(consoleRoot.dataset.aliveUrl, {
      redirect: "manual",
      cache: "no-store",
    });
    return response.type === "opaqueredirect" || response.status === 401 || response.status === 403;
  } catch {
    return false; // the network or the server: not the sign-in
  }
}

function showSignedOut() {
  const status = $("console-status");
  status.textContent = `${words.signed_out} `;
  const link = document.createElement("a");
  link.href = consoleRoot.dataset.loginUrl;
  link.target = "_blank";
  link.rel = "noopener";
  link.textContent = words.sign_in_again;
  status.append(link);
}

// At most every 5 minutes, and three times within the idle time-out when it is shorter.
const RENEW_EVERY = Math.min(5 * 60000, ((Number(consoleRoot.dataset.idleSeconds) || 1800) * 1000) / 3);

function keepAlive() {
  if (Date.now() - state.lastAlive < RENEW_EVERY) return;
  state.lastAlive = Date.now();
  fetch(consoleRoot.dataset.aliveUrl, { redirect: "manual", cache: "no-store" }).catch(() => {});
}
for (const kind of ["keydown", "pointerdown"]) document.addEventListener(kind, keepAlive);

// Leaving (a link, a reload, closing the tab, signing out) while a chat is one's own would
// leave its child with nobody until it goes back to the queue: the browser asks first.
window.addEventListener("beforeunload", (event) => {
  const live = [...state.panels.values()].some(
    (panel) => panel.dataset.role === "own" && !panel.dataset.closed,
  );
  if (live) event.preventDefault();
});

// Offline: the socket is as good as gone; close it, and reconnect as soon as the network
// is back (the hello then says which chats the console still shows as its own).
window.addEventListener("offline", () => {
  if (state.socket) state.socket.close();
});
window.addEventListener("online", () => {
  if (!state.socket) {
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

function setStatus(text) {
  $("console-status").textContent = text;
}

function handle(frame) {
  switch (frame.type) {
    case "welcome":
      state.retry = 0;
      setStatus(words.online);
      state.canSupervise = frame.can_supervise;
      renderQueue(frame.queue, frame.waiting);
      takeDone();
      askTargets();
      for (const summary of frame.conversations) openPanel(summary, "own", false);
      // Watches are re-established after a reconnect.
      for (const [id, panel] of state.panels) {
        if (panel.dataset.role === "watch") {
          send({ type: "watch", conversation: Number(id), last_seq: state.lastSeq[id] || 0 });
        }
      }
      resendPending();
      break;
    case "queue":
      renderQueue(frame.items, frame.waiting);
      break;
    case "load":
      renderLoad(frame);
      break;
    case "assigned":
      takeDone();
      openPanel(frame.conversation, "own", true);
      break;
    case "watching":
      openPanel(frame.conversation, "watch", false);
      break;
    case "released": {
      const panel = state.panels.get(String(frame.conversation));
      const returned = frame.reason === "returned";
      let text = frame.to ? fill(words.released, { name: frame.to }) : words.released_gone;
      if (returned) text = words.released_returned;
      if (panel?.dataset.role === "watch") text = returned ? words.watch_returned : words.watch_ended;
      closeRole(frame.conversation, text);
      break;
    }
    case "message":
      addMessage(frame);
      break;
    case "risk":
      flagRisk(frame);
      break;
    case "ack":
      confirmSent(frame);
      break;
    case "typing": {
      const panel = state.panels.get(String(frame.conversation));
      if (panel) showTyping(panel, frame.on);
      break;
    }
    case "status":
      break;
    case "targets":
      showTargets(frame.people);
      break;
    case "warning":
      notice(frame.conversation, frame.code === "closing" ? words.closing : words.warned);
      break;
    case "alert":
      alertBanner(frame);
      break;
    case "end":
      ended(frame);
      break;
    case "error":
      showError(frame);
      break;
    default:
      break;
  }
}

// --- whom a chat can be handed to ------------------------------------------------------------
// A chat goes only to someone with the console open (the server refuses the others): the
// list says who is there, from the welcome on and again whenever it gets the focus.
let targetsAskedAt = 0;
function askTargets() {
  if (Date.now() - targetsAskedAt < 3000) return;
  if (send({ type: "targets" })) targetsAskedAt = Date.now();
}

let targetsShown = "";
function showTargets(people) {
  const shown = JSON.stringify(people);
  if (shown === targetsShown) return; // nothing changed: an open list stays as it is
  targetsShown = shown;
  const selects = [
    $("chat-panel").content.querySelector(".transfer"),
    ...document.querySelectorAll(".chat-panel .transfer"),
  ];
  for (const select of selects) {
    const chosen = select.value;
    const options = people.map((person) => {
      const option = document.createElement("option");
      option.value = String(person.id);
      const where = person.site ? ` (${person.site})` : "";
      option.textContent = `${person.name}${where}${person.open ? "" : ` ${words.console_closed}`}`;
      option.disabled = !person.open;
      return option;
    });
    select.replaceChildren(select.options[0], ...options);
    const still = people.find((person) => String(person.id) === chosen && person.open);
    select.value = still ? chosen : "";
  }
}

// --- queue and load -------------------------------------------------------------------------
function minutesSince(iso) {
  return Math.max(0, Math.floor((Date.now() - Date.parse(iso)) / 60000));
}

// The head of the queue (the server sends the first ones, in priority order) and how many
// wait in all.
function renderQueue(items, waiting) {
  state.queue = items;
  state.waiting = waiting ?? items.length;
  const rows = $("queue-rows");
  rows.replaceChildren();
  for (const item of items) {
    const row = document.createElement("tr");
    row.className = `risk-${item.risk}`;
    const cells = [
      `#${item.conversation}`,
      fill(words.waiting, { m: minutesSince(item.waiting_since) }),
      item.risk,
      item.age_band || "―",
      item.gender || "―",
      (item.topics || []).join(", ") || "―",
      item.line_name,
    ];
    for (const value of cells) {
      const cell = document.createElement("td");
      cell.textContent = value;
      row.append(cell);
    }
    rows.append(row);
  }
  const more = state.waiting - items.length;
  $("queue-more").hidden = more <= 0;
  $("queue-more").textContent = more > 0 ? fill(words.queue_more, { n: more }) : "";
  $("queue-count").textContent = String(state.waiting);
  $("queue-empty").hidden = state.waiting > 0;
}
setInterval(() => renderQueue(state.queue, state.waiting), 30000);

function renderLoad(frame) {
  $("load-panel").hidden = false;
  const listeners = $("load-listeners");
  listeners.replaceChildren();
  for (const person of frame.listeners) {
    const item = document.createElement("li");
    item.textContent = `${person.name}: ${person.active} ${words.active_chats}`;
    listeners.append(item);
  }
  const active = $("load-active");
  active.replaceChildren();
  for (const chat of frame.active) {
    const item = document.createElement("li");
    item.className = `risk-${chat.risk}`;
    const label = document.createElement("span");
    label.textContent = `#${chat.conversation} ${chat.line_name} - ${chat.listener} (${chat.risk})`;
    item.append(label);
    if (!state.panels.has(String(chat.conversation))) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = words.watch;
      button.addEventListener("click", () =>
        send({ type: "watch", conversation: chat.conversation, last_seq: 0 }),
      );
      item.append(" ", button);
    }
    active.append(item);
  }
}

// "Take next" waits for its answer (a second click would take a second child).
const take = $("take-next");
function takeDone() {
  clearTimeout(state.takeTimer);
  if (take) take.disabled = false;
}
if (take) {
  take.addEventListener("click", () => {
    if (!send({ type: "take_next" })) {
      setStatus(words.offline);
      return;
    }
    take.disabled = true;
    state.takeTimer = setTimeout(takeDone, 5000);
  });
}

// --- panels ---------------------------------------------------------------------------------
function openPanel(summary, role, focus) {
  const key = String(summary.id);
  let panel = state.panels.get(key);
  if (!panel) {
    panel = $("chat-panel").content.firstElementChild.cloneNode(true);
    panel.dataset.conversation = key;
    state.panels.set(key, panel);
    $("chats").append(panel);
    wire(panel, summary);
    if (!(key in state.lastSeq)) state.lastSeq[key] = 0;
  }
  panel.dataset.role = role;
  delete panel.dataset.closed; // (a chat handed back to this console is live again)
  panel.querySelector(".panel-actions").hidden = false;
  panel.querySelector(".title").textContent = `#${summary.id} ${summary.line_name}`;
  showRisk(panel, summary.risk);
  panel.querySelector(".role").textContent = role === "watch" ? words.watching : "";
  const answers = [summary.age_band, summary.gender, ...(summary.topics || [])].filter(Boolean);
  panel.querySelector(".prechat").textContent = answers.join(" / ");
  const own = role === "own";
  panel.querySelector(".compose").hidden = !own;
  panel.querySelector(".whisper").hidden = own || !state.canSupervise;
  panel.querySelector(".takeover").hidden = own || !state.canSupervise;
  panel.querySelector(".unwatch").hidden = own;
  panel.querySelector(".transfer-box").hidden = !own && !state.canSupervise;
  panel.querySelector(".end").hidden = !own && !state.canSupervise;
  panel.querySelector(".side").hidden = false;
  panel.querySelector(".dismiss").hidden = true;
  const select = panel.querySelector(".phrases");
  if (select.options.length === 1) {
    for (const text of phrases[String(summary.line)] || []) {
      const option = document.createElement("option");
      option.value = text;
      option.textContent = text;
      select.append(option);
    }
  }
  // A new chat takes the focus only from nobody: never from a message being written to
  // another child (the text would go to the wrong chat).
  const writing = document.activeElement?.closest(".chat-panel");
  if (own && focus && (!writing || writing === panel)) panel.querySelector("textarea").focus();
}

function showRisk(panel, risk) {
  const shown = panel.dataset.risk || "none";
  if (RISK_ORDER.indexOf(risk) < RISK_ORDER.indexOf(shown)) return; // never lowered here
  panel.dataset.risk = risk;
  panel.querySelector(".risk").textContent = `${words.risk}: ${risk}`;
  panel.classList.toggle("at-risk", risk === "high" || risk === "urgent");
}

function showTyping(panel, on) {
  const typing = panel.querySelector(".typing");
  typing.textContent = words.typing;
  typing.hidden = !on;
  clearTimeout(Number(typing.dataset.timer || 0));
  // A "stopped" that never comes (the child's page closed) does not leave it on.
  if (on) typing.dataset.timer = String(setTimeout(() => (typing.hidden = true), 6000));
}

function wire(panel, summary) {
  const id = summary.id;
  const box = panel.querySelector("textarea");
  let lastTyping = 0;
  panel.querySelector(".compose").addEventListener("submit", (event) => {
    event.preventDefault();
    if (!box.value.trim()) return;
    post(panel, { type: "send", conversation: id, id: newId(), text: box.value });
    box.value = "";
    lastTyping = 0;
  });
  box.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      panel.querySelector(".compose").requestSubmit();
    }
  });
  box.addEventListener("input", () => {
    // "Stopped" always goes at once (an emptied box); "writing" at most every 2 s.
    if (!box.value || Date.now() - lastTyping > 2000) {
      lastTyping = box.value ? Date.now() : 0;
      send({ type: "typing", conversation: id, on: box.value.length > 0 });
    }
  });
  panel.querySelector(".phrases").addEventListener("change", (event) => {
    if (event.target.value) {
      box.value = box.value ? `${box.value}\n${event.target.value}` : event.target.value;
      event.target.value = "";
      box.focus();
    }
  });
  panel.querySelector(".side").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = event.target.elements.note;
    if (!input.value.trim()) return;
    post(panel, { type: "note", conversation: id, id: newId(), text: input.value });
    input.value = "";
  });
  panel.querySelector(".whisper").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = event.target.elements.whisper;
    if (!input.value.trim()) return;
    post(panel, { type: "whisper", conversation: id, id: newId(), text: input.value });
    input.value = "";
  });
  panel.querySelector(".takeover").addEventListener("click", () =>
    send({ type: "takeover", conversation: id }),
  );
  panel.querySelector(".unwatch").addEventListener("click", () => {
    send({ type: "unwatch", conversation: id });
    removePanel(id);
  });
  // Who has the console open is asked again when the list is about to be used.
  panel.querySelector(".transfer").addEventListener("focus", askTargets);
  // Choosing a name does nothing yet (arrow keys in the list choose as they go): the
  // button hands the chat on, after a question.
  panel.querySelector(".transfer-go").addEventListener("click", () => {
    const select = panel.querySelector(".transfer");
    if (!select.value) return;
    const name = select.selectedOptions[0].textContent;
    if (!window.confirm(fill(words.transfer_confirm, { name }))) return;
    send({ type: "transfer", conversation: id, to: Number(select.value) });
    select.value = "";
  });
  panel.querySelector(".dismiss").addEventListener("click", () => {
    send({ type: "unwatch", conversation: id });
    removePanel(id);
  });
  panel.querySelector(".end").addEventListener("click", () => {
    if (window.confirm(words.end_confirm)) {
      state.ending.add(String(id));
      send({ type: "end", conversation: id });
    }
  });
}

function post(panel, frame) {
  state.pending.set(frame.id, frame);
  const from = frame.type === "send" ? "listener" : frame.type;
  const item = line(from, frame.text, null);
  item.dataset.id = frame.id;
  item.classList.add("pending");
  panel.querySelector(".log").append(item);
  item.scrollIntoView({ block: "end" });
  send(frame);
}

function resendPending() {
  for (const frame of state.pending.values()) send(frame);
}

function line(from, text, author) {
  const item = document.createElement("li");
  item.className = `msg from-${from}`;
  const who = document.createElement("span");
  who.className = "who";
  const labels = {
    child: words.child,
    listener: words.listener,
    system: words.system,
    note: words.note_label,
    whisper: words.whisper_label,
  };
  who.textContent = author ? `${labels[from] || from} (${author})` : labels[from] || from;
  const body = document.createElement("p");
  body.className = "text";
  body.textContent = text;
  item.append(who, body);
  return item;
}

function addMessage(frame) {
  const key = String(frame.conversation);
  const panel = state.panels.get(key);
  if (!panel) return;
  if (frame.seq <= (state.lastSeq[key] || 0)) return;
  state.lastSeq[key] = frame.seq;
  const mine = frame.id ? panel.querySelector(`li[data-id="${CSS.escape(frame.id)}"]`) : null;
  if (mine) {
    mine.classList.remove("pending");
    state.pending.delete(frame.id);
    return;
  }
  const item = line(frame.from, frame.text, frame.author);
  if (frame.id) item.dataset.id = frame.id;
  item.dataset.seq = String(frame.seq);
  if (frame.risk === "high" || frame.risk === "urgent") item.classList.add("risky");
  if (frame.from === "child") panel.querySelector(".typing").hidden = true;
  panel.querySelector(".log").append(item);
  item.scrollIntoView({ block: "end" });
}

// A child's message is delivered first and assessed a moment later.
function flagRisk(frame) {
  const panel = state.panels.get(String(frame.conversation));
  if (!panel) return;
  const item = panel.querySelector(`li[data-seq="${Number(frame.seq)}"]`);
  if (item && (frame.risk === "high" || frame.risk === "urgent")) item.classList.add("risky");
  showRisk(panel, frame.risk);
}

function confirmSent(frame) {
  const key = String(frame.conversation);
  state.pending.delete(frame.id);
  if (frame.seq > (state.lastSeq[key] || 0)) state.lastSeq[key] = frame.seq;
  const panel = state.panels.get(key);
  const item = panel?.querySelector(`li[data-id="${CSS.escape(frame.id)}"]`);
  item?.classList.remove("pending");
  if (panel) panel.querySelector(".panel-error").hidden = true;
}

function notice(conversation, text) {
  const panel = state.panels.get(String(conversation));
  if (!panel) return;
  const item = line("system", text, null);
  panel.querySelector(".log").append(item);
}

function closeRole(conversation, text) {
  notice(conversation, text);
  const panel = state.panels.get(String(conversation));
  if (!panel) return;
  panel.dataset.closed = "1";
  for (const selector of [".compose", ".side", ".whisper"]) {
    panel.querySelector(selector).hidden = true;
  }
  onlyDismiss(panel);
}

// A panel whose chat is no longer one's own or watched: only "Close this panel" is left.
function onlyDismiss(panel) {
  panel.querySelector(".panel-actions").hidden = false;
  for (const control of panel.querySelectorAll(".panel-actions > button, .transfer-box")) {
    control.hidden = true;
  }
  panel.querySelector(".dismiss").hidden = false;
}

function removePanel(conversation) {
  const key = String(conversation);
  state.panels.get(key)?.remove();
  state.panels.delete(key);
  delete state.lastSeq[key];
}

function ended(frame) {
  const key = String(frame.conversation);
  const panel = state.panels.get(key);
  if (!panel) return;
  notice(frame.conversation, words.ended);
  panel.dataset.closed = "1";
  for (const selector of [".compose", ".side", ".whisper", ".panel-actions"]) {
    panel.querySelector(selector).hidden = true;
  }
  onlyDismiss(panel);
  if (frame.record_url) {
    const link = panel.querySelector(".record");
    link.href = frame.record_url;
    link.hidden = false;
    // The focus moves to the record only when the listener ended the chat: a chat that
    // ended by itself must not take it from a message being written to another child.
    if (state.ending.has(key)) {
      link.focus();
      window.open(frame.record_url, "_blank", "noopener");
    }
  }
  state.ending.delete(key);
}

const INPUTS = { send: "textarea", note: "input[name=note]", whisper: "input[name=whisper]" };

function showError(frame) {
  if (!frame.id) takeDone(); // the answer to "take next" (nobody waiting, the limit...)
  const panel = frame.conversation ? state.panels.get(String(frame.conversation)) : null;
  const target = panel ? panel.querySelector(".panel-error") : $("console-status");
  target.textContent = frame.message;
  target.hidden = false;
  const pending = frame.id ? state.pending.get(frame.id) : null;
  if (!pending) return;
  if (frame.code === "too_fast") {
    // Sent again by itself in a moment (the same id: stored once).
    setTimeout(() => {
      if (state.pending.has(frame.id)) send(pending);
    }, 3000);
    return;
  }
  // Refused for good: struck through, and the text is given back to be changed.
  state.pending.delete(frame.id);
  panel?.querySelector(`li[data-id="${CSS.escape(frame.id)}"]`)?.classList.add("refused");
  const input = panel?.querySelector(INPUTS[pending.type]);
  if (input) {
    const between = input.tagName === "TEXTAREA" ? "\n" : " ";
    input.value = input.value ? `${pending.text}${between}${input.value}` : pending.text;
  }
}

// Stays until dismissed: a supervisor who looked away for a minute still sees it.
function alertBanner(frame) {
  const banner = document.createElement("p");
  banner.className = `alert risk-${frame.risk}`;
  banner.textContent = `${fill(words.alert, { id: frame.conversation })} (${frame.risk}) `;
  const dismiss = document.createElement("button");
  dismiss.type = "button";
  dismiss.textContent = words.dismiss;
  dismiss.addEventListener("click", () => banner.remove());
  banner.append(dismiss);
  $("chat-alerts").append(banner);
}

void lineNames;
connect();
