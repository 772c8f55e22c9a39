// One job: its status, and tabs for the live trace, the leads (with review) and the files.
// Used beside the chat and on its own page (#/jobs/<id>).

import { api } from "./api.js";
import { chip, fmtDate, h, link, notice, replace, route } from "./dom.js";
import { mountLeads } from "./leads.js";
import { mountSend } from "./send.js";
import { mountTrace } from "./trace.js";

const FINISHED = new Set(["succeeded", "failed", "cancelled"]);

export function mountJob(container, jobId, { onPlan } = {}) {
  const title = h("div", { class: "job-title" }, h("span", { class: "muted" }, "Loading job…"));
  const statusChip = h("span", { testid: "job-status" });
  const sendBox = h("span", { class: "send-box", hidden: true });
  const sending = mountSend(sendBox, jobId);
  const tabs = {};
  const panes = {};
  const bar = h("div", { class: "tabs", role: "tablist" });
  const body = h("div", { class: "tab-body" });
  for (const [name, label] of [["trace", "Trace"], ["leads", "Leads"], ["files", "Files"]]) {
    tabs[name] = h("button", { type: "button", role: "tab", testid: `tab-${name}`, onclick: () => select(name) }, label, h("span", { class: "badge" }));
    panes[name] = h("div", { class: "pane", role: "tabpanel", hidden: true });
    bar.append(tabs[name]);
    body.append(panes[name]);
  }
  replace(container, h("div", { class: "job" }, h("div", { class: "job-head" }, title, statusChip, sendBox), bar, body));

  let leads = null;
  function select(name) {
    for (const key of Object.keys(tabs)) {
      tabs[key].setAttribute("aria-selected", String(key === name));
      panes[key].hidden = key !== name;
    }
    if (name === "leads" && !leads) leads = mountLeads(panes.leads, jobId, { onCount: (n) => badge("leads", n) });
    if (name === "files") showFiles();
  }
  function badge(name, n) {
    replace(tabs[name].querySelector(".badge"), n ? String(n) : "");
  }
  function showStatus(status) {
    replace(statusChip, chip(status, `status-${status}`));
    sending.show(FINISHED.has(status));
  }

  async function showFiles() {
    replace(panes.files, h("p", { class: "muted" }, "Loading files…"));
    try {
      const list = await api("GET", `/api/jobs/${encodeURIComponent(jobId)}/artifacts`);
      if (!list.items.length) return replace(panes.files, h("p", { class: "muted" }, "No files yet: they are written when the job ends."));
      replace(
        panes.files,
        h(
          "ul",
          { class: "files" },
          list.items.map((a) =>
            h("li", {}, link(`/api/artifacts/${encodeURIComponent(a.id)}`, a.name, { testid: `download-${a.name}`, download: a.name }), h("span", { class: "muted" }, ` ${a.content_type}, ${a.size.toLocaleString()} bytes`)),
          ),
        ),
        h("p", { class: "muted small" }, "Downloads apply your tenant's masking rules and reflect review decisions."),
      );
    } catch (error) {
      replace(panes.files, notice(error.detail || String(error)));
    }
  }

  const trace = mountTrace(panes.trace, jobId, {
    onPlan,
    onCount: (n) => badge("trace", n),
    onStatus: (status) => {
      showStatus(status);
      if (FINISHED.has(status) && leads) leads.reload();
    },
  });
  select("trace");

  api("GET", `/api/jobs/${encodeURIComponent(jobId)}`)
    .then((job) => {
      replace(title, h("strong", {}, job.goal), h("span", { class: "muted small" }, ` · ${job.id} · created ${fmtDate(job.created_at)}`));
      showStatus(job.status);
    })
    .catch((error) => replace(title, notice(error.detail || String(error))));

  return () => trace.close();
}

export function renderJobPage(root, jobId) {
  const panel = h("section", { class: "job-panel wide" });
  replace(root, h("p", {}, route(["jobs"], "← All jobs")), panel);
  return mountJob(panel, jobId);
}
