// Sign-in. Local mode: the local stack's API emulator issues a development JWT for a user name (a route that exists
// only locally). AWS mode: Cognito's hosted UI with the authorization-code flow and PKCE, so no client secret is
// needed in a static page.

const TOKEN_KEY = "imagetagger.token";
const PKCE_KEY = "imagetagger.pkce";

/** Decodes a JWT's claims without verifying them: the API verifies; the page only reads the name and expiry. */
export function readClaims(token) {
  const parts = token.split(".");
  if (parts.length !== 3) {
    throw new Error("that is not a JWT (expected three dot-separated parts)");
  }
  const json = atob(parts[1].replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(parts[1].length / 4) * 4, "="));
  return JSON.parse(json);
}

export function displayName(claims) {
  return claims["cognito:username"] || claims.username || claims.preferred_username || claims.email || claims.sub;
}

/** The stored token if it is still valid for at least a minute, else null. */
export function currentToken() {
  const token = localStorage.getItem(TOKEN_KEY);
  if (!token) return null;
  try {
    const { exp } = readClaims(token);
    if (exp && exp * 1000 < Date.now() + 60_000) {
      localStorage.removeItem(TOKEN_KEY);
      return null;
    }
  } catch {
    localStorage.removeItem(TOKEN_KEY);
    return null;
  }
  return token;
}

export function storeToken(token) {
  readClaims(token); // reject garbage before it is used as a credential
  localStorage.setItem(TOKEN_KEY, token.trim());
}

export function forgetToken() {
  localStorage.removeItem(TOKEN_KEY);
}

export async function fetchLocalToken(config, user) {
  const base = config.localTokenUrl || `${config.apiBaseUrl}/local/token`;
  const url = `${base}?${new URLSearchParams({ user })}`;
  let response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw new Error(`the local API did not answer at ${config.apiBaseUrl} (${error.message}); is \`make up\` running?`);
  }
  const text = await response.text();
  if (!response.ok) {
    let message = text;
    try {
      message = JSON.parse(text).message || text;
    } catch {
      // plain-text error body
    }
    throw new Error(`sign-in failed (HTTP ${response.status}): ${message}`);
  }
  try {
    const body = JSON.parse(text);
    return body.token || body.access_token || body.id_token;
  } catch {
    return text.trim();
  }
}

function base64url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function redirectUri(cognito) {
  return cognito.redirectUri || `${location.origin}${location.pathname}`;
}

export async function startCognitoSignIn(cognito) {
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(48)));
  const state = base64url(crypto.getRandomValues(new Uint8Array(16)));
  const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state }));
  const params = new URLSearchParams({
    response_type: "code",
    client_id: cognito.clientId,
    redirect_uri: redirectUri(cognito),
    scope: (cognito.scopes || ["openid", "email"]).join(" "),
    state,
    code_challenge: challenge,
    code_challenge_method: "S256",
  });
  location.assign(`https://${cognito.domain}/oauth2/authorize?${params}`);
}

/** Finishes the hosted-UI redirect if this page load is one; returns true when a token was stored. */
export async function completeCognitoSignIn(cognito) {
  const query = new URLSearchParams(location.search);
  if (query.has("error")) {
    throw new Error(`sign-in was refused: ${query.get("error_description") || query.get("error")}`);
  }
  const code = query.get("code");
  if (!code) return false;
  const saved = JSON.parse(sessionStorage.getItem(PKCE_KEY) || "null");
  sessionStorage.removeItem(PKCE_KEY);
  history.replaceState(null, "", location.pathname);
  if (!saved || saved.state !== query.get("state")) {
    throw new Error("the sign-in response did not match this browser's request; please sign in again");
  }
  const response = await fetch(`https://${cognito.domain}/oauth2/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      client_id: cognito.clientId,
      code,
      redirect_uri: redirectUri(cognito),
      code_verifier: saved.verifier,
    }),
  });
  if (!response.ok) {
    throw new Error(`sign-in could not be completed (HTTP ${response.status})`);
  }
  const tokens = await response.json();
  // The HTTP API's JWT authorizer accepts Cognito access tokens (client_id claim) and ID tokens (aud claim).
  storeToken(tokens.access_token || tokens.id_token);
  return true;
}

export function cognitoLogoutUrl(cognito) {
  const params = new URLSearchParams({ client_id: cognito.clientId, logout_uri: redirectUri(cognito) });
  return `https://${cognito.domain}/logout?${params}`;
}
