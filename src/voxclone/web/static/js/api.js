// The studio's one way to the API: same-origin fetch with the session cookie, the CSRF token on
// every request that changes state, and the API's JSON errors thrown as ApiError.

let csrfToken = null;

export function setCsrf(token) {
  csrfToken = token;
}

export class ApiError extends Error {
  constructor(status, body) {
    const message = (body && (body.message || (body.detail && body.detail.message))) ||
      `the server answered ${status}`;
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = (body && body.error) || "error";
    this.details = (body && body.details) || {};
    this.field = this.details.field || null;
  }
}

function url(path, query) {
  const u = new URL(path, window.location.origin);
  for (const [k, v] of Object.entries(query || {})) {
    if (v === undefined || v === null || v === "") continue;
    if (Array.isArray(v)) v.forEach((item) => u.searchParams.append(k, item));
    else u.searchParams.set(k, String(v));
  }
  return u.pathname + u.search;
}

async function errorOf(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = { message: `${response.status} ${response.statusText}` };
  }
  return new ApiError(response.status, body);
}

// request(path, {method, json, form, query, signal}) -> Response (throws ApiError when not ok)
export async function request(path, options = {}) {
  const method = (options.method || "GET").toUpperCase();
  const headers = new Headers(options.headers || {});
  let body;
  if (options.json !== undefined) {
    headers.set("Content-Type", "application/json");
    body = JSON.stringify(options.json);
  } else if (options.form !== undefined) {
    body = options.form; // FormData: the browser sets the multipart boundary
  } else if (options.body !== undefined) {
    body = options.body;
  }
  if (!["GET", "HEAD", "OPTIONS"].includes(method) && csrfToken) {
    headers.set("X-CSRF-Token", csrfToken);
  }
  const response = await fetch(url(path, options.query), {
    method,
    headers,
    body,
    credentials: "same-origin",
    signal: options.signal,
  });
  if (!response.ok) throw await errorOf(response);
  return response;
}

// The parsed JSON of a request (null for 204).
export async function api(path, options = {}) {
  const response = await request(path, options);
  if (response.status === 204) return null;
  const type = response.headers.get("content-type") || "";
  return type.includes("json") ? response.json() : response;
}

// The bytes of a response as an object URL, for <audio> and waveforms (revoke when done).
export async function blobUrl(path, options = {}) {
  const response = await request(path, options);
  return URL.createObjectURL(await response.blob());
}
