// The live trace: the job's SSE stream rendered as it arrives, grouped by agent. Events are queued
// as they come and drawn once per animation frame in batches that stop after ~12 ms, so a 10,000-event
// replay never freezes the page. EventSource resumes a dropped connection by itself with
// Last-Event-ID; after a page reload the stream is replayed from the start (ids make it exact).
// `window.cmoTrace` exposes counters (received, rendered, lag from receipt to row) for the browser tests.

import { api } from "./api.js";
import { h, replace } from "./dom.js";

const GROUP_OF = {
  planner: "Planner",
  researcher: "Researcher",
  researcher_agent: "Researcher",
  researcher_repo: "Researcher",
  select_candidates: "Researcher",
  enricher: "Enricher",
  enricher_batch: "Enricher",
  enricher_wave: "Enricher",
  rank: "Enricher",
  copywriter: "Copywriter",
  compliance: "Compliance",
};
const EVENTS = [
  "job.created", "job.started", "job.progress", "job.failed", "job.cancelled", "campaign.completed",
  "agent.started", "agent.finished", "agent.reasoning", "tool.called", "tool.result",
  "prospect.found", "prospect.enriched", "prospect.dropped", "message.drafted", "compliance.reviewed",
  "llm.called", "llm.result", "llm.failed",
  "message.sent", "message.bounced", "message.replied", "campaign.paused",
  "sync.completed", "sync.failed",
];
const STATUS_OF = { "job.created": "queued", "job.started": "running", "campaign.completed": "succeeded", "job.failed": "failed", "job.cancelled": "cancelled" };
const TERMINAL = new Set(["campaign.completed", "job.failed", "job.cancelled"]);
const SENDING = new Set(["message.sent", "message.bounced", "message.replied", "campaign.paused"]);
const COUNTED = { "message.sent": "sent", "message.bounced": "bounced", "message.replied": "replied", "tool.called": "tool calls", "llm.called": "model calls", "llm.failed": "model failures", "prospect.found": "found", "prospect.enriched": "enriched", "prospect.dropped": "dropped", "message.drafted": "drafted", "compliance.reviewed": "reviewed", "agent.reasoning": "notes" };
const FRAME_BUDGET_MS = 12;

function time(ts) {
  return typeof ts === "string" ? ts.slice(11, 19) : "";
}

function short(value, max = 160) {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text && text.length > max ? `${text.slice(0, max)}…` : text || "";
}

// A dropped person's evidence as "key value · key value" (lists joined), for the muted part of the row.
function evidence(facts) {
  if (!facts || typeof facts !== "object") return "";
  const shown = Object.entries(facts)
    .filter(([, v]) => v !== null && v !== undefined && !(Array.isArray(v) && !v.length))
    .map(([k, v]) => `${k.replaceAll("_", " ")} ${Array.isArray(v) ? v.join(", ") : typeof v === "object" ? JSON.stringify(v) : v}`);
  return short(shown.join(" · "), 240);
}

