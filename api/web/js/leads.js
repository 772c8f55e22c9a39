// Leads of one job: a sortable, filterable table; a lead opens its evidence, score explanation,
// provenance and draft, which a person edits (the compliance review re-runs on save), approves or
// rejects with a reason. Every decision is made by the API, which audits it.

import { api } from "./api.js";
import { chip, fmtDate, fmtScore, h, notice, replace } from "./dom.js";
import { renderLead } from "./lead.js";

const COLUMNS = [
  ["rank", "#"],
  ["username", "Developer"],
  ["company", "Company"],
  ["country", "Country"],
  ["score", "Score"],
  ["verdict", "Verdict"],
  ["signals", "Signals"],
  ["subject", "Draft subject"],
];

export function mountLeads(container, jobId, { onCount } = {}) {
  const view = { items: [], sort: "rank", desc: false, text: "", country: "", verdict: "", signal: "", selected: null };
  const search = h("input", { type: "search", placeholder: "Filter by login, name, company, subject", testid: "lead-filter", oninput: (e) => { view.text = e.target.value.toLowerCase(); draw(); } });
  const country = h("select", { testid: "filter-country", onchange: (e) => { view.country = e.target.value; draw(); } });
  const verdict = h("select", { testid: "filter-verdict", onchange: (e) => { view.verdict = e.target.value; draw(); } });
  const signal = h("select", { testid: "filter-signal", onchange: (e) => { view.signal = e.target.value; draw(); } });
  const bulk = h("button", { type: "button", testid: "bulk-approve", onclick: bulkApprove }, "Approve clean drafts");
  const status = h("div", { class: "form-status" });
  const head = h("tr", {});
  const tbody = h("tbody", {});
  const detail = h("aside", { class: "lead-detail", hidden: true });
  const table = h("table", { class: "leads" }, h("thead", {}, head), tbody);
  replace(container, h("div", { class: "filters" }, search, country, verdict, signal, bulk), status, h("div", { class: "leads-layout" }, h("div", { class: "table-wrap" }, table), detail));

  for (const [key, label] of COLUMNS) {
    head.append(h("th", { scope: "col", dataset: { key }, onclick: () => { view.desc = view.sort === key ? !view.desc : key === "score"; view.sort = key; draw(); } }, label));
  }

  function options(select, label, values) {
    const current = select.value;
    replace(select, h("option", { value: "" }, label), [...values].sort().map((v) => h("option", { value: v }, v)));
    select.value = current;
  }

  function value(lead, key) {
    if (key === "signals") return lead.signals.length;
    if (key === "verdict") return lead.decision || lead.verdict || "";
    const v = lead[key];
    return typeof v === "string" ? v.toLowerCase() : v ?? "";
  }

  function visible() {
    const rows = view.items.filter((lead) => {
      if (view.country && lead.country !== view.country) return false;
      if (view.verdict && (lead.verdict || "none") !== view.verdict) return false;
      if (view.signal && !lead.signals.includes(view.signal)) return false;
      if (view.text) {
        const hay = [lead.username, lead.name, lead.company, lead.subject].filter(Boolean).join(" ").toLowerCase();
        if (!hay.includes(view.text)) return false;
      }
      return true;
    });
    const sign = view.desc ? -1 : 1;
    return rows.sort((a, b) => {
      const x = value(a, view.sort);
      const y = value(b, view.sort);
      return x < y ? -sign : x > y ? sign : a.rank - b.rank;
    });
  }

  function rowOf(lead) {
    const verdictChip = h("span", { class: `verdict v-${lead.verdict}` }, lead.verdict || "—");
    return h(
      "tr",
      { testid: "lead-row", dataset: { prospect: lead.prospect_id }, class: view.selected === lead.prospect_id ? "selected" : "", onclick: () => open(lead.prospect_id) },
      h("td", { class: "num" }, lead.rank),
      h("td", {}, h("strong", {}, lead.username), lead.name ? h("div", { class: "muted small" }, lead.name) : null),
      h("td", {}, lead.company || ""),
      h("td", {}, lead.country || ""),
      h("td", { class: "num" }, fmtScore(lead.score)),
      h("td", {}, verdictChip, lead.decision ? h("div", { class: "muted small" }, `by a person${lead.decided_at ? `, ${fmtDate(lead.decided_at)}` : ""}`) : null),
      h("td", {}, lead.signals.slice(0, 4).map((s) => chip(s)), lead.signals.length > 4 ? h("span", { class: "muted small" }, ` +${lead.signals.length - 4}`) : null),
      h("td", { class: "subject" }, lead.subject || ""),
    );
  }

  function draw() {
    for (const th of head.children) {
      th.classList.toggle("sorted", th.dataset.key === view.sort);
      th.setAttribute("aria-sort", th.dataset.key === view.sort ? (view.desc ? "descending" : "ascending") : "none");
    }
    const rows = visible();
    replace(tbody, rows.map(rowOf));
    const pending = view.items.filter((l) => l.verdict === "needs_review").length;
    replace(bulk, `Approve clean drafts (${pending})`);
    bulk.disabled = pending === 0;
    replace(status, h("span", { class: "muted small" }, `${rows.length} of ${view.items.length} leads`));
  }

  async function reload() {
    try {
      const page = await api("GET", `/api/jobs/${encodeURIComponent(jobId)}/leads`);
      view.items = page.items.map((lead, i) => ({ ...lead, rank: i + 1 }));
      options(country, "All countries", new Set(view.items.map((l) => l.country).filter(Boolean)));
      options(verdict, "All verdicts", new Set(view.items.map((l) => l.verdict || "none")));
      options(signal, "All signals", new Set(view.items.flatMap((l) => l.signals)));
      if (onCount) onCount(view.items.length);
      if (!view.items.length) {
        replace(tbody);
        replace(status, h("span", { class: "muted" }, "No leads yet: they appear here when the job finishes."));
        return;
      }
      draw();
    } catch (error) {
      replace(status, notice(error.detail || String(error)));
    }
  }

  function update(detailBody) {
    const p = detailBody.prospect;
    const lead = view.items.find((l) => l.prospect_id === p.id);
    if (lead) {
      lead.verdict = p.compliance?.verdict ?? lead.verdict;
      lead.flags = p.compliance?.reasons ?? [];
      lead.subject = p.message?.subject ?? lead.subject;
      lead.decision = detailBody.review?.decision ?? null;
      lead.decided_at = detailBody.review?.decided_at ?? null;
    }
    draw();
  }

  async function open(prospectId) {
    view.selected = prospectId;
    detail.hidden = false;
    replace(detail, h("p", { class: "muted" }, "Loading lead…"));
    for (const tr of tbody.children) tr.classList.toggle("selected", tr.dataset.prospect === prospectId);
    try {
      const body = await api("GET", `/api/jobs/${encodeURIComponent(jobId)}/leads/${encodeURIComponent(prospectId)}`);
      renderLead(detail, jobId, body, { onChange: update, onClose: () => { detail.hidden = true; view.selected = null; draw(); } });
    } catch (error) {
      replace(detail, notice(error.detail || String(error)));
    }
  }

  async function bulkApprove() {
    bulk.disabled = true;
    try {
      const result = await api("POST", `/api/jobs/${encodeURIComponent(jobId)}/leads/approve`, { prospect_ids: null, reason: "bulk approval of clean drafts in the web app" });
      await reload();
      replace(status, notice(`Approved ${result.approved.length}; skipped ${result.skipped.length}${result.skipped.length ? ` (${result.skipped.slice(0, 3).map((s) => `${s.prospect_id}: ${s.reason}`).join("; ")}${result.skipped.length > 3 ? "; …" : ""})` : ""}.`, "info"));
    } catch (error) {
      replace(status, notice(error.detail || String(error)));
    } finally {
      bulk.disabled = false;
    }
  }

  reload();
  return { reload };
}

