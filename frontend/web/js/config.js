// The page has no build step, so its settings come from config.json, written by `make up` locally and by the
// deployment in AWS. Defaults mirror the API's own limits so the page can explain a rejection before uploading.

export const DEFAULT_MAX_UPLOAD_BYTES = 10 * 1024 * 1024;
export const DEFAULT_ACCEPTED_TYPES = ["image/jpeg", "image/png", "image/webp", "image/gif", "image/bmp", "image/tiff"];

/**
 * @typedef {{domain: string, clientId: string, redirectUri?: string, scopes?: string[]}} CognitoConfig
 * @typedef {{apiBaseUrl: string, authMode: "local"|"cognito", localTokenUrl?: string, cognito?: CognitoConfig,
 *            maxUploadBytes: number, acceptedTypes: string[]}} AppConfig
 */

/** @returns {Promise<AppConfig>} */
export async function loadConfig() {
  let response;
  try {
    response = await fetch("config.json", { cache: "no-store" });
  } catch (error) {
    throw new Error(`could not load config.json (${error.message}); is the web server running?`);
  }
  if (!response.ok) {
    throw new Error(`config.json is missing (HTTP ${response.status}); run \`make up\` or deploy the stack to create it`);
  }
  const raw = await response.json();
  if (!raw.apiBaseUrl) {
    throw new Error("config.json has no apiBaseUrl");
  }
  const authMode = raw.authMode === "cognito" ? "cognito" : "local";
  if (authMode === "cognito" && !(raw.cognito && raw.cognito.domain && raw.cognito.clientId)) {
    throw new Error("config.json says authMode is cognito but has no cognito.domain / cognito.clientId");
  }
  return {
    apiBaseUrl: raw.apiBaseUrl.replace(/\/+$/, ""),
    authMode,
    localTokenUrl: raw.localTokenUrl,
    cognito: raw.cognito,
    maxUploadBytes: Number(raw.maxUploadBytes) || DEFAULT_MAX_UPLOAD_BYTES,
    acceptedTypes: Array.isArray(raw.acceptedTypes) && raw.acceptedTypes.length ? raw.acceptedTypes : DEFAULT_ACCEPTED_TYPES,
  };
}
