// Checking a file before it is sent, and sending it straight to S3 with the presigned POST the API returned.
// XMLHttpRequest rather than fetch: only XHR reports upload progress.

const TYPE_NAMES = {
  "image/jpeg": "JPEG",
  "image/png": "PNG",
  "image/webp": "WebP",
  "image/gif": "GIF",
  "image/bmp": "BMP",
  "image/tiff": "TIFF",
};

export function formatBytes(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

export function describeAccepted(acceptedTypes) {
  return acceptedTypes.map((type) => TYPE_NAMES[type] || type).join(", ");
}

/** A sentence saying why the file cannot be uploaded, or null when it can. */
export function rejectionReason(file, { maxUploadBytes, acceptedTypes }) {
  if (!file.type) {
    return `the browser cannot tell what kind of file this is; use ${describeAccepted(acceptedTypes)}`;
  }
  if (!acceptedTypes.includes(file.type)) {
    return `${file.type} files are not accepted; use ${describeAccepted(acceptedTypes)}`;
  }
  if (file.size === 0) {
    return "the file is empty";
  }
  if (file.size > maxUploadBytes) {
    let [size, limit] = [formatBytes(file.size), formatBytes(maxUploadBytes)];
    if (size === limit) [size, limit] = [`${file.size} bytes`, `${maxUploadBytes} bytes`]; // rounding hid the excess
    return `the file is ${size}; the limit is ${limit}`;
  }
  return null;
}

export class UploadError extends Error {
  constructor(message, retriable) {
    super(message);
    this.name = "UploadError";
    this.retriable = retriable;
  }
}

function s3ErrorMessage(xhr) {
  // S3 answers errors as XML: <Error><Code>EntityTooLarge</Code><Message>...</Message></Error>
  const doc = xhr.responseXML || new DOMParser().parseFromString(xhr.responseText || "", "application/xml");
  const message = doc.querySelector("Message")?.textContent;
  const code = doc.querySelector("Code")?.textContent;
  return [code, message].filter(Boolean).join(": ") || `HTTP ${xhr.status}`;
}

/**
 * Posts the file with the presigned fields; `onProgress` gets a fraction in [0, 1].
 * @param {{url: string, fields: Record<string, string>}} presigned
 */
export function postToS3(presigned, file, onProgress) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const [name, value] of Object.entries(presigned.fields)) form.append(name, value);
    form.append("file", file); // S3 ignores every field after "file", so it goes last
    const xhr = new XMLHttpRequest();
    xhr.open("POST", presigned.url);
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener("load", () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(1);
        resolve();
      } else {
        reject(new UploadError(`storage refused the upload: ${s3ErrorMessage(xhr)}`, xhr.status >= 500));
      }
    });
    xhr.addEventListener("error", () => reject(new UploadError("the upload was interrupted (network error)", true)));
    xhr.addEventListener("timeout", () => reject(new UploadError("the upload timed out", true)));
    xhr.send(form);
  });
}