export function mountTrace(container, jobId, { onPlan, onCount, onStatus } = {}) {
  const stats = { received: 0, rendered: 0, lastSeq: 0, lastLagMs: 0, maxLagMs: 0, opens: 0, ended: false };
  window.cmoTrace = stats;
  const state = h("p", { class: "muted small trace-state", testid: "trace-state" }, "Connecting to the job's event stream…");
  const groupsEl = h("div", { class: "trace" });
  replace(container, state, groupsEl);
  const groups = new Map();
  const openTools = new Map();
  const openModelCalls = new Map(); // task|call_id -> the status span of an llm.called row still waiting
  let queue = [];
  let frame = 0;
  let source = null;
  let lastSeq = 0;

  function groupFor(env) {
    const agent = env.data?.agent;
    const name = SENDING.has(env.event) ? "Sending" : env.event.startsWith("job.") || env.event === "campaign.completed" ? "Job" : GROUP_OF[agent] || (agent ? String(agent) : "Job");
    let group = groups.get(name);
    if (!group) {
      const counts = h("span", { class: "counts muted" });
      const status = h("span", { class: "group-status" });
      const list = h("div", { class: "rows" });
      const section = h("details", { class: "group", open: true, dataset: { group: name } }, h("summary", {}, h("strong", {}, name), " ", status, " ", counts), list);
      group = { name, section, list, counts, status, tally: {}, fragment: null };
      groups.set(name, group);
      groupsEl.append(section);
    }
    return group;
  }

  function row(env, seq, ...content) {
    return h("div", { class: `row ev-${env.event.replace(".", "-")}`, testid: "trace-event", dataset: { seq: String(seq) } }, h("time", { class: "muted" }, time(env.timestamp)), " ", content);
  }

  function describe(env, seq, group) {
    const d = env.data || {};
    switch (env.event) {
      case "agent.reasoning":
        if (env.data?.agent === "planner" && d.audience && onPlan) onPlan(d.audience, d.max_prospects, d.text);
        return row(env, seq, h("span", { class: "reasoning" }, d.text ?? ""));
      case "agent.started":
        replace(group.status, "running");
        return row(env, seq, h("span", { class: "muted" }, `${d.agent} started`));
      case "agent.finished":
        replace(group.status, "done");
        return row(env, seq, h("span", { class: "muted" }, `${d.agent} finished${d.duration_ms != null ? ` in ${Math.round(d.duration_ms)} ms` : ""}`));
      case "tool.called": {
        const summary = h("summary", {}, h("code", {}, d.tool ?? "tool"), h("span", { class: "muted" }, " running…"));
        const why = d.reason ? h("p", { class: "muted" }, `why: ${d.reason}`) : null; // a model's stated reason (researcher agent)
        const details = h("details", { class: "tool" }, summary, why, h("pre", {}, JSON.stringify(d.args ?? {}, null, 2)));
        const key = `${d.agent}|${d.task}|${d.tool}`;
        if (!openTools.has(key)) openTools.set(key, []);
        openTools.get(key).push(summary);
        return row(env, seq, details);
      }
      case "tool.result": {
        const pending = openTools.get(`${d.agent}|${d.task}|${d.tool}`);
        const summary = pending && pending.shift();
        const facts = [d.summary, d.duration_ms != null ? `${Math.round(d.duration_ms)} ms` : null, d.budget_left != null ? `budget left ${d.budget_left}` : null].filter(Boolean).join(" · ");
        if (summary) {
          replace(summary, h("code", {}, d.tool ?? "tool"), h("span", { class: "muted" }, ` ${facts}`));
          return null;
        }
        return row(env, seq, h("code", {}, d.tool ?? "tool"), h("span", { class: "muted" }, ` ${facts}`));
      }
      case "llm.called": {
        const status = h("span", { class: "muted" }, " waiting…");
        openModelCalls.set(`${d.task}|${d.call_id}`, status);
        const retry = d.retry ? ` · retry ${d.retry}` : "";
        const waited = d.waited_ms ? ` · rate limit held it ${d.waited_ms} ms` : "";
        const facts = ` ${d.model ?? ""} · prompt ${d.prompt_version ?? "?"} · attempt ${d.attempt ?? 1}${retry}${waited}`;
        return row(env, seq, "model ", h("code", {}, d.schema ?? "call"), h("span", { class: "muted" }, facts), status);
      }
      case "llm.result": {
        const tokens = d.tokens_in != null ? ` · ${d.tokens_in} tokens in, ${d.tokens_out} out` : "";
        const text = ` answered in ${Math.round(d.latency_ms ?? 0)} ms${tokens}`;
        const status = openModelCalls.get(`${d.task}|${d.call_id}`);
        openModelCalls.delete(`${d.task}|${d.call_id}`);
        if (status) {
          replace(status, text);
          return null;
        }
        return row(env, seq, "model ", h("code", {}, d.schema ?? "call"), h("span", { class: "muted" }, text));
      }
      case "llm.failed": {
        const status = openModelCalls.get(`${d.task}|${d.call_id}`);
        openModelCalls.delete(`${d.task}|${d.call_id}`);
        if (status) replace(status, ` failed after ${Math.round(d.latency_ms ?? 0)} ms`);
        const label = d.kind === "rejected" ? "answer rejected: " : `model ${d.kind ?? "failure"}: `;
        const next = d.breaker === "open" ? " — circuit breaker open: deterministic path from here" : d.will_retry ? " — retrying" : "";
        return row(env, seq, h("strong", { class: "error" }, label), short(d.reason ?? ""), h("span", { class: "muted" }, next));
      }
      case "prospect.found":
        return row(env, seq, "found ", h("strong", {}, d.login ?? ""), ` in ${(d.repos || []).length} repos`);
      case "prospect.enriched":
        return row(env, seq, "enriched ", h("strong", {}, d.prospect_id ?? ""), h("span", { class: "muted" }, ` ${(d.signals || []).join(", ")}`));
      case "prospect.dropped":
        return row(env, seq, "dropped ", h("strong", {}, d.login ?? ""), `: ${d.text ?? d.reason ?? ""}`, h("span", { class: "muted" }, ` ${evidence(d.evidence)}`));
      case "message.drafted":
        return row(env, seq, "drafted “", h("em", {}, d.subject ?? ""), "” for ", h("strong", {}, d.prospect_id ?? ""), h("span", { class: "muted" }, ` (${d.written_by ?? ""})`));
      case "compliance.reviewed":
        return row(env, seq, h("strong", {}, d.prospect_id ?? ""), " ", h("span", { class: `verdict v-${d.verdict}` }, d.verdict ?? ""), h("span", { class: "muted" }, (d.reasons || []).length ? ` ${(d.reasons || []).map((r) => String(r).split(":")[0]).join(", ")}` : ""));
      case "campaign.completed":
        return row(env, seq, h("strong", {}, "completed: "), `${d.prospects_found ?? 0} leads, ${d.emails_contactable ?? 0} contactable, ${d.duration_seconds ?? "?"} s`);
      case "job.failed":
        return row(env, seq, h("strong", { class: "error" }, "failed: "), d.error ?? short(d));
      case "message.sent":
        return row(env, seq, "sent to ", h("strong", {}, d.prospect_id ?? ""), h("span", { class: "muted" }, ` step ${d.step ?? 1} ${d.message_id ?? ""}`));
      case "message.bounced":
        return row(env, seq, h("strong", { class: "error" }, "bounced: "), h("strong", {}, d.prospect_id ?? ""), h("span", { class: "muted" }, ` (${d.reason ?? ""})`));
      case "message.replied":
        return row(env, seq, "reply from ", h("strong", {}, d.prospect_id ?? ""));
      case "campaign.paused":
        return row(env, seq, h("strong", { class: "error" }, "campaign paused: "), d.reason ?? "");
      default:
        return row(env, seq, h("code", {}, env.event), h("span", { class: "muted" }, ` ${short(d)}`));
    }
  }

  function flush() {
    frame = 0;
    const started = performance.now();
    let done = 0;
    for (const item of queue) {
      const group = groupFor(item.env);
      const node = describe(item.env, item.seq, group);
      if (node) (group.fragment ??= document.createDocumentFragment()).append(node);
      const label = COUNTED[item.env.event];
      if (label) group.tally[label] = (group.tally[label] || 0) + 1;
      done += 1;
      if ((done & 31) === 0 && performance.now() - started > FRAME_BUDGET_MS) break;
    }
    const drawn = queue.slice(0, done);
    queue = queue.slice(done);
    for (const group of groups.values()) {
      if (group.fragment) {
        group.list.append(group.fragment);
        group.fragment = null;
        replace(group.counts, Object.entries(group.tally).map(([k, v]) => `${v} ${k}`).join(" · "));
      }
    }
    const now = performance.now();
    for (const item of drawn) stats.maxLagMs = Math.max(stats.maxLagMs, now - item.at);
    if (drawn.length) stats.lastLagMs = now - drawn[drawn.length - 1].at;
    stats.rendered += drawn.length;
    if (onCount) onCount(stats.rendered);
    if (queue.length) frame = requestAnimationFrame(flush);
  }

  function receive(message) {
    const seq = Number(message.lastEventId) || 0;
    if (seq && seq <= lastSeq) return; // already shown (a resumed stream never repeats, but be sure)
    let env;
    try {
      env = JSON.parse(message.data);
    } catch {
      return;
    }
    lastSeq = seq || lastSeq;
    stats.lastSeq = lastSeq;
    stats.received += 1;
    queue.push({ seq, env, at: performance.now() });
    if (STATUS_OF[env.event] && onStatus) onStatus(STATUS_OF[env.event]);
    if (TERMINAL.has(env.event)) {
      // Not closed here: a finished job's sending events follow its terminal one in the same replay,
      // and the server ends the stream after them (onerror then closes it for good).
      stats.ended = true;
      replace(state, `The job ended (${env.event}); ${stats.received.toLocaleString()} events.`);
    }
    if (!frame) frame = requestAnimationFrame(flush);
  }

  function open() {
    const after = lastSeq ? `?last_event_id=${lastSeq}` : "";
    source = new EventSource(`/api/jobs/${encodeURIComponent(jobId)}/events${after}`);
    source.onopen = () => {
      stats.opens += 1; // more than one: the stream was resumed after a drop
      replace(state, "Live: events appear as the agents work.");
    };
    source.onerror = () => {
      if (stats.ended) {
        source.close();
        return;
      }
      if (source.readyState === EventSource.CONNECTING) {
        replace(state, `Connection lost; reconnecting from event ${lastSeq}…`);
        return;
      }
      // Closed for good (401, 404): ask the API why, which also sends an expired session to sign-in.
      api("GET", `/api/jobs/${encodeURIComponent(jobId)}`)
        .then(() => {
          replace(state, `Stream closed; reopening after event ${lastSeq}…`);
          setTimeout(() => stats.ended || open(), 1000);
        })
        .catch((error) => replace(state, h("span", { class: "error" }, error.detail || String(error))));
    };
    for (const name of EVENTS) source.addEventListener(name, receive);
  }

  open();
  return {
    close() {
      stats.ended = true;
      if (source) source.close();
      if (frame) cancelAnimationFrame(frame);
    },
  };
}
