// Settings: the sender profile new jobs use (name, company, postal address, unsubscribe URL),
// the suppression list (CSV upload, `kind,value`), and the tenant's default webhook URL.

import { api } from "./api.js";
import { h, notice, replace } from "./dom.js";

function input(name, label, props = {}) {
  const el = h("input", { name, id: `f-${name}`, type: "text", testid: `sender-${name}`, ...props });
  return [h("label", { for: `f-${name}` }, label), el];
}

async function save(status, call, done) {
  replace(status, h("span", { class: "muted" }, "Saving…"));
  try {
    const result = await call();
    replace(status, notice(done(result), "info"));
  } catch (error) {
    replace(status, notice(error.detail || String(error)));
  }
}

function senderCard() {
  const status = h("div", { class: "form-status" });
  // Disabled until the stored profile is shown, so nothing typed meanwhile is overwritten by it.
  const fields = h(
    "fieldset",
    { class: "form-grid", disabled: true },
    input("name", "Name"),
    input("company", "Company"),
    input("email", "Email", { type: "email" }),
    h("label", { for: "f-postal_address" }, "Postal address"),
    h("textarea", { name: "postal_address", id: "f-postal_address", rows: 3, maxlength: 500, testid: "sender-postal_address" }),
    input("unsubscribe_url", "Unsubscribe URL", { type: "url", placeholder: "https://example.com/unsubscribe" }),
    h("button", { type: "submit", testid: "sender-save" }, "Save sender profile"),
  );
  const form = h(
    "form",
    { class: "card form-grid", testid: "sender-form" },
    h("h2", {}, "Sender profile"),
    h("p", { class: "muted small" }, "Every draft carries the sender's postal address and a one-click unsubscribe link (CAN-SPAM, RFC 8058); without them drafts stay in review. Changing it needs an admin key."),
    fields,
    status,
  );
  api("GET", "/api/sender")
    .then((sender) => {
      for (const [key, value] of Object.entries(sender)) if (form.elements[key]) form.elements[key].value = value ?? "";
    })
    .catch((error) => replace(status, notice(error.detail || String(error))))
    .finally(() => {
      fields.disabled = false;
    });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const body = {};
    for (const key of ["name", "company", "email", "postal_address", "unsubscribe_url"]) body[key] = form.elements[key].value.trim() || null;
    save(status, () => api("PUT", "/api/sender", body), () => "Saved: new jobs use this sender profile.");
  });
  return form;
}

function suppressionCard() {
  const status = h("div", { class: "form-status" });
  const file = h("input", { type: "file", accept: ".csv,text/csv", testid: "suppression-file" });
  const form = h(
    "form",
    { class: "card form-grid" },
    h("h2", {}, "Suppression list"),
    h("p", { class: "muted small" }, "A CSV with the header ", h("code", {}, "kind,value"), " (kinds: login, email, domain, github_id). People on it are never contacted; all rows are added or none."),
    file,
    h("button", { type: "submit", testid: "suppression-upload" }, "Upload"),
    status,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const chosen = file.files[0];
    if (!chosen) return replace(status, notice("Choose a CSV file first."));
    save(status, async () => api("POST", "/api/suppressions/import", await chosen.text(), { contentType: "text/csv" }), (r) => `Imported ${r.rows} rows (${r.created} new).`);
  });
  return form;
}

function webhookCard() {
  const status = h("div", { class: "form-status" });
  const url = h("input", { type: "url", id: "f-webhook", placeholder: "https://hooks.example.com/cmo", testid: "webhook-url", disabled: true });
  const form = h("form", { class: "card form-grid" }, h("h2", {}, "Webhook"), h("label", { for: "f-webhook" }, "Default webhook URL (job events, signed with X-CMO-Signature)"), url, h("button", { type: "submit", testid: "webhook-save" }, "Save webhook"), status);
  api("GET", "/api/webhooks")
    .then((settings) => {
      url.value = settings.url ?? "";
    })
    .catch((error) => replace(status, notice(error.detail || String(error))))
    .finally(() => {
      url.disabled = false;
    });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    save(status, () => api("PUT", "/api/webhooks", { url: url.value.trim() || null }), (r) => (r.url ? "Saved." : "Removed."));
  });
  return form;
}

export function renderSettings(root) {
  replace(root, h("h1", {}, "Settings"), h("div", { class: "settings" }, senderCard(), suppressionCard(), webhookCard()));
  return null;
}
