// One lead: who (profile fields as text), why (score explanation, signals with their evidence and
// provenance) and the draft with its compliance review, which a person edits, approves or rejects.

import { api } from "./api.js";
import { chip, fmtDate, fmtScore, h, link, notice, replace } from "./dom.js";

const GITHUB = "https://github.com/";

function githubUrl(path) {
  return GITHUB + String(path).split("/").map(encodeURIComponent).join("/");
}

function field(label, ...value) {
  return [h("dt", {}, label), h("dd", {}, value)];
}

function evidenceList(signal) {
  return h(
    "li",
    {},
    chip(signal.name),
    h(
      "ul",
      { class: "evidence" },
      (signal.evidence || []).map((e) =>
        h(
          "li",
          {},
          h("span", { class: "muted" }, e.kind),
          e.repo ? [" ", link(githubUrl(e.repo), e.repo)] : null,
          e.count != null ? ` · ${e.count}` : null,
          e.date ? ` · ${fmtDate(e.date)}` : null,
          e.url ? [" · ", link(e.url, "source")] : null,
        ),
      ),
    ),
  );
}

export function renderLead(container, jobId, body, { onChange, onClose }) {
  container.onkeydown = (event) => event.key === "Escape" && onClose();
  const p = body.prospect;
  const review = body.review;
  const base = `/api/jobs/${encodeURIComponent(jobId)}/leads/${encodeURIComponent(p.id)}`;
  const subject = h("input", { type: "text", maxlength: 200, value: p.message?.subject ?? "", testid: "draft-subject", "aria-label": "Subject" });
  const text = h("textarea", { rows: 14, maxlength: 20000, value: p.message?.body ?? "", testid: "draft-body", "aria-label": "Body" });
  const reason = h("input", { type: "text", maxlength: 1000, placeholder: "Reason (required to reject)", testid: "review-reason", "aria-label": "Reason" });
  const status = h("div", { class: "form-status", testid: "review-status" });
  const flags = (p.compliance?.reasons || []).map((r) => h("li", { class: "flag" }, r));
  const verdict = review?.decision ?? p.compliance?.verdict;

  async function act(method, path, payload, done) {
    replace(status, h("span", { class: "muted" }, "Saving…"));
    try {
      const next = await api(method, path, payload);
      onChange(next);
      renderLead(container, jobId, next, { onChange, onClose });
      container.querySelector("[data-testid=review-status]").replaceChildren(notice(done, "info"));
    } catch (error) {
      replace(status, notice(error.detail || String(error)));
    }
  }

  const draft = p.message
    ? h(
        "section",
        { class: "draft" },
        h("h3", {}, "Draft", h("span", { class: "muted small" }, ` · written by ${p.message.written_by}`)),
        h("label", {}, "Subject", subject),
        h("label", {}, "Body", text),
        h(
          "div",
          { class: "review-line" },
          "Verdict: ",
          h("span", { class: `verdict v-${verdict}`, testid: "verdict" }, verdict ?? "not reviewed"),
          review ? h("span", { class: "muted small" }, ` (a person's decision; the rules said ${p.compliance?.verdict ?? "nothing"})`) : null,
          p.compliance?.lawful_basis ? h("div", { class: "muted small" }, `Lawful basis: ${p.compliance.lawful_basis}`) : null,
        ),
        flags.length ? h("ul", { class: "flags", testid: "flags" }, flags) : h("p", { class: "muted small" }, "No flags."),
        review
          ? h("p", { class: "muted small", testid: "decision" }, `${review.decision} by a person (key ${review.decided_by}) ${fmtDate(review.decided_at)}${review.reason ? `: ${review.reason}` : ""}${review.edited ? " · draft edited" : ""}`)
          : null,
        h(
          "div",
          { class: "row" },
          h("button", { type: "button", testid: "draft-save", onclick: () => act("PUT", `${base}/draft`, { subject: subject.value, body: text.value }, "Saved; the compliance review ran again on the edited draft.") }, "Save draft & re-review"),
          reason,
          h("button", { type: "button", class: "approve", testid: "draft-approve", onclick: () => act("POST", `${base}/review`, { decision: "approved", reason: reason.value.trim() || null }, "Approved.") }, "Approve"),
          h("button", { type: "button", class: "reject", testid: "draft-reject", onclick: () => act("POST", `${base}/review`, { decision: "rejected", reason: reason.value.trim() || null }, "Rejected.") }, "Reject"),
        ),
        status,
      )
    : h("p", { class: "muted" }, "No draft: this lead has no contactable email or was not drafted.");

  // The sequence's later steps, read-only: each has its own review (a person's decision covers the first message).
  const followUps = (p.follow_ups || []).length
    ? h(
        "details",
        { class: "follow-ups", testid: "follow-ups" },
        h("summary", {}, `Follow-ups (${p.follow_ups.length})`),
        p.follow_ups.map((f) =>
          h(
            "div",
            { class: "follow-up", testid: "follow-up" },
            h("h4", {}, `Step ${f.step} · day ${f.day} · written by ${f.message.written_by} · `, h("span", { class: `verdict v-${f.compliance?.verdict}` }, f.compliance?.verdict ?? "not reviewed")),
            (f.compliance?.reasons || []).length ? h("ul", { class: "flags" }, f.compliance.reasons.map((r) => h("li", { class: "flag" }, r))) : null,
            h("pre", { class: "follow-up-body" }, f.message.body),
          ),
        ),
      )
    : null;

  replace(
    container,
    h(
      "div",
      { testid: "lead-evidence" },
      h("div", { class: "detail-head" }, h("h2", {}, p.name || p.username), h("button", { type: "button", class: "link", onclick: onClose, "aria-label": "Close" }, "Close ✕")),
      h(
        "dl",
        { class: "facts" },
        field("GitHub", link(githubUrl(p.username), `@${p.username}`)),
        p.company ? field("Company", p.company) : null,
        p.location ? field("Location", p.location, p.country ? h("span", { class: "muted" }, ` (${p.country}${p.region ? `, ${p.region}` : ""})`) : null) : null,
        p.email ? field("Email", p.email, h("span", { class: "muted" }, ` from ${p.email_source ?? "?"}`)) : field("Email", h("span", { class: "muted" }, "none published")),
        p.bio ? field("Bio", h("span", { class: "bio" }, p.bio)) : null,
        p.website ? field("Website", link(p.website, p.website)) : null,
        field("Score", h("strong", {}, fmtScore(p.score)), " ", h("span", { class: "muted" }, p.score_explanation || "")),
        p.developer_profile?.languages?.length ? field("Languages", p.developer_profile.languages.join(", ")) : null,
        p.developer_profile?.last_active ? field("Last active", fmtDate(p.developer_profile.last_active)) : null,
      ),
      h("h3", {}, "Evidence"),
      h("ul", { class: "signals" }, (p.signals || []).map(evidenceList)),
      h(
        "details",
        { class: "provenance" },
        h("summary", {}, "Provenance"),
        h("table", {}, h("tbody", {}, Object.entries(p.provenance || {}).map(([name, src]) => h("tr", {}, h("td", {}, name), h("td", {}, h("code", {}, src.source)), h("td", { class: "muted" }, fmtDate(src.fetched_at)))))),
      ),
      draft,
      followUps,
    ),
  );
}
