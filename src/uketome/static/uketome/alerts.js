// Live alerts for supervisors: a banner the moment a contact, a letter or a question at
// high or urgent risk arrives at their site. Reconnects by itself; the escalation list
// (and each queue) is the full record. Events name their own page in `url` when they have
// one; a contact's page is built from the contact list's address.
const TEXTS = {
  "escalation.raised": "text",
  "mail.letter_at_risk": "textLetter",
  "qa.question_at_risk": "textQuestion",
  "chat.risk": "textChat",
};
const root = document.body;
const region = document.getElementById("live-alerts");
if (root.dataset.alerts === "on" && region) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  let delay = 1000;
  const connect = () => {
    const socket = new WebSocket(`${scheme}://${location.host}/ws/staff/alerts/`);
    socket.addEventListener("open", () => {
      delay = 1000;
      root.dataset.alertsConnected = "yes";
    });
    socket.addEventListener("message", (event) => {
      const data = JSON.parse(event.data);
      const textKey = TEXTS[data.event];
      if (!textKey) return;
      // The chat console has its own banner for a chat at risk.
      if (data.event === "chat.risk" && document.getElementById("console")) return;
      const item = document.createElement("p");
      item.className = `alert rank-${data.rank}`;
      const link = document.createElement("a");
      link.href = data.url || `${region.dataset.contactUrl}${data.contact}/`;
      link.textContent = (region.dataset[textKey] || region.dataset.text)
        .replace("{risk}", data.risk)
        .replace("{line}", data.line)
        .replace("{site}", data.site || "-");
      item.append(link);
      region.prepend(item);
      region.hidden = false;
    });
    socket.addEventListener("close", (event) => {
      root.dataset.alertsConnected = "no";
      if (event.code === 4403) return;
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    });
  };
  connect();
}
