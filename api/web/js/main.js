// Entry point: session check, sign-in, and the hash router (#/chat, #/chat/<thread>, #/jobs,
// #/jobs/<job>, #/settings). Each view renders into <main id="app"> and may return a cleanup function
// (an open event stream is closed when the view is left).

import { currentSession, signIn, signOut, whenSignedOut } from "./api.js";
import { h, notice, replace } from "./dom.js";
import { renderChat } from "./chat.js";
import { renderJobs } from "./jobs.js";
import { renderJobPage } from "./jobview.js";
import { renderSettings } from "./settings.js";

const app = document.getElementById("app");
const nav = document.getElementById("nav");
let cleanup = null;
let session = null;

function leaveView() {
  if (cleanup) cleanup();
  cleanup = null;
}

function showSignIn(message) {
  leaveView();
  session = null;
  nav.hidden = true;
  const input = h("input", {
    id: "api-key",
    type: "password",
    autocomplete: "off",
    spellcheck: "false",
    placeholder: "cmo_sk_…",
    testid: "api-key-input",
    required: true,
  });
  const status = h("div", { class: "form-status" });
  const form = h(
    "form",
    { class: "card signin" },
    h("h1", {}, "Sign in"),
    h("p", { class: "muted" }, "Use an API key from ", h("code", {}, "cmo apikey create --tenant NAME"), ". It is exchanged for a session cookie; the page never stores the key."),
    message ? notice(message, "warning") : null,
    h("label", { for: "api-key" }, "API key"),
    input,
    h("button", { type: "submit", testid: "sign-in" }, "Sign in"),
    status,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    replace(status, h("span", { class: "muted" }, "Signing in…"));
    try {
      session = await signIn(input.value.trim());
      input.value = "";
      startApp();
    } catch (error) {
      replace(status, notice(error.detail || String(error)));
    }
  });
  replace(app, form);
  input.focus();
}

function route() {
  leaveView();
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  for (const a of nav.querySelectorAll("a")) a.classList.toggle("active", a.getAttribute("href") === `#/${parts[0] || "chat"}`);
  const [page, id] = parts;
  if (page === "jobs" && id) cleanup = renderJobPage(app, id);
  else if (page === "jobs") cleanup = renderJobs(app);
  else if (page === "settings") cleanup = renderSettings(app);
  else cleanup = renderChat(app, page === "chat" ? id : undefined);
}

function startApp() {
  nav.hidden = false;
  replace(document.getElementById("whoami"), `${session.tenant} (${session.role})`);
  route();
}

whenSignedOut((detail) => showSignIn(detail));
window.addEventListener("hashchange", () => session && route());
document.getElementById("sign-out").addEventListener("click", async () => {
  try {
    await signOut();
  } finally {
    showSignIn("You are signed out.");
  }
});

try {
  const found = await currentSession();
  if (found.error) showSignIn(found.error === "not signed in" ? null : found.error);
  else {
    session = found;
    startApp();
  }
} catch (error) {
  showSignIn(`The server could not check your session: ${error.detail || error}`);
}
