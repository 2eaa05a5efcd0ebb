// Start-up and wiring: config -> sign-in state -> upload and gallery views.

import { Api } from "./api.js";
import {
  cognitoLogoutUrl,
  completeCognitoSignIn,
  currentToken,
  displayName,
  fetchLocalToken,
  forgetToken,
  readClaims,
  startCognitoSignIn,
  storeToken,
} from "./auth.js";
import { loadConfig } from "./config.js";
import { suggestLabels } from "./corrections.js";
import { DetailView } from "./detail-view.js";
import { GalleryView } from "./gallery-view.js";
import { isCocoName, sameLabel } from "./label-names.js";
import { LabelForm } from "./label-form.js";
import { LabelsView } from "./labels-view.js";
import { describeAccepted, formatBytes } from "./upload.js";
import { UploadsView } from "./uploads-view.js";

const $ = (id) => document.getElementById(id);

function showError(message) {
  $("app-error").textContent = message;
  $("app-error").hidden = !message;
}

// Upload is offered only while a token is stored: a file chosen before sign-in completes would be sent without one,
// and its 401 would end the session that was just starting.
function setUploadsEnabled(enabled) {
  for (const id of ["file-input", "camera-input"]) $(id).disabled = !enabled;
  $("drop-zone").setAttribute("aria-disabled", String(!enabled));
}

function showSignIn(config) {
  setUploadsEnabled(false);
  $("app-view").hidden = true;
  $("session").hidden = true;
  $("sign-in-view").hidden = false;
  $("local-sign-in").hidden = config.authMode !== "local";
  $("cognito-sign-in").hidden = config.authMode !== "cognito";
  (config.authMode === "local" ? $("user-name") : $("cognito-button")).focus();
}

function showApp(token, gallery, labels) {
  $("sign-in-view").hidden = true;
  $("app-view").hidden = false;
  $("session").hidden = false;
  $("session-user").textContent = `Signed in as ${displayName(readClaims(token))}`;
  setUploadsEnabled(Boolean(token));
  $("upload-title").focus();
  gallery.refresh();
  labels.reset(); // nothing of a previous session's user
  labels.refresh();
}

function wireSignIn(config, onSignedIn) {
  const fail = (error) => {
    $("sign-in-error").textContent = error.message;
  };
  $("local-sign-in").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("sign-in-error").textContent = "";
    try {
      storeToken(await fetchLocalToken(config, $("user-name").value.trim()));
      onSignedIn();
    } catch (error) {
      fail(error);
    }
  });
  $("use-pasted-token").addEventListener("click", () => {
    try {
      storeToken($("pasted-token").value.trim());
      onSignedIn();
    } catch (error) {
      fail(error);
    }
  });
  $("cognito-button").addEventListener("click", () => startCognitoSignIn(config.cognito).catch(fail));
  $("sign-out").addEventListener("click", () => {
    forgetToken();
    if (config.authMode === "cognito") location.assign(cognitoLogoutUrl(config.cognito));
    else showSignIn(config);
  });
}

function wireUploads(uploads) {
  const takeFiles = (input) => {
    if (currentToken()) uploads.addFiles([...input.files]);
    input.value = ""; // choosing the same file again should upload it again
  };
  $("file-input").addEventListener("change", (event) => takeFiles(event.target));
  $("camera-input").addEventListener("change", (event) => takeFiles(event.target));
  const zone = $("drop-zone");
  const accepting = () => zone.getAttribute("aria-disabled") !== "true" && currentToken() !== null;
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    if (accepting()) zone.classList.add("drag-over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("drag-over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("drag-over");
    if (accepting()) uploads.addFiles([...event.dataTransfer.files]);
  });
}

function wireSearch(gallery) {
  const slider = $("min-confidence");
  const showSlider = () => {
    $("min-confidence-value").textContent = `${Math.round(Number(slider.value) * 100)}%`;
  };
  slider.addEventListener("input", showSlider);
  showSlider();
  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    // COCO's tags are lower case; the user's own labels are found as they spell them.
    const typed = $("search-tag").value.trim();
    const tag = isCocoName(typed) ? typed.toLowerCase() : typed;
    gallery.search(tag ? { tag, minConfidence: Number(slider.value) } : {});
  });
  $("clear-search").addEventListener("click", () => {
    $("search-tag").value = "";
    gallery.search({});
  });
}

async function main() {
  let config;
  try {
    config = await loadConfig();
  } catch (error) {
    showError(error.message);
    return;
  }
  $("upload-limits").textContent =
    `${describeAccepted(config.acceptedTypes)}; up to ${formatBytes(config.maxUploadBytes)} each. Several at once are fine.`;

  const api = new Api(config.apiBaseUrl, currentToken, () => {
    forgetToken();
    $("detail").close(); // a photo's detail view would otherwise stay over the sign-in form
    showError("Your session has ended; please sign in again.");
    showSignIn(config);
  });
  let gallery = null;
  let labels = null;
  const detail = new DetailView({
    api,
    dialog: $("detail"),
    onChange: () => gallery.refresh(),
    onCorrected: () => labels.refresh(), // a tag of the user's own added or rejected: one more example
  });
  gallery = new GalleryView({
    api,
    detail,
    elements: {
      grid: $("gallery"),
      status: $("gallery-status"),
      loadMore: $("load-more"),
      tagCounts: $("tag-counts"),
      tagOptions: $("tag-options"),
      tagInput: $("search-tag"),
      minConfidence: $("min-confidence"),
    },
  });
  labels = new LabelsView({
    api,
    elements: { list: $("labels"), status: $("labels-status") },
    openImage: (record, opener) => detail.open(record, { opener, onUpdated: () => gallery.refresh(), onDeleted: () => gallery.refresh() }),
    onTrained: () => gallery.refresh(),
    onDeleted: (name) => gallery.refreshUntil((records) => !records.some((r) => (r.tags || []).some((tag) => sameLabel(tag.name, name)))),
    onLoaded: suggestLabels,
  });
  new LabelForm({
    api,
    gallery,
    labels,
    elements: {
      toggle: $("select-toggle"),
      form: $("label-form"),
      count: $("selection-count"),
      name: $("label-name"),
      error: $("label-name-error"),
      suggestions: $("label-options"),
    },
    onCreated: () => gallery.refresh(),
  });
  const uploads = new UploadsView({ api, config, list: $("results"), detail, onChange: () => gallery.refresh() });
  const onSignedIn = () => {
    showError("");
    showApp(currentToken(), gallery, labels);
  };
  wireSignIn(config, onSignedIn);
  wireUploads(uploads);
  wireSearch(gallery);

  if (config.authMode === "cognito") {
    try {
      await completeCognitoSignIn(config.cognito);
    } catch (error) {
      showError(error.message);
    }
  }
  if (currentToken()) onSignedIn();
  else showSignIn(config);
}

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("sw.js").catch(() => {
    // Offline support is an extra; the page works without it (e.g. on plain http other than localhost).
  });
}
main();
