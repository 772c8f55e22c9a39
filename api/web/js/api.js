// The REST client. The session lives in an httpOnly cookie the page cannot read; the CSRF token the
// server pairs with it is kept in memory only (re-read from GET /api/session after a reload) and sent
// as X-CSRF-Token on every state-changing request. No API key is ever stored by the page.

let csrfToken = null;
let onSignedOut = () => {};

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
    this.detail = detail;
  }
}

/** Called with a message when the server says the session is gone (expired, revoked, signed out). */
export function whenSignedOut(handler) {
  onSignedOut = handler;
}

async function problemDetail(response) {
  try {
    const body = await response.json();
    if (typeof body.detail === "string") return body.detail;
    if (Array.isArray(body.detail)) return body.detail.map((d) => `${(d.loc || []).slice(1).join(".")}: ${d.msg}`).join("; ");
    return body.title || response.statusText;
  } catch {
    return `${response.status} ${response.statusText}`;
  }
}

/** One API call; JSON in and out unless `contentType` (a raw body) or `raw` (the Response) is given. */
export async function api(method, path, body, { contentType, raw } = {}) {
  const headers = { Accept: "application/json, application/problem+json" };
  if (method !== "GET" && csrfToken) headers["X-CSRF-Token"] = csrfToken;
  let payload;
  if (body !== undefined) {
    headers["Content-Type"] = contentType || "application/json";
    payload = contentType ? body : JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, { method, headers, body: payload, credentials: "same-origin" });
  } catch {
    throw new ApiError(0, "the server cannot be reached; check that `cmo serve` is running");
  }
  if (!response.ok) {
    const detail = await problemDetail(response);
    if (response.status === 401 && !path.startsWith("/api/session")) {
      csrfToken = null;
      onSignedOut(detail);
    }
    throw new ApiError(response.status, detail);
  }
  if (raw) return response;
  if (response.status === 204) return null;
  return response.json();
}

export async function signIn(apiKey) {
  const session = await api("POST", "/api/session", { api_key: apiKey });
  csrfToken = session.csrf_token;
  return session;
}

/** The current session, or {error} when there is none (the server's words say why). */
export async function currentSession() {
  try {
    const session = await api("GET", "/api/session");
    csrfToken = session.csrf_token;
    return session;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return { error: error.detail };
    throw error;
  }
}

export async function signOut() {
  try {
    await api("DELETE", "/api/session");
  } finally {
    csrfToken = null;
  }
}
