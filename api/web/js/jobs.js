// Job history: the tenant's jobs, newest first, with status and counts; "More" follows the cursor.

import { api } from "./api.js";
import { chip, fmtDate, h, notice, replace, route } from "./dom.js";

export function renderJobs(root) {
  const tbody = h("tbody", {});
  const more = h("button", { type: "button", hidden: true }, "More");
  const status = h("div", { class: "form-status" });
  let cursor = null;
  replace(
    root,
    h("h1", {}, "Jobs"),
    h("table", { class: "jobs" }, h("thead", {}, h("tr", {}, ["Status", "Goal", "Created", "Finished", "Leads"].map((c) => h("th", { scope: "col" }, c)))), tbody),
    more,
    status,
  );

  async function page() {
    try {
      const query = new URLSearchParams({ limit: "50", ...(cursor ? { cursor } : {}) });
      const result = await api("GET", `/api/jobs?${query}`);
      for (const job of result.items) {
        tbody.append(
          h(
            "tr",
            { testid: "job-row" },
            h("td", {}, chip(job.status, `status-${job.status}`)),
            h("td", {}, route(["jobs", job.id], job.goal)),
            h("td", {}, fmtDate(job.created_at)),
            h("td", {}, fmtDate(job.finished_at)),
            h("td", { class: "num" }, job.counts?.prospects ?? job.counts?.prospects_found ?? ""),
          ),
        );
      }
      cursor = result.next_cursor;
      more.hidden = !cursor;
      if (!tbody.children.length) replace(status, h("p", { class: "muted" }, "No jobs yet. Start one from the chat."));
    } catch (error) {
      replace(status, notice(error.detail || String(error)));
    }
  }
  more.addEventListener("click", page);
  page();
  return null;
}
