// "Send approved" on a finished job: POST /api/jobs/<id>/send (the session's CSRF token, like every
// action), then the run's counts as it finishes. Text only, through the DOM helper.

import { api } from "./api.js";
import { h, notice, replace } from "./dom.js";

const POLL_MS = 1000;

function describe(run) {
  const c = run.counts || {};
  const parts = [`${c.sent ?? 0} sent`, `${c.bounced ?? 0} bounced`, `${c.skipped ?? 0} skipped`, `${c.already_sent ?? 0} already sent`];
  if (c.deferred || c.rejected || c.in_doubt) parts.push(`${c.deferred ?? 0} deferred, ${c.rejected ?? 0} refused, ${c.in_doubt ?? 0} in doubt`);
  const stopped = run.stopped ? ` — stopped (${run.stopped}): ${run.stopped_detail ?? ""}` : "";
  return `${parts.join(", ")}${stopped}`;
}

export function mountSend(container, jobId) {
  const result = h("span", { class: "muted small", testid: "send-result" });
  const button = h("button", { type: "button", class: "approve", testid: "send-approved", onclick: send }, "Send approved");
  replace(container, button, " ", result);
  const base = `/api/jobs/${encodeURIComponent(jobId)}`;

  async function follow(runId) {
    const run = await api("GET", `${base}/send-runs/${encodeURIComponent(runId)}`);
    if (run.status === "queued" || run.status === "running") {
      replace(result, `Sending… (${run.status})`);
      setTimeout(() => follow(runId).catch(show), POLL_MS);
      return;
    }
    button.disabled = false;
    replace(result, run.status === "failed" ? notice(`Sending failed: ${run.stopped_detail ?? run.stopped ?? ""}`) : describe(run));
  }

  function show(error) {
    button.disabled = false;
    replace(result, notice(error.detail || String(error)));
  }

  async function send() {
    button.disabled = true;
    replace(result, "Queuing…");
    try {
      const run = await api("POST", `${base}/send`, {});
      replace(result, `Queued: ${run.approved} approved, ${run.already_sent} already sent.`);
      await follow(run.id);
    } catch (error) {
      show(error);
    }
  }

  return { show: (visible) => (container.hidden = !visible) };
}
