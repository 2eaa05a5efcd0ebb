// The imagetagger HTTP API (same routes in AWS and locally). Every error becomes an ApiError whose message is the
// API's own explanation, so the page can show it as is.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }

  /** Server-side or network trouble: trying again may work. Client errors (4xx) will not change on retry. */
  get retriable() {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
}

function messageFrom(status, body) {
  if (body && typeof body === "object") {
    if (body.message) return body.message;
    // Request validation errors list what was wrong with each field.
    if (Array.isArray(body.detail)) {
      return body.detail.map((d) => `${(d.loc || []).slice(1).join(".")}: ${d.msg || d.type}`).join("; ");
    }
  }
  return typeof body === "string" && body ? body : `HTTP ${status}`;
}

export class Api {
  /**
   * @param {string} baseUrl
   * @param {() => string|null} getToken
   * @param {() => void} onUnauthorized called on 401, e.g. to show the sign-in form again
   */
  constructor(baseUrl, getToken, onUnauthorized) {
    this.baseUrl = baseUrl;
    this.getToken = getToken;
    this.onUnauthorized = onUnauthorized;
  }

  async request(method, path, { json, query } = {}) {
    const url = new URL(`${this.baseUrl}${path}`);
    for (const [key, value] of Object.entries(query || {})) {
      if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, String(value));
    }
    const headers = { Accept: "application/json" };
    const token = this.getToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    if (json !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(url, { method, headers, body: json === undefined ? undefined : JSON.stringify(json) });
    } catch (error) {
      throw new ApiError(0, `the API did not answer (${error.message})`);
    }
    if (response.status === 204) return null;
    const text = await response.text();
    let body = text;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: keep the text for the error message
    }
    // Only a refusal of the token now stored ends the session: a request sent before sign-in completed (no token) or
    // with a replaced token must not sign out the user who has just signed in.
    if (response.status === 401 && token && token === this.getToken()) this.onUnauthorized();
    if (!response.ok) throw new ApiError(response.status, messageFrom(response.status, body));
    return body;
  }

  createUpload(file) {
    return this.request("POST", "/uploads", { json: { filename: file.name, content_type: file.type, size: file.size } });
  }

  getImage(imageId) {
    return this.request("GET", `/images/${encodeURIComponent(imageId)}`);
  }

  listImages({ tag, minConfidence, limit, nextToken } = {}) {
    return this.request("GET", "/images", {
      query: { tag, min_confidence: tag ? minConfidence : undefined, limit, next_token: nextToken },
    });
  }

  listTags() {
    return this.request("GET", "/tags");
  }

  correctTags(imageId, { confirm, reject, add }) {
    return this.request("PUT", `/images/${encodeURIComponent(imageId)}/tags`, { json: { confirm, reject, add } });
  }

  /** Re-queues a FAILED image whose failure is retriable; the answer is the record, PENDING again. */
  retryImage(imageId) {
    return this.request("POST", `/images/${encodeURIComponent(imageId)}/retry`);
  }

  deleteImage(imageId) {
    return this.request("DELETE", `/images/${encodeURIComponent(imageId)}`);
  }

  /** The caller's nearest photos by their embeddings, most similar first, each with a `similarity` in [-1, 1]. */
  similarImages(imageId, limit) {
    return this.request("GET", `/images/${encodeURIComponent(imageId)}/similar`, { query: { limit } });
  }

  // The user's own labels, learned from the photos they mark as examples.
  listLabels() {
    return this.request("GET", "/labels");
  }

  getLabel(name) {
    return this.request("GET", `/labels/${encodeURIComponent(name)}`);
  }

  /** Creates the label (or adds examples to an existing one): the images become positive examples. */
  createLabel(name, imageIds) {
    return this.request("POST", "/labels", { json: { name, image_ids: imageIds } });
  }

  deleteLabel(name) {
    return this.request("DELETE", `/labels/${encodeURIComponent(name)}`);
  }
}
