// The chat: a goal box, the conversation, and the job it started beside it (live trace, leads).
// Every message goes through POST /api/chat, which reads goals, refinements ("only Germany",
// "exclude Google", "make the emails shorter") and questions ("why is #3 first?") exactly as the API does.

import { api } from "./api.js";
import { fmtDate, h, notice, replace } from "./dom.js";
import { mountJob } from "./jobview.js";
import { planChips } from "./plan.js";

const EXAMPLES = [
  "Find Python maintainers active in ML, exclude Google/Meta/Microsoft, EU or US",
  "Top 20 Rust developers in Germany active in the last 30 days",
  "React component library maintainers in North America",
];

export function renderChat(root, threadId) {
  const state = { threadId, jobId: null, job: null, planSlot: null, closed: false };
  const log = h("div", { class: "chat-log", "aria-live": "polite" });
  const input = h("textarea", {
    rows: 3,
    maxlength: 2000,
    placeholder: "Describe who you want to reach, or refine: “only Germany”, “exclude Google”, “why is #3 first?”",
    testid: "goal-input",
  });
  const send = h("button", { type: "submit", testid: "goal-submit" }, "Send");
  const status = h("div", { class: "form-status" });
  const form = h("form", { class: "chat-form" }, input, h("div", { class: "row" }, send, status));
  const jobPanel = h("section", { class: "job-panel" }, h("p", { class: "muted" }, "The job a goal starts appears here: its live trace, then its leads."));
  const examples = h(
    "div",
    { class: "examples" },
    h("span", { class: "muted" }, "Try: "),
    EXAMPLES.map((text) => h("button", { type: "button", class: "link", onclick: () => { input.value = text; input.focus(); } }, text)),
  );
  replace(root, h("div", { class: "chat-layout" }, h("section", { class: "chat" }, log, form, examples), jobPanel));

  let unmountJob = null;
  function showJob(jobId) {
    if (jobId === state.jobId) return;
    if (unmountJob) unmountJob();
    state.jobId = jobId;
    unmountJob = mountJob(jobPanel, jobId, {
      onPlan: (audience, maxProspects, text) => {
        if (state.planSlot) replace(state.planSlot, planChips(audience, maxProspects, text));
      },
    });
  }

  function bubble(role, content, { at, intent, changes, details } = {}) {
    const body = h("div", { class: "bubble-text" }, content);
    const item = h(
      "div",
      { class: `bubble ${role}` },
      h("div", { class: "bubble-meta muted" }, role === "user" ? "You" : "Assistant", at ? ` · ${fmtDate(at)}` : "", intent ? ` · ${intent}` : ""),
      body,
      changes?.length ? h("ul", { class: "changes" }, changes.map((c) => h("li", {}, c))) : null,
      details ? h("details", { class: "answer-details" }, h("summary", {}, "The data behind this answer"), h("pre", {}, JSON.stringify(details, null, 2))) : null,
    );
    log.append(item);
    log.scrollTop = log.scrollHeight;
    return item;
  }

  function planSlotFor(item) {
    state.planSlot = h("div", { class: "plan-summary", testid: "plan-summary" }, h("span", { class: "muted" }, "Planning… the audience the planner understood appears here."));
    item.append(state.planSlot);
  }

  async function load() {
    if (!threadId) {
      bubble("assistant", "Tell me who you want to reach. I plan the search, find developers on GitHub with evidence, draft outreach and review every message for compliance.");
      return;
    }
    try {
      const thread = await api("GET", `/api/chat/${encodeURIComponent(threadId)}`);
      let lastJobReply = null;
      for (const m of thread.messages) {
        const item = bubble(m.role, m.content, { at: m.at, intent: m.intent });
        if (m.role === "assistant" && m.job_id && (m.intent === "goal" || m.intent === "refine" || m.intent === "lookalike")) lastJobReply = item;
      }
      if (lastJobReply) planSlotFor(lastJobReply);
      if (thread.job_id) showJob(thread.job_id);
    } catch (error) {
      log.append(notice(error.detail || String(error)));
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const message = input.value.trim();
    if (!message) return;
    send.disabled = true;
    replace(status, h("span", { class: "muted" }, "Thinking…"));
    bubble("user", message);
    try {
      const reply = await api("POST", "/api/chat", { message, thread_id: state.threadId || null });
      input.value = "";
      replace(status);
      const item = bubble("assistant", reply.reply, { intent: reply.intent, changes: reply.changes, details: reply.details });
      if (!state.threadId) {
        state.threadId = reply.thread_id;
        history.replaceState(null, "", `#/chat/${encodeURIComponent(reply.thread_id)}`);
      }
      if (reply.job_created) planSlotFor(item);
      if (reply.job) showJob(reply.job.id);
    } catch (error) {
      replace(status, notice(error.detail || String(error)));
    } finally {
      send.disabled = false;
    }
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.metaKey || event.ctrlKey)) form.requestSubmit();
  });

  load();
  return () => {
    if (unmountJob) unmountJob();
  };
}
