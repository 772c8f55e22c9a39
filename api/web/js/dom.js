// DOM helpers. Every string goes into the page as text (textContent), never as HTML: names, bios,
// companies and READMEs come from GitHub and are hostile input. Links are built only by `link`,
// which accepts http(s) URLs alone (no `javascript:`).

/** Create an element. props: class, testid, dataset, on<event> handlers, DOM properties, attributes. */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "testid") el.dataset.testid = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "value" || key === "checked" || key === "disabled" || key === "selected") el[key] = value;
    else if (key === "href" || key === "src") throw new Error("use link() for URLs");
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

/** Append children (nodes, strings, numbers, nested arrays; null/false skipped) as nodes or text. */
export function append(el, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replace an element's children. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** A URL we may put in an href: same-origin paths, or absolute http(s) URLs; anything else is null. */
export function safeUrl(url) {
  if (typeof url !== "string" || !url) return null;
  if (url.startsWith("/") && !url.startsWith("//")) return url;
  try {
    const parsed = new URL(url);
    return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
  } catch {
    return null;
  }
}

/** A link to `url` (external ones open in a new tab without a referrer), or plain text if unsafe. */
export function link(url, text, props = {}) {
  const safe = safeUrl(url);
  if (!safe) return h("span", props, text ?? url ?? "");
  const a = h("a", props, text ?? safe);
  a.href = safe;
  if (!safe.startsWith("/")) {
    a.target = "_blank";
    a.rel = "noopener noreferrer";
  }
  return a;
}

export function chip(text, kind = "") {
  return h("span", { class: `chip ${kind}`.trim() }, text);
}

export function fmtDate(value) {
  if (!value) return "";
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? String(value) : d.toISOString().slice(0, 16).replace("T", " ");
}

export function fmtScore(value) {
  return typeof value === "number" ? value.toFixed(2) : "";
}

/** A status line that says what went wrong, in words (never a stack trace). */
export function notice(text, kind = "error") {
  return h("p", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, text);
}

/** A link inside the app (`#/jobs/<id>`); `parts` are encoded, so a hostile id cannot escape the route. */
export function route(parts, text, props = {}) {
  const a = h("a", props, text);
  a.href = `#/${parts.map(encodeURIComponent).join("/")}`;
  return a;
}
